/**
 * The fault suite's figures: each scenario records what it injected and what it checked, printed as one line and
 * merged into artifacts/faults/summary.json (README's fault table is read off it).
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../support/processes.ts";

export const FAULTS_DIR = join(ROOT, "artifacts/faults");
export const SUMMARY_FILE = join(FAULTS_DIR, "summary.json");

export interface ScenarioFigures {
  /** Seed of every random choice the scenario made: `FAULT_SEED=<seed> npm run test:faults` repeats them. */
  seed: number;
  /** Worker (and server) processes started over the scenario. */
  runs: number;
  faultsInjected: number;
  /** Rows, windows, messages or queries compared with the expectation. */
  rowsChecked: number;
  lost: number;
  duplicated: number;
  durationMs: number;
  /** What else the scenario measured, by name. */
  details: Record<string, unknown>;
}

/** The seed of a run: FAULT_SEED when set (to repeat a failure), else a fresh one, printed by each scenario. */
export function faultSeed(): number {
  const given = process.env.FAULT_SEED;
  if (given !== undefined && given !== "") {
    if (!/^\d{1,9}$/.test(given)) throw new Error(`FAULT_SEED must be a whole number of at most 9 digits, got "${given}"`);
    return Number(given);
  }
  return Date.now() % 1_000_000;
}

/** Prints a scenario's figures and merges them into artifacts/faults/summary.json under `name`. */
export function recordFigures(name: string, figures: ScenarioFigures): void {
  console.log(`fault scenario ${name}: ${JSON.stringify(figures)}`);
  mkdirSync(FAULTS_DIR, { recursive: true });
  const summary = existsSync(SUMMARY_FILE) ? (JSON.parse(readFileSync(SUMMARY_FILE, "utf8")) as Record<string, unknown>) : {};
  summary[name] = { ...figures, finishedAt: new Date().toISOString() };
  writeFileSync(SUMMARY_FILE, `${JSON.stringify(summary, null, 2)}\n`);
}
