import { defineConfig } from "@playwright/test";

/**
 * End-to-end tests in Debian's Chromium (apt `chromium`; Playwright downloads no browser).
 * Each spec starts the stack it needs (tests/e2e/stack-fixture.ts); one worker, since the specs
 * share the local services and the machine.
 */
export default defineConfig({
  testDir: "tests/e2e",
  testMatch: "**/*.spec.ts",
  workers: 1,
  fullyParallel: false,
  timeout: 360_000,
  expect: { timeout: 30_000 },
  outputDir: "artifacts/e2e/test-results",
  reporter: [["list"], ["./tests/support/playwright-counts-reporter.ts"]],
  use: {
    headless: true,
    screenshot: "only-on-failure",
    trace: "off",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    },
  },
});
