import { describe, expect, it } from "vitest";
import { REPAIR_JOB } from "../../lib/ops/schedule.ts";
import { jobCommand } from "./job-runner.ts";

describe("jobCommand", () => {
  it("runs the same CLIs an outside orchestrator would: a day's KPIs, its reconcile over the business day, a repair over its range", () => {
    expect(jobCommand("batch_daily", "2026-11-20", "Asia/Kolkata")).toEqual({ script: "workers/cli/batch-daily.ts", args: ["--date", "2026-11-20"] });
    expect(jobCommand("reconcile", "2026-11-20", "Asia/Kolkata")).toEqual({
      script: "workers/cli/reconcile.ts",
      args: ["--from", "2026-11-19T18:30:00.000Z", "--to", "2026-11-20T18:30:00.000Z"],
    });
    const range = { fromMs: Date.parse("2026-11-20T10:00:00Z"), toMs: Date.parse("2026-11-20T11:00:00Z") };
    expect(jobCommand(REPAIR_JOB, "2026-11-20", "UTC", range)).toEqual({
      script: "workers/cli/reconcile.ts",
      args: ["--from", "2026-11-20T10:00:00.000Z", "--to", "2026-11-20T11:00:00.000Z", "--repair"],
    });
    expect(() => jobCommand(REPAIR_JOB, "2026-11-20", "UTC")).toThrow(/needs a range/);
  });
});
