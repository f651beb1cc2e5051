import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InfluxConfig } from "../lib/contract/config.ts";
import { amountToCents } from "../lib/contract/money.ts";
import { influxQuery, seriesRows } from "../workers/shared/influxql.ts";
import { writeLakeFixture, type FixtureMessage } from "./support/batch-lake.ts";
import { runScript, servicesEnv, tempDir } from "./support/processes.ts";

const FROM = "2026-11-20T09:00:00Z"; // late events reach ~35 minutes before the first arrival
const TO = "2026-11-20T12:00:00Z";
const money = (cents: number) => (cents / 100).toFixed(2);

/** The rows of the mismatch table in a reconcile report (between the `N mismatches` line and the summary). */
function mismatchTable(stdout: string, phase: string): string[][] {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`${phase}: `));
  if (start < 0 || /no mismatches/.test(lines[start]!)) return [];
  const rows: string[][] = [];
  for (const line of lines.slice(start + 3)) {
    if (line.startsWith("summary ") || line.startsWith("…")) break;
    rows.push(line.split(" | ").map((cell) => cell.trim()));
  }
  return rows;
}

describe("reconcile", () => {
  let lakeDir: string;
  let messages: FixtureMessage[];
  let env: Record<string, string | undefined>;
  let influx: InfluxConfig;
  const reconcile = (args: string[], extra: Record<string, string> = {}) =>
    runScript("workers/cli/reconcile.ts", ["--from", FROM, "--to", TO, ...args], { ...env, ...extra });

  async function influxPost(path: string, body: URLSearchParams | string): Promise<void> {
    const response = await fetch(`${influx.url}${path}`, { method: "POST", body });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  }

  beforeAll(async () => {
    lakeDir = tempDir("reconcile");
    messages = await writeLakeFixture({ lakeDir, seed: 9, count: 6_000, startMs: Date.parse("2026-11-20T10:00:00Z"), partitions: 4, ratePerSecond: 2 });
    const database = `reconcile_${process.pid}_${Date.now()}`;
    const services = servicesEnv();
    env = { INFLUX_URL: services.INFLUX_URL, INFLUX_DB: database, LAKE_DIR: lakeDir, WINDOW_SIZE: "1m", WATERMARK_DELAY: "2m" };
    influx = { version: 1, url: services.INFLUX_URL!, database };
  });
  afterAll(async () => {
    if (influx) await influxPost("/query", new URLSearchParams({ q: `DROP DATABASE "${influx.database}"` })).catch(() => undefined);
    if (lakeDir) await rm(lakeDir, { recursive: true, force: true });
  });

  it("rewrites an empty database from the lake with --repair; a plain check then finds it equal", async () => {
    const repair = await reconcile(["--repair"]);
    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.stdout).toMatch(/summary phase=before-repair status=mismatched .*actual_windows=0 /);
    expect(repair.stdout).toMatch(/summary phase=after-repair status=equal .*mismatches=0 /);
    expect(repair.stderr).toMatch(/rewriting InfluxDB points \[#+\] 100%/);

    const check = await reconcile([]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^check: no mismatches\nsummary phase=check status=equal /m);

    // The design's invariant, from the generator's messages: on-time + late revenue = the lake's de-duplicated revenue.
    const seen = new Set<string>();
    let lakeCents = 0;
    for (const m of [...messages].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
      if (!m.decoded.ok || seen.has(m.decoded.order.orderId)) continue;
      seen.add(m.decoded.order.orderId);
      lakeCents += amountToCents(m.decoded.order.amount);
    }
    const [onTime] = seriesRows(await influxQuery(influx, `SELECT sum("revenue") AS r FROM "order_window"`));
    const [late] = seriesRows(await influxQuery(influx, `SELECT sum("revenue") AS r FROM "order_anomaly" WHERE "kind" = 'late'`));
    expect(Math.round((Number(onTime!.r) + Number(late!.r)) * 100)).toBe(lakeCents);
  });

  it("reports exactly a corrupted window revenue and a deleted anomaly point (exit 1), and --repair fixes them", async () => {
    const [window] = seriesRows(await influxQuery(influx, `SELECT "revenue" FROM "order_window" WHERE "partition" = '2' LIMIT 1 OFFSET 10`));
    const windowTime = Number(window!.time);
    const revenueCents = Math.round(Number(window!.revenue) * 100);
    await influxPost(`/write?db=${influx.database}&precision=ms`, `order_window,partition=2 revenue=${money(revenueCents + 123)} ${windowTime}`);

    // An anomaly point, with its exact nanosecond timestamp, and what its window and partition hold.
    // Nanosecond timestamps exceed 2^53: read the digits from the response text, not through JSON numbers.
    const nsResponse = await fetch(`${influx.url}/query?${new URLSearchParams({ db: influx.database, epoch: "ns", q: `SELECT "revenue", "partition" FROM "order_anomaly" WHERE "kind" = 'late' LIMIT 1 OFFSET 3` })}`);
    const point = /"values":\[\[(\d+),([\d.]+),"(\d+)"\]\]/.exec(await nsResponse.text());
    expect(point, "an anomaly point").not.toBeNull();
    const [, anomalyNs, anomalyRevenue, anomalyPartition] = point!;
    const anomalyTime = BigInt(anomalyNs!);
    const minute = (anomalyTime / 1_000_000n / 60_000n) * 60_000n;
    const inMinute = `"partition" = '${anomalyPartition}' AND "kind" = 'late' AND time >= ${minute * 1_000_000n} AND time < ${(minute + 60_000n) * 1_000_000n}`;
    const [lateBefore] = seriesRows(await influxQuery(influx, `SELECT count("orders") AS n, sum("revenue") AS r FROM "order_anomaly" WHERE ${inMinute}`));
    await influxPost("/query", new URLSearchParams({ db: influx.database, q: `DELETE FROM "order_anomaly" WHERE "partition" = '${anomalyPartition}' AND "kind" = 'late' AND time >= ${anomalyTime} AND time <= ${anomalyTime}` }));

    const check = await reconcile([]);
    expect(check.code, check.stderr).toBe(1);
    const lateCents = Math.round(Number(lateBefore!.r) * 100);
    const expected = [
      [new Date(windowTime).toISOString(), "2", "revenue", money(revenueCents), money(revenueCents + 123)],
      [new Date(Number(minute)).toISOString(), String(anomalyPartition), "late_orders", String(lateBefore!.n), String(Number(lateBefore!.n) - 1)],
      [new Date(Number(minute)).toISOString(), String(anomalyPartition), "late_revenue", money(lateCents), money(lateCents - Math.round(Number(anomalyRevenue) * 100))],
    ].sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : Number(a[1]) - Number(b[1])));
    expect(mismatchTable(check.stdout, "check")).toEqual(expected);
    expect(check.stdout).toMatch(/^check: 3 mismatches$/m);
    expect(check.stdout).toMatch(/summary phase=check status=mismatched .*mismatches=3 /);

    const repair = await reconcile(["--repair"]);
    expect(repair.code, repair.stderr).toBe(0);
    expect(mismatchTable(repair.stdout, "before-repair")).toEqual(expected);
    expect(repair.stdout).toMatch(/summary phase=after-repair status=equal/);
    const again = await reconcile([]);
    expect(again.code, again.stdout).toBe(0);
  });

  it("finds a point that should not exist, and the repair deletes it", async () => {
    await influxPost(`/write?db=${influx.database}&precision=ms`, `order_window,partition=7 revenue=1.5,orders=1i,items=1i,customers=1i,final=1i ${Date.parse("2026-11-20T09:10:00Z")}`);
    const check = await reconcile([]);
    expect(check.code).toBe(1);
    expect(mismatchTable(check.stdout, "check").map((row) => row.slice(1, 5))).toEqual([
      ["7", "revenue", "missing", "1.50"],
      ["7", "orders", "missing", "1"],
      ["7", "items", "missing", "1"],
      ["7", "customers", "missing", "1"],
    ]);
    // The lake has no row for partition 7 in the range: the repair refuses to delete its window (exit 3) ...
    const refused = await reconcile(["--repair"]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(
      new RegExp(`^reconcile: refusing to repair: InfluxDB has windows in the range for partition 7, but the lake has no row for it there \\(LAKE_DIR=${lakeDir}\\); the repair would delete them and write nothing back\\. Check LAKE_DIR and the range, or pass --allow-empty to delete them anyway$`, "m"),
    );
    expect(seriesRows(await influxQuery(influx, `SELECT "revenue" FROM "order_window" WHERE "partition" = '7'`)).map((r) => r.revenue)).toEqual([1.5]);
    // ... unless told to.
    expect((await reconcile(["--repair", "--allow-empty"])).code).toBe(0);
    expect(seriesRows(await influxQuery(influx, `SELECT * FROM "order_window" WHERE "partition" = '7'`))).toEqual([]);
  });

  it("exits 2 on a reversed range and 1 when the database does not exist, with a message", async () => {
    const reversed = await runScript("workers/cli/reconcile.ts", ["--from", TO, "--to", FROM], env);
    expect(reversed.code).toBe(2);
    expect(reversed.stderr).toMatch(/--from \(2026-11-20T12:00:00.000Z\) must be before --to/);
    const badInstant = await runScript("workers/cli/reconcile.ts", ["--from", "noon", "--to", TO], env);
    expect(badInstant.code).toBe(2);
    expect(badInstant.stderr).toMatch(/expected an ISO-8601 instant/);
    const missing = await reconcile([], { INFLUX_DB: `missing_${process.pid}` });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^reconcile: InfluxQL query failed at .*: database not found/m);
  });
});
