/**
 * The end of `npm test`: the Playwright suite (tests/e2e, against the app `next build` just built),
 * then vitest (unit + integration), then ONE closing line summing both, the line CI reads:
 * `tests: N passed, N failed, N skipped`. Exits non-zero if either run failed or counted a failure.
 * Arguments select tests while working on them: `tsx scripts/test.ts [playwright args] [--vitest vitest args]`.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./stack.ts";
import { PLAYWRIGHT_COUNTS_FILE } from "../tests/support/playwright-counts-reporter.ts";

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

const CLOSING_LINE = /^tests: (\d+) passed, (\d+) failed, (\d+) skipped$/;

/** Runs a command with its output passed through; returns its exit code and the last closing line it printed. */
function run(command: string, args: string[]): Promise<{ code: number; closing: Counts | undefined }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let closing: Counts | undefined;
    let pending = "";
    child.stdout.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      const lines = (pending + chunk.toString()).split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const m = CLOSING_LINE.exec(line.replace(/\x1b\[[0-9;]*m/g, "").trim()); // eslint-disable-line no-control-regex -- colour codes
        if (m) closing = { passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3]) };
      }
    });
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), closing }));
  });
}

const bin = (name: string) => join(ROOT, "node_modules/.bin", name);

async function main(): Promise<void> {
  const countsFile = join(ROOT, PLAYWRIGHT_COUNTS_FILE);
  rmSync(countsFile, { force: true });
  const argv = process.argv.slice(2);
  const split = argv.indexOf("--vitest");
  const e2e = await run(bin("playwright"), ["test", ...(split < 0 ? argv : argv.slice(0, split))]);
  // A run that died before its reporter wrote counts is one failure, never silence.
  const e2eCounts: Counts = existsSync(countsFile) ? (JSON.parse(readFileSync(countsFile, "utf8")) as Counts) : { passed: 0, failed: 1, skipped: 0 };
  const vitest = await run(bin("vitest"), ["run", ...(split < 0 ? [] : argv.slice(split + 1))]);
  const vitestCounts: Counts = vitest.closing ?? { passed: 0, failed: 1, skipped: 0 };
  const total = {
    passed: e2eCounts.passed + vitestCounts.passed,
    failed: e2eCounts.failed + vitestCounts.failed + (e2e.code !== 0 && e2eCounts.failed === 0 ? 1 : 0) + (vitest.code !== 0 && vitestCounts.failed === 0 ? 1 : 0),
    skipped: e2eCounts.skipped + vitestCounts.skipped,
  };
  console.log(`\ne2e (Playwright): ${e2eCounts.passed} passed, ${e2eCounts.failed} failed, ${e2eCounts.skipped} skipped; vitest: ${vitestCounts.passed} passed, ${vitestCounts.failed} failed, ${vitestCounts.skipped} skipped`);
  console.log(`tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  process.exit(total.failed > 0 || e2e.code !== 0 || vitest.code !== 0 ? 1 : 0);
}

void main();
