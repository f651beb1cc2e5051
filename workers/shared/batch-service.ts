/**
 * The web's side of the scheduler (the Batch page and the reconciliation view).
 *
 * The web process never runs a job: it writes queued runs into the scheduler's run
 * history (SQLite, workers/ops/run-store.ts) and the one scheduler process, which holds
 * the history's lease, runs them one at a time, oldest first, through the same CLIs
 * (workers/ops/job-runner.ts). So one job runs at a time across every process, a run
 * started from the page survives a web restart, and the page reads progress and
 * outcomes from the history as the CLI `worker:scheduler history` does.
 */
import { resolve } from "node:path";
import { localDateOf } from "../../lib/contract/business-day.ts";
import { alignRange, type TimeRange } from "../../lib/batch/reconcile.ts";
import { backfillPlan, historyGrid, JOBS, REPAIR_JOB, type BackfillDay, type GridDay, type Job, type Run } from "../../lib/ops/schedule.ts";
import { LEASE_TTL_MS } from "../ops/scheduler-loop.ts";
import { RunStore, runStorePath } from "../ops/run-store.ts";
import { newestOrdersHourMs, runNowDefaultDate, type RunNowDefault } from "../../lib/web/run-now-day.ts";
import { dashboardEnv } from "./dashboard-env.ts";
import { listLakeFiles, liveLakeFiles } from "./lake-files.ts";

const GLOBAL_KEY = Symbol.for("orderpulse.batch-service");

/** The server's one handle on the run history (Next.js may load this module more than once: it lives on globalThis). */
export function runStore(): RunStore {
  const holder = globalThis as unknown as Record<symbol, RunStore | undefined>;
  holder[GLOBAL_KEY] ??= new RunStore(runStorePath(dashboardEnv().lake.lakeDir));
  return holder[GLOBAL_KEY];
}

/** A run without its log (the overview lists many). */
export type RunSummary = Omit<Run, "log">;
const summary = (run: Run): RunSummary => {
  const { log: _log, ...rest } = shownRun(run);
  return rest;
};

export interface SchedulerState {
  /** A scheduler renewed the lease within LEASE_TTL_MS: queued runs will start. */
  running: boolean;
  owner: string | null;
  renewedAt: number | null;
}

export interface BatchOverview {
  at: number;
  businessTz: string;
  /** Today's business date in BUSINESS_TZ. */
  today: string;
  scheduler: SchedulerState;
  grid: { date: string; jobs: Record<Job, RunSummary | null> }[];
  /** The newest runs (repairs included), newest first. */
  recent: RunSummary[];
  queued: number;
  current: RunSummary | null;
}

export function schedulerState(store: RunStore, now: number): SchedulerState {
  const lease = store.lease();
  return { running: lease !== undefined && now - lease.renewedAt < LEASE_TTL_MS, owner: lease?.owner ?? null, renewedAt: lease?.renewedAt ?? null };
}

const RECENT = 30;

export function batchOverview(now: number, days: number, store = runStore(), businessTz = dashboardEnv().lake.businessTz): BatchOverview {
  const runs = store.all();
  const today = localDateOf(now, businessTz);
  const toSummary = (day: GridDay) => ({ date: day.date, jobs: Object.fromEntries(JOBS.map((j) => [j, day.jobs[j] && summary(day.jobs[j])])) as Record<Job, RunSummary | null> });
  const current = runs.find((r) => r.status === "running");
  return {
    at: now,
    businessTz,
    today,
    scheduler: schedulerState(store, now),
    grid: historyGrid(today, days, runs).map(toSummary),
    recent: store.recent(RECENT).map(summary),
    queued: runs.filter((r) => r.status === "queued").length,
    current: current ? summary(current) : null,
  };
}

/** Run now: queues the day's jobs (both, KPIs first, or one); a retry of a failed day is this too. */
export function queueRunNow(date: string, job: Job | "all", now: number, store = runStore()): Run[] {
  return (job === "all" ? JOBS : [job]).map((j) => store.enqueue(j, date, "manual", now));
}

/**
 * The day Run now offers first: the newest business day the lake's live order files hold events
 * for (lib/web/run-now-day.ts), else yesterday. A lake that cannot be listed (an unreadable
 * directory, a corrupt commit marker) offers yesterday too, and says so: the page still opens.
 */
export async function runNowDefault(now: number, lakeDir = dashboardEnv().lake.lakeDir, businessTz = dashboardEnv().lake.businessTz): Promise<RunNowDefault> {
  let dirs: string[];
  try {
    dirs = liveLakeFiles(await listLakeFiles(resolve(lakeDir)))
      .filter((f) => f.kind === "orders")
      .map((f) => f.dir);
  } catch {
    return runNowDefaultDate(null, now, businessTz, true);
  }
  return runNowDefaultDate(newestOrdersHourMs(dirs), now, businessTz);
}

/** What a backfill of [from, to] would run (the preview). Throws ScheduleError for a reversed or over-long range. */
export function previewBackfill(from: string, to: string, store = runStore()): BackfillDay[] {
  return backfillPlan(from, to, store.all());
}

/** Queues the backfill's plan; returns it with the runs queued. */
export function queueBackfill(from: string, to: string, now: number, store = runStore()): { plan: BackfillDay[]; queued: Run[] } {
  const plan = previewBackfill(from, to, store);
  const queued = plan.flatMap((day) => day.jobs.map((job) => store.enqueue(job, day.date, "backfill", now)));
  return { plan, queued };
}

/** Cancel after the current day: every queued run is skipped except the rest of the day that runs now. */
export function cancelAfterCurrentDay(now: number, store = runStore()): { skipped: number; finishing: string | null } {
  const current = store.all().find((r) => r.status === "running" && r.job !== REPAIR_JOB);
  return { skipped: store.cancelQueued(now, current?.date), finishing: current?.date ?? null };
}

/** The range widened to whole windows (WINDOW_SIZE), as reconcile compares and repairs it. Throws ReconcileRangeError. */
export function windowRange(range: TimeRange): TimeRange {
  return alignRange(range.fromMs, range.toMs, dashboardEnv().window.windowSizeMs);
}

/** Queues `reconcile --repair` over the range; the run's date is the business day the range starts in. */
export function queueRepair(range: TimeRange, now: number, store = runStore(), businessTz = dashboardEnv().lake.businessTz): Run {
  return store.enqueue(REPAIR_JOB, localDateOf(range.fromMs, businessTz), "manual", now, range);
}

/** A run as the page shows it: the lake's server path in its log and error reads `$LAKE_DIR` (server paths are never shown). */
export function shownRun(run: Run, lakeDir = dashboardEnv().lake.lakeDir): Run {
  const hide = (text: string) => text.replaceAll(resolve(lakeDir), "$LAKE_DIR");
  return { ...run, log: hide(run.log), error: run.error === null ? null : hide(run.error) };
}
