import { defineConfig } from "vitest/config";

// The fault suite (`npm run test:faults`, issue 13): real brokers, InfluxDB servers and workers broken on purpose,
// each scenario checked against the simulator's --truth. Kept out of `npm test` (its 30-minute budget); .ci/run runs
// both. Scenarios run one at a time: each one's timing is part of what it injects.
export default defineConfig({
  test: {
    name: "faults",
    include: ["tests/faults/**/*.fault.ts"],
    reporters: ["default", "./tests/support/closing-line-reporter.ts"],
    globalSetup: ["tests/support/global-setup.ts"],
    setupFiles: ["tests/support/kafka-codecs.ts"],
    testTimeout: 900_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
