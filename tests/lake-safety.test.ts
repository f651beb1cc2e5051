/**
 * A command that deletes, rewrites or exports must not act on a lake that is not there: `reconcile --repair`
 * from a mistyped LAKE_DIR once read the lake as empty, deleted InfluxDB's windows and exited 0. Real InfluxDB
 * from the test services; a real lake fixture (Parquet files and commit markers).
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InfluxConfig } from "../lib/contract/config.ts";
import { influxQuery } from "../workers/shared/influxql.ts";
import { writeLakeFixture } from "./support/batch-lake.ts";
import { runScript, servicesEnv, tempDir } from "./support/processes.ts";

const RANGE = ["--from", "2026-11-20T09:00:00Z", "--to", "2026-11-20T12:00:00Z"];
const MEASUREMENTS = ["order_window", "order_window_by_country", "order_window_by_category", "order_anomaly"];
const pointTo = "point LAKE_DIR at the lake that `npm run worker:lake` writes";

describe("commands that delete, rewrite or export refuse a missing or empty lake", () => {
  let lakeDir: string;
  let scratch: string;
  let influx: InfluxConfig;
  let env: Record<string, string | undefined>;

  /** Everything the repair could touch, as InfluxDB returns it. */
  async function influxContents(): Promise<string> {
    const parts: string[] = [];
    for (const m of MEASUREMENTS) parts.push(JSON.stringify(await influxQuery(influx, `SELECT * FROM "${m}" GROUP BY *`)));
    return parts.join("\n");
  }

  beforeAll(async () => {
    lakeDir = tempDir("safety-lake");
    scratch = tempDir("safety-scratch");
    await writeLakeFixture({ lakeDir, seed: 11, count: 3_000, startMs: Date.parse("2026-11-20T10:00:00Z"), partitions: 4, ratePerSecond: 2 });
    const services = servicesEnv();
    influx = { version: 1, url: services.INFLUX_URL!, database: `safety_${process.pid}_${Date.now()}` };
    env = { INFLUX_URL: influx.url, INFLUX_DB: influx.database, LAKE_DIR: lakeDir, WINDOW_SIZE: "1m", WATERMARK_DELAY: "2m" };
    const filled = await runScript("workers/cli/reconcile.ts", [...RANGE, "--repair"], env);
    expect(filled.code, filled.stderr).toBe(0);
  });
  afterAll(async () => {
    if (influx) await fetch(`${influx.url}/query`, { method: "POST", body: new URLSearchParams({ q: `DROP DATABASE "${influx.database}"` }) }).catch(() => undefined);
    for (const dir of [lakeDir, scratch]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("reconcile --repair refuses a missing lake, a file and a directory without commit markers (exit 3), and InfluxDB stays as it was", async () => {
    const before = await influxContents();
    expect(before).toMatch(/"order_window"/);
    const missing = join(scratch, "no-such-lake");
    const file = join(scratch, "a-file");
    writeFileSync(file, "not a lake\n");
    const empty = join(scratch, "empty");
    mkdirSync(join(empty, "orders"), { recursive: true });
    const cases: [string, string][] = [
      [missing, `LAKE_DIR=${missing} does not exist`],
      [file, `LAKE_DIR=${file} is a file, not a directory`],
      [empty, `LAKE_DIR=${empty} has no commit markers (_commits/partition=*.json): the lake worker has not written to it`],
    ];
    for (const [dir, why] of cases) {
      const run = await runScript("workers/cli/reconcile.ts", [...RANGE, "--repair"], { ...env, LAKE_DIR: dir });
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr).toBe(`reconcile: refusing to repair InfluxDB from the lake: ${why}; ${pointTo}\n`);
      expect(run.stdout).toBe("");
    }
    expect(await influxContents()).toBe(before);
  });

  it("reconcile --repair refuses to delete a partition's points the lake has no row for (here only a breakdown point), unless --allow-empty", async () => {
    const at = Date.parse("2026-11-20T09:30:00Z");
    const write = await fetch(`${influx.url}/write?db=${influx.database}&precision=ms`, { method: "POST", body: `order_window_by_country,partition=6,country=US revenue=1.5,orders=1i ${at}` });
    expect(write.ok).toBe(true);
    const stray = `SELECT "revenue" FROM "order_window_by_country" WHERE "partition" = '6'`;
    const before = await influxContents();
    const refused = await runScript("workers/cli/reconcile.ts", [...RANGE, "--repair"], env);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain(
      `reconcile: refusing to repair: InfluxDB has windows in the range for partition 6, but the lake has no row for it there (LAKE_DIR=${lakeDir}); the repair would delete them and write nothing back. Check LAKE_DIR and the range, or pass --allow-empty to delete them anyway\n`,
    );
    expect(await influxContents()).toBe(before);
    const allowed = await runScript("workers/cli/reconcile.ts", [...RANGE, "--repair", "--allow-empty"], env);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(await influxQuery(influx, stray)).toEqual([]);
  });

  it("a check without --repair says the lake is missing, reports the mismatches and deletes nothing", async () => {
    const before = await influxContents();
    const missing = join(scratch, "still-missing");
    const run = await runScript("workers/cli/reconcile.ts", RANGE, { ...env, LAKE_DIR: missing });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^reconcile: note: LAKE_DIR=${missing} does not exist, so the lake reads as empty: every window InfluxDB holds in the range will show as a mismatch$`, "m"));
    expect(run.stdout).toMatch(/summary phase=check status=mismatched .*expected_windows=0 /);
    expect(await influxContents()).toBe(before);
  });

  it("export, batch:daily and lake:compact refuse a missing lake (exit 3) and write nothing", async () => {
    const missing = join(scratch, "gone");
    const out = join(scratch, "artifacts");
    mkdirSync(out);
    const runs: [string, string[], string][] = [
      ["workers/cli/export.ts", ["--out", out], "export: refusing to export"],
      ["workers/cli/batch-daily.ts", ["--date", "2026-11-20"], "batch:daily: refusing to compute the daily KPIs"],
      ["workers/cli/lake-compact.ts", [], "lake:compact: refusing to compact"],
    ];
    for (const [script, args, prefix] of runs) {
      const run = await runScript(script, args, { LAKE_DIR: missing });
      expect(run.code, `${script}: ${run.stderr}`).toBe(3);
      expect(run.stderr).toBe(`${prefix}: LAKE_DIR=${missing} does not exist; ${pointTo}\n`);
    }
    expect(readdirSync(out)).toEqual([]);
    expect(readdirSync(scratch)).not.toContain("gone");
  });

  it("query says plainly that the lake is missing, and runs over empty views", async () => {
    const missing = join(scratch, "nowhere");
    const run = await runScript("workers/cli/query.ts", ["SELECT count(*) AS n FROM orders"], { LAKE_DIR: missing });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(`query: note: LAKE_DIR=${missing} does not exist, so the lake reads as empty\n`);
    expect(run.stdout).toBe("n\n-\n0\n(1 row)\n");
  });

  it("batch:daily says its invalid count is by arrival day", async () => {
    const run = await runScript("workers/cli/batch-daily.ts", ["--date", "2026-11-20"], { LAKE_DIR: lakeDir, WINDOW_SIZE: "1m", WATERMARK_DELAY: "2m" });
    expect(run.code, run.stderr).toBe(0);
    const invalid = /^daily_kpis .* invalid=(\d+)$/m.exec(run.stdout)?.[1];
    expect(Number(invalid)).toBeGreaterThan(0);
    expect(run.stdout).toContain(
      `note: invalid=${invalid} counts invalid messages by arrival day (the lake took them in on 2026-11-20 in UTC): an invalid message has no trustworthy event time; every other count is by event time\n`,
    );
  });
});
