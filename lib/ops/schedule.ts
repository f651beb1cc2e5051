import { Cron } from "croner";
import { localDateOf, parseBusinessDate } from "../contract/business-day.ts";

/**
 * The scheduler's rules (design.md, "Operations"; issue 12): which business days
 * are due, what a run's outcome is, what a backfill will run. Pure: time comes in.
 *
 * Jobs run in this order for a day: daily KPIs, then reconcile. Each job run is
 * one record of the run history (workers/ops/run-store.ts keeps them durable).
 */

export const JOBS = ["batch_daily", "reconcile"] as const;
export type Job = (typeof JOBS)[number];
/**
 * `reconcile --repair` over a chosen range (the reconciliation view's "repair this
 * range"): queued and run one at a time like the daily jobs, but not a daily job
 * (no grid column, never scheduled or backfilled).
 */
export const REPAIR_JOB = "reconcile_repair" as const;
export type RunJob = Job | typeof REPAIR_JOB;

/** A repair's range: window starts in [fromMs, toMs), epoch ms UTC. */
export interface RunRange {
  fromMs: number;
  toMs: number;
}
export const TRIGGERS = ["schedule", "manual", "backfill"] as const;
export type Trigger = (typeof TRIGGERS)[number];
export const RUN_STATUSES = ["queued", "running", "success", "failed", "skipped"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface Run {
  id: number;
  job: RunJob;
  /** The business day (`YYYY-MM-DD`, BUSINESS_TZ) the job computes (a repair: the day its range starts). */
  date: string;
  /** A repair's range; null for the daily jobs. */
  range: RunRange | null;
  trigger: Trigger;
  status: RunStatus;
  /** Epoch ms. */
  queuedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  exitCode: number | null;
  /** Rows written (batch_daily: daily_country_category rows; reconcile: windows compared). */
  rows: number | null;
  /** batch_daily: `passed` | `failed`; reconcile: `equal` | `mismatched`; null when the job did not get that far. */
  quality: string | null;
  error: string | null;
  /** The job's output, last lines (stdout then stderr). */
  log: string;
}

export class ScheduleError extends Error {
  override name = "ScheduleError";
  constructor(message: string, readonly context: { schedule?: string; from?: string; to?: string }) {
    super(message);
  }
}

/** A parsed BATCH_SCHEDULE: 5 or 6 fields (croner's syntax), evaluated in the business time zone. */
export function parseSchedule(pattern: string, timeZone: string): Cron {
  try {
    return new Cron(pattern, { timezone: timeZone, paused: true });
  } catch (error) {
    throw new ScheduleError(`BATCH_SCHEDULE ${JSON.stringify(pattern)}: ${(error as Error).message}`, { schedule: pattern });
  }
}

/** Schedule instants (epoch ms) in (afterMs, untilMs], oldest first, at most `max` (the newest ones). */
export function firesBetween(schedule: Cron, afterMs: number, untilMs: number, max = 31): number[] {
  const fires: number[] = [];
  let cursor = new Date(afterMs);
  for (;;) {
    const next = schedule.nextRun(cursor);
    if (!next || next.getTime() > untilMs) break;
    fires.push(next.getTime());
    if (fires.length > max) fires.shift();
    cursor = next;
  }
  return fires;
}

/** `YYYY-MM-DD` plus `days` (calendar arithmetic, no time zone involved). */
export function addDays(date: string, days: number): string {
  const ms = Date.parse(`${parseBusinessDate(date)}T00:00:00Z`) + days * 86_400_000;
  return new Date(ms).toISOString().slice(0, 10);
}

/** The business day a schedule instant is due for: the day before the instant's local date in `timeZone` ("yesterday"). */
export function dueDateOf(fireMs: number, timeZone: string): string {
  return addDays(localDateOf(fireMs, timeZone), -1);
}

/** Every date of [from, to], both inclusive. Throws ScheduleError for a reversed or over-long (> 366 days) range. */
export function datesBetween(from: string, to: string): string[] {
  parseBusinessDate(from);
  parseBusinessDate(to);
  if (from > to) throw new ScheduleError(`backfill range ends (${to}) before it starts (${from})`, { from, to });
  const dates: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) {
    dates.push(d);
    if (dates.length > 366) throw new ScheduleError(`backfill range ${from}..${to} is longer than 366 days`, { from, to });
  }
  return dates;
}

/** The newest run of each (job, date), by id. */
export function latestRuns(runs: readonly Run[]): Map<string, Run> {
  const latest = new Map<string, Run>();
  for (const run of runs) {
    const key = `${run.job} ${run.date}`;
    const seen = latest.get(key);
    if (!seen || run.id > seen.id) latest.set(key, run);
  }
  return latest;
}

/** A job of a day needs no new run when its newest run succeeded, or one is queued or running. */
function settled(run: Run | undefined): boolean {
  return run !== undefined && (run.status === "success" || run.status === "queued" || run.status === "running");
}

export interface BackfillDay {
  date: string;
  /** `run`: some job is missing or failed; `skip`: every job succeeded (or is already queued/running). */
  action: "run" | "skip";
  /** The jobs that will run, in order. */
  jobs: Job[];
  /** Per job, the newest run's status, or `missing`. */
  state: Record<Job, RunStatus | "missing">;
}

/** What a backfill of [from, to] runs: per day, the jobs whose newest run is missing, failed or skipped; days done are skipped. */
export function backfillPlan(from: string, to: string, runs: readonly Run[]): BackfillDay[] {
  const latest = latestRuns(runs);
  return datesBetween(from, to).map((date) => {
    const state = Object.fromEntries(JOBS.map((job) => [job, latest.get(`${job} ${date}`)?.status ?? "missing"])) as Record<Job, RunStatus | "missing">;
    const jobs = JOBS.filter((job) => !settled(latest.get(`${job} ${date}`)));
    return { date, action: jobs.length > 0 ? "run" : "skip", jobs, state };
  });
}

/** The jobs a schedule instant queues for its day: the ones not already done, queued or running (a restart never runs a day twice). */
export function scheduledJobs(date: string, runs: readonly Run[]): Job[] {
  const latest = latestRuns(runs);
  return JOBS.filter((job) => !settled(latest.get(`${job} ${date}`)));
}

export interface GridDay {
  date: string;
  /** Per daily job, the newest run of that day, or null. */
  jobs: Record<Job, Run | null>;
}

/**
 * The Batch page's history grid: one row per business day, newest first, from
 * `today` back `days` days, plus every older day that has a run.
 */
export function historyGrid(today: string, days: number, runs: readonly Run[]): GridDay[] {
  const latest = latestRuns(runs);
  const dates = new Set(datesBetween(addDays(today, -(days - 1)), today));
  for (const run of runs) if (run.job !== REPAIR_JOB) dates.add(run.date);
  return [...dates]
    .sort()
    .reverse()
    .map((date) => ({ date, jobs: Object.fromEntries(JOBS.map((job) => [job, latest.get(`${job} ${date}`) ?? null])) as Record<Job, Run | null> }));
}

/** The next run to start: none while one runs (one job at a time); else the oldest queued. */
export function nextQueued(runs: readonly Run[]): Run | undefined {
  if (runs.some((r) => r.status === "running")) return undefined;
  return runs.filter((r) => r.status === "queued").sort((a, b) => a.id - b.id)[0];
}

const LOG_LINES = 200;

/** The last lines of a job's output, for the history. */
export function logTail(stdout: string, stderr: string): string {
  const lines = [...stdout.split("\n"), ...stderr.split("\n")].filter((l) => l.trim() !== "");
  return lines.slice(-LOG_LINES).join("\n");
}

export interface JobOutcome {
  status: "success" | "failed";
  rows: number | null;
  quality: string | null;
  error: string | null;
}

const firstLine = (text: string) => text.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";

/**
 * A finished job's outcome from the CLI's exit code and output, whose contract is
 * workers/cli/batch-daily.ts (0 written; 1 quality check failed or lake error; 2 usage)
 * and workers/cli/reconcile.ts (0 equal; 1 mismatches, with a `summary status=mismatched` line, or a failure;
 * 2 usage; 3 refused for safety). `exitCode`
 * null means the process died by a signal.
 */
export function jobOutcome(job: RunJob, exitCode: number | null, stdout: string, stderr: string): JobOutcome {
  const lines = stderr.split("\n");
  const at = lines.findLastIndex((l) => /^(batch:daily|reconcile): |^invalid configuration|^error:/.test(l.trim()));
  // A message ending in ":" continues on indented lines (configuration problems, quality checks): keep the first of them.
  const errorLine = at < 0 ? undefined : lines[at]!.trim().endsWith(":") && lines[at + 1] ? `${lines[at]!.trim()} ${lines[at + 1]!.trim()}` : lines[at];
  if (job === "batch_daily") {
    const rows = /^daily_country_category rows=(\d+)/m.exec(stdout);
    const qualityFailed = /quality check failed/.test(stderr);
    if (exitCode === 0) return { status: "success", rows: rows ? Number(rows[1]) : null, quality: "passed", error: null };
    return {
      status: "failed",
      rows: null,
      quality: qualityFailed ? "failed" : null,
      error: exitCode === null ? "killed by a signal" : `exit ${exitCode}: ${errorLine?.trim() ?? (firstLine(stderr) || "no message")}`,
    };
  }
  const summary = [...stdout.matchAll(/^summary .*$/gm)].at(-1)?.[0];
  const windows = summary ? /expected_windows=(\d+)/.exec(summary) : null;
  const status = summary ? /status=(\w+)/.exec(summary)?.[1] ?? null : null;
  const rows = windows ? Number(windows[1]) : null;
  if (exitCode === 0) return { status: "success", rows, quality: status ?? "equal", error: null };
  // Exit 1 is also an IO failure (workers/shared/entry-point.ts's codes): only a summary line says it compared.
  if (exitCode === 1 && status === "mismatched") {
    const mismatches = summary ? /mismatches=(\d+)/.exec(summary)?.[1] : undefined;
    return { status: "failed", rows, quality: status, error: `exit 1: ${mismatches ?? "some"} mismatching window(s) between InfluxDB and the lake` };
  }
  return {
    status: "failed",
    rows,
    quality: status,
    error: exitCode === null ? "killed by a signal" : `exit ${exitCode}: ${errorLine?.trim() ?? (firstLine(stderr) || "no message")}`,
  };
}

/** Why a run left `running` without finishing: the scheduler stopped under it. */
export const INTERRUPTED = "interrupted: the scheduler stopped during the run; retry it";
