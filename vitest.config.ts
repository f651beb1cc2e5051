import { defineConfig } from "vitest/config";

// Unit tests of pure code sit next to it; integration tests (real Kafka-protocol
// broker, real InfluxDB) live under tests/ and share one services start-up.
export default defineConfig({
  test: {
    reporters: ["default", "./tests/support/closing-line-reporter.ts"],
    projects: [
      { test: { name: "unit", include: ["lib/**/*.test.ts", "workers/**/*.test.ts", "app/**/*.test.ts"], testTimeout: 30_000 } },
      // Checks of the repository's own files (Docker stack, Dockerfile): no services needed.
      { test: { name: "config", include: ["tests/config/**/*.test.ts"] } },
      {
        test: {
          name: "integration",
          include: ["tests/**/*.test.ts"],
          exclude: ["tests/config/**"],
          globalSetup: ["tests/support/global-setup.ts"],
          // Every Kafka client a test builds reads every codec (the codecs register on import).
          setupFiles: ["tests/support/kafka-codecs.ts"],
          testTimeout: 420_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
