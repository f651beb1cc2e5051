import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { backfillPlan, INTERRUPTED, parseSchedule, REPAIR_JOB, type RunJob, type RunRange } from "../../lib/ops/schedule.ts";
import { RunStore } from "./run-store.ts";
import { BatchScheduler, SchedulerBusyError, type JobResult, type JobRunner } from "./scheduler-loop.ts";

const quiet = { info: () => undefined, warn: () => undefined };
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function storeFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "orderpulse-runs-"));
  dirs.push(dir);
  return join(dir, "_runs", "runs.sqlite");
}

/** What the CLIs print on success (workers/cli/batch-daily.ts, workers/cli/reconcile.ts). */
function succeeded(job: RunJob, date: string): JobResult {
  return job === "batch_daily"
    ? { exitCode: 0, stdout: `daily_kpis date=${date} orders=7\ndaily_country_category rows=3\n`, stderr: "" }
    : { exitCode: 0, stdout: `check: no mismatches\nsummary phase=check status=equal expected_windows=12 mismatches=0\n`, stderr: "" };
}

class FakeClock {
  constructor(public ms: number) {}
  now = () => this.ms;
}

function recordingRunner(calls: string[], result: (job: RunJob, date: string) => Promise<JobResult> = async (job, date) => succeeded(job, date)): JobRunner {
  return (job, date) => {
    calls.push(`${job} ${date}`);
    return result(job, date);
  };
}

describe("BatchScheduler", () => {
  it("a day boundary in BUSINESS_TZ triggers exactly one run of each job, for the previous business day", async () => {
    const timeZone = "America/New_York";
    // 23:58 on 2026-11-20 in New York (UTC-5): midnight local is 05:00Z on 2026-11-21.
    const clock = new FakeClock(Date.parse("2026-11-21T04:58:00Z"));
    const store = new RunStore(storeFile());
    const calls: string[] = [];
    const scheduler = new BatchScheduler({ store, runJob: recordingRunner(calls), now: clock.now, schedule: parseSchedule("0 0 * * *", timeZone), timeZone, owner: "a", log: quiet });
    scheduler.start();
    for (let i = 0; i < 60; i++) {
      await scheduler.tick();
      if (i === 5) expect(calls, "nothing before the boundary").toEqual([]);
      clock.ms += 10_000;
    }
    expect(calls).toEqual(["batch_daily 2026-11-20", "reconcile 2026-11-20"]);
    const runs = store.all();
    expect(runs.map((r) => [r.job, r.date, r.trigger, r.status, r.rows, r.quality])).toEqual([
      ["batch_daily", "2026-11-20", "schedule", "success", 3, "passed"],
      ["reconcile", "2026-11-20", "schedule", "success", 12, "equal"],
    ]);
    expect(runs[0]!.startedAt).toBe(Date.parse("2026-11-21T05:00:00Z"));
    // The UTC midnight (5 hours earlier) was no boundary; a restart after the boundary runs nothing twice.
    await scheduler.stop();
    const again = new BatchScheduler({ store, runJob: recordingRunner(calls), now: clock.now, schedule: parseSchedule("0 0 * * *", timeZone), timeZone, owner: "b", log: quiet });
    again.start();
    await again.tick();
    expect(calls).toHaveLength(2);
    store.close();
  });

  it("a restart in the middle of a run marks it failed; a retry succeeds; a second scheduler cannot run meanwhile", async () => {
    const file = storeFile();
    const timeZone = "UTC";
    const clock = new FakeClock(Date.parse("2026-11-20T23:59:55Z"));
    const first = new RunStore(file);
    const calls: string[] = [];
    const hung = new BatchScheduler({ store: first, runJob: recordingRunner(calls, () => new Promise<JobResult>(() => undefined)), now: clock.now, schedule: parseSchedule("0 0 * * *", timeZone), timeZone, owner: "first", log: quiet });
    hung.start();
    clock.ms += 10_000;
    void hung.tick(); // never finishes: the process "dies" here
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual(["batch_daily 2026-11-20"]);
    expect(first.all().map((r) => r.status)).toEqual(["running", "queued"]);

    // While the first one's lease is fresh, another scheduler refuses to start.
    const second = new RunStore(file);
    const retrying = new BatchScheduler({ store: second, runJob: recordingRunner(calls), now: clock.now, schedule: parseSchedule("0 0 * * *", timeZone), timeZone, owner: "second", log: quiet });
    expect(() => retrying.start()).toThrow(SchedulerBusyError);

    clock.ms += 120_000; // the first one's lease lapses: it is dead
    const interrupted = retrying.start();
    expect(interrupted.map((r) => [r.job, r.date])).toEqual([["batch_daily", "2026-11-20"]]);
    const failed = second.get(interrupted[0]!.id)!;
    expect(failed.status).toBe("failed");
    expect(failed.error).toBe(INTERRUPTED);

    retrying.queueDay("2026-11-20", "manual", ["batch_daily"]);
    await retrying.tick();
    expect(calls).toEqual(["batch_daily 2026-11-20", "reconcile 2026-11-20", "batch_daily 2026-11-20"]);
    expect(second.all().map((r) => [r.job, r.trigger, r.status])).toEqual([
      ["batch_daily", "schedule", "failed"],
      ["reconcile", "schedule", "success"],
      ["batch_daily", "manual", "success"],
    ]);
    first.close();
    second.close();
  });

  it("a failing CLI is recorded with its exit code, quality check and error line", async () => {
    const store = new RunStore(storeFile());
    const clock = new FakeClock(Date.parse("2026-11-21T12:00:00Z"));
    const runner: JobRunner = async (job) =>
      job === "batch_daily"
        ? { exitCode: 1, stdout: "", stderr: "batch:daily: quality check failed for 2026-11-20 in UTC; nothing was written:\n  - orders 0\n" }
        : { exitCode: 3, stdout: "", stderr: "reconcile: failed: InfluxQL query failed at http://127.0.0.1:1: fetch failed\n" };
    const scheduler = new BatchScheduler({ store, runJob: runner, now: clock.now, schedule: parseSchedule("0 0 * * *", "UTC"), timeZone: "UTC", owner: "a", log: quiet });
    scheduler.start();
    scheduler.queueDay("2026-11-20", "manual", ["batch_daily", "reconcile"]);
    await scheduler.tick();
    const [batch, reconcile] = store.all();
    expect(batch).toMatchObject({ status: "failed", exitCode: 1, quality: "failed" });
    expect(batch!.error).toMatch(/^exit 1: batch:daily: quality check failed for 2026-11-20/);
    expect(batch!.log).toContain("orders 0");
    expect(reconcile).toMatchObject({ status: "failed", exitCode: 3 });
    expect(reconcile!.error).toMatch(/^exit 3: reconcile: failed: InfluxQL query failed/);
    store.close();
  });

  it("a backfill of seven days with two done runs the five others in order, each day's KPIs before its reconcile", async () => {
    const store = new RunStore(storeFile());
    const clock = new FakeClock(Date.parse("2026-11-21T12:00:00Z"));
    const calls: string[] = [];
    const scheduler = new BatchScheduler({ store, runJob: recordingRunner(calls), now: clock.now, schedule: parseSchedule("0 0 * * *", "UTC"), timeZone: "UTC", owner: "a", log: quiet });
    scheduler.start();
    // Done beforehand: 11-03 and 11-05.
    for (const date of ["2026-11-03", "2026-11-05"]) scheduler.queueDay(date, "manual", ["batch_daily", "reconcile"]);
    await scheduler.tick();
    calls.length = 0;

    const plan = backfillPlan("2026-11-01", "2026-11-07", store.all());
    expect(plan.filter((d) => d.action === "skip").map((d) => d.date)).toEqual(["2026-11-03", "2026-11-05"]);
    for (const day of plan) scheduler.queueDay(day.date, "backfill", day.jobs);
    await scheduler.tick();
    const days = ["2026-11-01", "2026-11-02", "2026-11-04", "2026-11-06", "2026-11-07"];
    expect(calls).toEqual(days.flatMap((d) => [`batch_daily ${d}`, `reconcile ${d}`]));
    // Every backfilled day is done now: the same backfill again runs nothing.
    expect(backfillPlan("2026-11-01", "2026-11-07", store.all()).every((d) => d.action === "skip")).toBe(true);
    store.close();
  });
});

describe("BatchScheduler.stop", () => {
  it("lets the current run finish and starts no queued one", async () => {
    const store = new RunStore(storeFile());
    const clock = new FakeClock(Date.parse("2026-11-21T12:00:00Z"));
    const calls: string[] = [];
    let finish: (r: JobResult) => void = () => undefined;
    const runner = recordingRunner(calls, () => new Promise<JobResult>((r) => (finish = r)));
    const scheduler = new BatchScheduler({ store, runJob: runner, now: clock.now, schedule: parseSchedule("0 0 * * *", "UTC"), timeZone: "UTC", owner: "a", log: quiet });
    scheduler.start();
    scheduler.queueDay("2026-11-20", "manual", ["batch_daily", "reconcile"]);
    const step = scheduler.tick();
    await new Promise((r) => setTimeout(r, 10));
    const stopped = scheduler.stop();
    finish({ exitCode: null, stdout: "", stderr: "" }); // the caller killed the child
    await Promise.all([step, stopped]);
    expect(calls).toEqual(["batch_daily 2026-11-20"]);
    expect(store.all().map((r) => [r.job, r.status, r.error])).toEqual([
      ["batch_daily", "failed", "killed by a signal"],
      ["reconcile", "queued", null],
    ]);
    store.close();
  });
});

describe("repairs and progress", () => {
  it("a queued repair runs with its range after the daily jobs queued before it; its output so far is in the history while it runs", async () => {
    const store = new RunStore(storeFile());
    const clock = new FakeClock(Date.parse("2026-11-21T12:00:00Z"));
    const seen: { job: RunJob; range: RunRange | null }[] = [];
    let finish: (r: JobResult) => void = () => undefined;
    let progressed: () => void = () => undefined;
    const progress = new Promise<void>((r) => (progressed = r));
    const runner: JobRunner = (job, date, { range, onOutput }) => {
      seen.push({ job, range });
      if (job !== REPAIR_JOB) return Promise.resolve(succeeded(job, date));
      onOutput?.("", "replaying lake rows through the window engine [###...] 40% 40/100\n");
      progressed();
      return new Promise<JobResult>((r) => (finish = r));
    };
    const scheduler = new BatchScheduler({ store, runJob: runner, now: clock.now, schedule: parseSchedule("0 0 * * *", "UTC"), timeZone: "UTC", owner: "a", log: quiet });
    scheduler.start();
    scheduler.queueDay("2026-11-20", "manual", ["batch_daily"]);
    const range = { fromMs: Date.parse("2026-11-20T10:00:00Z"), toMs: Date.parse("2026-11-20T11:00:00Z") };
    const repair = store.enqueue(REPAIR_JOB, "2026-11-20", "manual", clock.ms, range);
    expect(store.get(repair.id)).toMatchObject({ job: REPAIR_JOB, range, status: "queued" });
    const step = scheduler.tick();
    await progress;
    expect(store.get(repair.id)).toMatchObject({ status: "running", log: expect.stringContaining("40% 40/100") });
    finish({ exitCode: 0, stdout: "summary phase=before-repair status=mismatched expected_windows=6 mismatches=2\nsummary phase=after-repair status=equal expected_windows=6 mismatches=0\n", stderr: "" });
    await step;
    expect(seen).toEqual([{ job: "batch_daily", range: null }, { job: REPAIR_JOB, range }]);
    expect(store.get(repair.id)).toMatchObject({ status: "success", quality: "equal", rows: 6 });
    // A repair is no daily job: the day's reconcile is still missing for a backfill.
    expect(backfillPlan("2026-11-20", "2026-11-20", store.all())[0]!.jobs).toEqual(["reconcile"]);
    store.close();
  });

  it("cancel after the current day keeps that day's queued runs and skips the others", () => {
    const store = new RunStore(storeFile());
    for (const date of ["2026-11-01", "2026-11-02"]) for (const job of ["batch_daily", "reconcile"] as const) store.enqueue(job, date, "backfill", 0);
    expect(store.start(1, 1)).toBe(true);
    expect(store.cancelQueued(2, "2026-11-01")).toBe(2);
    expect(store.all().map((r) => `${r.date} ${r.job} ${r.status}`)).toEqual([
      "2026-11-01 batch_daily running",
      "2026-11-01 reconcile queued",
      "2026-11-02 batch_daily skipped",
      "2026-11-02 reconcile skipped",
    ]);
    expect(store.cancelQueued(3)).toBe(1);
    store.close();
  });

  it("a history written before repairs existed gains the range columns on open", () => {
    const file = storeFile();
    mkdirSync(dirname(file), { recursive: true });
    const old = new Database(file);
    old.exec(`CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, date TEXT NOT NULL, "trigger" TEXT NOT NULL, status TEXT NOT NULL,
      queued_at INTEGER NOT NULL, started_at INTEGER, ended_at INTEGER, exit_code INTEGER, rows INTEGER, quality TEXT, error TEXT, log TEXT NOT NULL DEFAULT '')`);
    old.prepare(`INSERT INTO runs (job, date, "trigger", status, queued_at) VALUES ('batch_daily', '2026-11-01', 'schedule', 'success', 0)`).run();
    old.close();
    const store = new RunStore(file);
    expect(store.all()).toMatchObject([{ job: "batch_daily", date: "2026-11-01", range: null, status: "success" }]);
    expect(store.enqueue(REPAIR_JOB, "2026-11-01", "manual", 1, { fromMs: 0, toMs: 60_000 }).range).toEqual({ fromMs: 0, toMs: 60_000 });
    store.close();
  });
});
