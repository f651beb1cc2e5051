import { describe, expect, it } from "vitest";
import { addDays, backfillPlan, datesBetween, dueDateOf, firesBetween, historyGrid, jobOutcome, nextQueued, parseSchedule, ScheduleError, type Run } from "./schedule.ts";

const run = (id: number, job: Run["job"], date: string, status: Run["status"]): Run => ({
  id, job, date, range: null, status, trigger: "manual", queuedAt: 0, startedAt: null, endedAt: null, exitCode: null, rows: null, quality: null, error: null, log: "",
});

describe("schedule", () => {
  it("fires in the business time zone, and each instant is due for the previous local day", () => {
    const cron = parseSchedule("30 1 * * *", "Asia/Kolkata");
    const fires = firesBetween(cron, Date.parse("2026-11-19T00:00:00Z"), Date.parse("2026-11-21T00:00:00Z"));
    // 01:30 IST = 20:00Z the day before.
    expect(fires.map((f) => new Date(f).toISOString())).toEqual(["2026-11-19T20:00:00.000Z", "2026-11-20T20:00:00.000Z"]);
    expect(fires.map((f) => dueDateOf(f, "Asia/Kolkata"))).toEqual(["2026-11-19", "2026-11-20"]);
    expect(dueDateOf(Date.parse("2026-11-20T20:00:00Z"), "UTC")).toBe("2026-11-19");
  });

  it("keeps only the newest fires when a scheduler was down for long", () => {
    const fires = firesBetween(parseSchedule("0 0 * * *", "UTC"), Date.parse("2026-01-01T00:00:00Z"), Date.parse("2026-12-01T00:00:00Z"), 3);
    expect(fires.map((f) => new Date(f).toISOString().slice(0, 10))).toEqual(["2026-11-29", "2026-11-30", "2026-12-01"]);
  });

  it("rejects a bad schedule and bad ranges with a message", () => {
    expect(() => parseSchedule("every day", "UTC")).toThrow(ScheduleError);
    expect(() => datesBetween("2026-11-05", "2026-11-01")).toThrow(/ends \(2026-11-01\) before it starts/);
    expect(() => datesBetween("2020-01-01", "2026-01-01")).toThrow(/longer than 366 days/);
    expect(addDays("2026-02-28", 1)).toBe("2026-03-01");
    expect(datesBetween("2026-12-30", "2027-01-02")).toEqual(["2026-12-30", "2026-12-31", "2027-01-01", "2027-01-02"]);
  });

  it("a backfill plan runs missing and failed jobs and skips days done, queued or running", () => {
    const runs = [
      run(1, "batch_daily", "2026-11-02", "success"),
      run(2, "reconcile", "2026-11-02", "success"),
      run(3, "batch_daily", "2026-11-03", "failed"),
      run(4, "reconcile", "2026-11-03", "success"),
      run(5, "batch_daily", "2026-11-04", "failed"),
      run(6, "batch_daily", "2026-11-04", "success"), // retried
      run(7, "reconcile", "2026-11-04", "running"),
    ];
    expect(backfillPlan("2026-11-01", "2026-11-04", runs).map((d) => [d.date, d.action, d.jobs.join(",")])).toEqual([
      ["2026-11-01", "run", "batch_daily,reconcile"],
      ["2026-11-02", "skip", ""],
      ["2026-11-03", "run", "batch_daily"],
      ["2026-11-04", "skip", ""],
    ]);
  });

  it("starts nothing while a run is running, else the oldest queued", () => {
    expect(nextQueued([run(1, "batch_daily", "d", "running"), run(2, "reconcile", "d", "queued")])).toBeUndefined();
    expect(nextQueued([run(3, "reconcile", "d", "queued"), run(2, "batch_daily", "d", "queued")])?.id).toBe(2);
  });

  it("reads outcomes from the CLIs' exit codes and output", () => {
    expect(jobOutcome("batch_daily", 0, "daily_country_category rows=4\n", "")).toEqual({ status: "success", rows: 4, quality: "passed", error: null });
    expect(jobOutcome("batch_daily", 2, "", "error: required option '--date <YYYY-MM-DD>' not specified\n").error).toBe("exit 2: error: required option '--date <YYYY-MM-DD>' not specified");
    expect(jobOutcome("reconcile", 1, "summary phase=check status=mismatched expected_windows=9 mismatches=2\n", "")).toEqual({
      status: "failed", rows: 9, quality: "mismatched", error: "exit 1: 2 mismatching window(s) between InfluxDB and the lake",
    });
    expect(jobOutcome("reconcile", null, "", "").error).toBe("killed by a signal");
    // Exit 1 without a summary is a failure to compare, not a mismatch.
    expect(jobOutcome("reconcile", 1, "", "reconcile: InfluxQL query failed at http://127.0.0.1:1: database not found: x\n  SELECT 1\n")).toEqual({
      status: "failed", rows: null, quality: null, error: "exit 1: reconcile: InfluxQL query failed at http://127.0.0.1:1: database not found: x",
    });
    expect(jobOutcome("reconcile", 2, "", "invalid configuration:\n  INFLUX_DB: set INFLUX_DB (1.x)\n").error).toBe("exit 2: invalid configuration: INFLUX_DB: set INFLUX_DB (1.x)");
  });
});

describe("historyGrid", () => {
  it("has a row per day from today back, newest first, plus older days with runs; each cell the day's newest run of the job; repairs are no column", () => {
    const runs = [
      run(1, "batch_daily", "2026-11-20", "failed"),
      run(2, "batch_daily", "2026-11-20", "success"),
      run(3, "reconcile", "2026-11-20", "queued"),
      run(4, "batch_daily", "2026-10-01", "skipped"),
      run(5, "reconcile_repair", "2026-09-01", "success"),
    ];
    const grid = historyGrid("2026-11-21", 3, runs);
    expect(grid.map((d) => d.date)).toEqual(["2026-11-21", "2026-11-20", "2026-11-19", "2026-10-01"]);
    expect(grid.map((d) => [d.jobs.batch_daily?.id ?? null, d.jobs.reconcile?.id ?? null])).toEqual([[null, null], [2, 3], [null, null], [4, null]]);
  });
});
