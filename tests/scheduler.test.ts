import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RunStore, runStorePath } from "../workers/ops/run-store.ts";
import { influxCommand } from "../workers/shared/influxql.ts";
import { writeLakeFixture } from "./support/batch-lake.ts";
import { runScript, servicesEnv, tempDir } from "./support/processes.ts";

let lakeDir: string | undefined;
afterAll(async () => {
  if (lakeDir) await rm(lakeDir, { recursive: true, force: true });
});

describe("worker:scheduler with the real CLIs", () => {
  it("runs a queued day's batch:daily then reconcile as child processes and records their outcomes from their exit codes", async () => {
    lakeDir = tempDir("scheduler");
    await writeLakeFixture({ lakeDir, seed: 7, count: 1_500, startMs: Date.parse("2026-11-20T10:00:00Z"), partitions: 2, ratePerSecond: 2 });
    // A fresh, empty InfluxDB database: reconcile must find every window missing there (exit 1).
    const influx = { version: 1 as const, url: servicesEnv().INFLUX_URL!, database: `scheduler_${Date.now()}` };
    await influxCommand(influx, `CREATE DATABASE "${influx.database}"`);
    const env = { LAKE_DIR: lakeDir, INFLUX_URL: influx.url, INFLUX_DB: influx.database, WINDOW_SIZE: "1m", WATERMARK_DELAY: "2m", BUSINESS_TZ: "UTC" };
    const queued = await runScript("workers/scheduler.ts", ["backfill", "--from", "2026-11-20", "--to", "2026-11-20"], env);
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout).toMatch(/2026-11-20 \| run +\| batch_daily,reconcile \| missing +\| missing/);

    const once = await runScript("workers/scheduler.ts", ["--once"], env, 240_000);
    expect(once.code, "a run failed, so --once exits 1").toBe(1);
    const store = new RunStore(runStorePath(lakeDir));
    const [batch, reconcile] = store.all();
    store.close();
    expect(batch).toMatchObject({ job: "batch_daily", date: "2026-11-20", trigger: "backfill", status: "success", exitCode: 0, quality: "passed" });
    expect(batch!.rows).toBeGreaterThan(0);
    expect(batch!.log).toMatch(/^daily_kpis date=2026-11-20 business_tz=UTC orders=\d+/m);
    expect(existsSync(join(lakeDir, "gold", "daily_kpis", "date=2026-11-20", "daily_kpis.parquet"))).toBe(true);
    expect(reconcile).toMatchObject({ job: "reconcile", status: "failed", exitCode: 1, quality: "mismatched" });
    expect(reconcile!.error).toMatch(/^exit 1: \d+ mismatching window\(s\) between InfluxDB and the lake$/);
    expect(batch!.endedAt!).toBeLessThanOrEqual(reconcile!.startedAt!);

    // The day's KPIs are done: a second backfill of it plans only the failed reconcile.
    const again = await runScript("workers/scheduler.ts", ["backfill", "--from", "2026-11-20", "--to", "2026-11-20", "--dry-run"], env);
    expect(again.stdout).toMatch(/2026-11-20 \| run +\| reconcile +\| success +\| failed/);
  });
});
