import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { FullResult, Reporter, TestCase, TestResult } from "@playwright/test/reporter";

/** Where the Playwright run leaves its counts for scripts/test.ts, which adds them to vitest's closing line. */
export const PLAYWRIGHT_COUNTS_FILE = "artifacts/e2e/counts.json";

/**
 * Counts each test once by its final outcome (a retried test that passed counts as passed) and prints
 * `e2e: N passed, N failed, N skipped`. A run that failed outside any test (global setup) counts one failure.
 */
export default class PlaywrightCountsReporter implements Reporter {
  private readonly outcomes = new Map<string, "passed" | "failed" | "skipped">();

  onTestEnd(test: TestCase, result: TestResult): void {
    const outcome = test.outcome();
    this.outcomes.set(test.id, outcome === "expected" || outcome === "flaky" ? "passed" : outcome === "skipped" ? "skipped" : result.status === "skipped" ? "skipped" : "failed");
  }

  onEnd(result: FullResult): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const o of this.outcomes.values()) counts[o]++;
    if (result.status !== "passed" && counts.failed === 0) counts.failed = 1;
    mkdirSync(dirname(PLAYWRIGHT_COUNTS_FILE), { recursive: true });
    writeFileSync(PLAYWRIGHT_COUNTS_FILE, JSON.stringify({ ...counts, status: result.status }));
    console.log(`\ne2e: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  }
}
