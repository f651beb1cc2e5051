import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import { stringify } from "csv-stringify/sync";
import { writeFileSync } from "node:fs";
import { readConfig, windowEnvSchema, type InfluxConfig } from "../lib/contract/config.ts";
import { decodeOrder, type Order } from "../lib/contract/order.ts";
import { amountToCents } from "../lib/contract/money.ts";
import { windowStartOf } from "../lib/contract/time.ts";
import { compareRange } from "../workers/batch/reconcile-run.ts";
import { influxQuery, seriesRows } from "../workers/shared/influxql.ts";
import { InfluxSink } from "../workers/shared/influx-sink.ts";
import { runScript, servicesEnv, tempDir } from "./support/processes.ts";
import { sharedKafka } from "./support/kafka.ts";
import { hotPathSettled, hotPathTotals, sleep, sumOrders, TEST_WINDOW_ENV, TEST_WINDOW_MS, truthByWindow, waitFor, WorkerProcess } from "./support/workers.ts";

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

// No --late: every truth order is on-time, so each window's segment breakdown is the truth's, joined with dim_customer.
const CHAOS = ["--duplicates", "0.03", "--out-of-order", "0.1", "--malformed", "0.02", "--nulls", "0.05", "--skew", "0.01"];

function readTruth(file: string): Order[] {
  return readFileSync(file, "utf8").trim().split("\n").map((line) => {
    const r = decodeOrder(Buffer.from(line), Number.MAX_SAFE_INTEGER / 2, 0);
    if (!r.ok) throw new Error(line);
    return r.order;
  });
}

/** customer_id → [segment, is_premium] from a dim_customer CSV the simulator wrote. */
function readCustomers(file: string): Map<string, [string, string]> {
  const [, ...lines] = readFileSync(file, "utf8").trim().split("\n");
  return new Map(lines.map((l) => l.split(",")).map((c) => [c[0]!, [c[1]!, c[2]!]]));
}

const segmentOf = (customers: Map<string, [string, string]>, o: Order) => (o.customerId === null ? undefined : customers.get(o.customerId))?.[0] ?? "UNKNOWN";

/** `${windowStart}/${segment}` → "orders/cents", from the truth joined with the dimension. */
function truthBySegment(orders: Order[], customers: Map<string, [string, string]>): Map<string, string> {
  const cells = new Map<string, [number, number]>();
  for (const o of orders) {
    const key = `${windowStartOf(o.eventTime, TEST_WINDOW_MS)}/${segmentOf(customers, o)}`;
    const c = cells.get(key) ?? [0, 0];
    cells.set(key, [c[0] + 1, c[1] + amountToCents(o.amount)]);
  }
  return new Map([...cells].map(([k, [n, cents]]) => [k, `${n}/${cents}`]));
}

/** `${windowStart}/${segment}` → "orders/cents" of order_window_by_segment, summed over partitions. */
async function segmentsInInflux(influx: InfluxConfig): Promise<Map<string, string>> {
  const cells = new Map<string, [number, number]>();
  for (const r of seriesRows(await influxQuery(influx, `SELECT "revenue", "orders" FROM "order_window_by_segment" GROUP BY "partition", "segment"`, 30_000))) {
    const key = `${Number(r.time)}/${String(r.segment)}`;
    const c = cells.get(key) ?? [0, 0];
    cells.set(key, [c[0] + Number(r.orders), c[1] + Math.round(Number(r.revenue) * 100)]);
  }
  return new Map([...cells].map(([k, [n, cents]]) => [k, `${n}/${cents}`]));
}

/** Window start → the dims_version values its order_window points carry (over partitions). */
async function versionsInInflux(influx: InfluxConfig): Promise<Map<number, Set<string>>> {
  const found = new Map<number, Set<string>>();
  for (const r of seriesRows(await influxQuery(influx, `SELECT "dims_version" FROM "order_window" GROUP BY "partition"`, 30_000)))
    found.set(Number(r.time), (found.get(Number(r.time)) ?? new Set()).add(String(r.dims_version)));
  return found;
}

async function readParquet(path: string): Promise<string[][]> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(`SELECT * FROM read_parquet('${path}', hive_partitioning = false)`)).getRowsJson().map((r) => r.map(String));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe("dimensions through the whole pipeline (simulator --dims-out, Apache Kafka, InfluxDB, lake, batch, reconcile)", () => {
  it("segments live and in gold equal the truth joined with the dimensions; a dimension change applies without a restart and replays keep each window's version; silver equals InfluxDB", async () => {
    const dir = tempDir("dims-pipeline");
    const kafka = await sharedKafka("dims", { orders: 3 }, cleanup);
    const lakeDir = join(dir, "lake");
    const influx = { version: 1 as const, url: servicesEnv().INFLUX_URL!, database: `dims_${Date.now()}` };
    const env = { ...kafka.env, INFLUX_URL: influx.url, INFLUX_DB: influx.database, LAKE_DIR: lakeDir, LAKE_ROTATE_ROWS: "1000", LAKE_ROTATE_AGE: "1s", ...TEST_WINDOW_ENV };
    const dimsDir = join(dir, "dims");
    const truth1 = join(dir, "truth1.ndjson");
    const sim1 = await runScript("workers/simulator.ts", ["--rate", "0", "--sim-rate", "10", "--count", "4000", "--seed", "5", "--start", "2026-11-20T09:00:00Z", "--truth", truth1, "--dims-out", dimsDir, ...CHAOS], env);
    expect(sim1.code, sim1.stderr).toBe(0);
    const load = await runScript("workers/cli/dims-load.ts", ["--customers", join(dimsDir, "dim_customer.csv"), "--products", join(dimsDir, "dim_product.csv")], env);
    expect(load.code, load.stderr).toBe(0);
    const versionA = /^dim_customer: .*version ([0-9a-f]{16})/m.exec(load.stdout)![1]!;

    const metrics = new WorkerProcess("workers/metrics.ts", env);
    const lake = new WorkerProcess("workers/lake.ts", env);
    cleanup.push(() => metrics.kill("SIGTERM"), () => lake.kill("SIGTERM"));
    const customersA = readCustomers(join(dimsDir, "dim_customer.csv"));
    const orders1 = readTruth(truth1);
    const hot1 = await hotPathSettled(influx, orders1.length, [metrics]);
    expect(sumOrders(hot1.late)).toBe(0);

    const bySegmentInflux = () => segmentsInInflux(influx);
    const versions = () => versionsInInflux(influx);
    const expected1 = truthBySegment(orders1, customersA);
    expect(Object.fromEntries(await bySegmentInflux())).toEqual(Object.fromEntries(expected1));
    expect([...new Set([...expected1.keys()].map((k) => k.split("/")[1]))].sort()).toEqual(["UNKNOWN", "consumer", "enterprise", "small_business", "student"]);
    expect(new Set([...(await versions()).values()].flatMap((s) => [...s]))).toEqual(new Set([versionA]));

    // Gold and silver for the day, once the lake holds every valid message.
    const valid = orders1.length + Number(/duplicate=(\d+)/.exec(sim1.stdout)![1]);
    await waitFor("lake holds every valid message", async () => {
      const q = await runScript("workers/cli/query.ts", ["--csv", "SELECT count(*) AS n FROM orders_raw"], env);
      return q.stdout.trim().split("\n")[1] === String(valid) ? true : undefined;
    }, 120_000, 2_000);
    const batch = await runScript("workers/cli/batch-daily.ts", ["--date", "2026-11-20"], env);
    expect(batch.code, batch.stderr).toBe(0);
    const segments = await readParquet(join(lakeDir, "gold/daily_segment_metrics/date=2026-11-20/daily_segment_metrics.parquet"));
    const gold = new Map<string, [number, number]>();
    for (const o of orders1) {
      const key = `${o.country}/${segmentOf(customersA, o)}`;
      const c = gold.get(key) ?? [0, 0];
      gold.set(key, [c[0] + 1, c[1] + amountToCents(o.amount)]);
    }
    const rank = (key: string) => 1 + [...gold].filter(([k, c]) => k.split("/")[0] === key.split("/")[0] && c[1] > gold.get(key)![1]).length;
    expect(Object.fromEntries(segments.map((r) => [`${r[1]}/${r[2]}`, `${r[3]}/${Math.round(Number(r[4]) * 100)}/${r[5]}`]))).toEqual(
      Object.fromEntries([...gold].map(([k, [n, cents]]) => [k, `${n}/${cents}/${rank(k)}`])),
    );
    const dayCents = orders1.reduce((s, o) => s + amountToCents(o.amount), 0);
    expect(segments.reduce((s, r) => s + Math.round(Number(r[4]) * 100), 0)).toBe(dayCents);

    // Silver: every window of the run equals InfluxDB's order_window (summed over partitions) and order_anomaly.
    const silver = await readParquet(join(lakeDir, "silver/minute_metrics/event_date=2026-11-20/minute_metrics.parquet"));
    const influxMinutes = new Map<number, number[]>();
    const minute = (t: number) => influxMinutes.get(t) ?? influxMinutes.set(t, [0, 0, 0, 0, 0, 0, 0]).get(t)!;
    for (const r of seriesRows(await influxQuery(influx, `SELECT "orders", "revenue", "items", "customers" FROM "order_window" GROUP BY "partition"`, 30_000))) {
      const m = minute(Number(r.time));
      [m[0], m[1], m[2], m[3]] = [m[0]! + Number(r.orders), m[1]! + Math.round(Number(r.revenue) * 100), m[2]! + Number(r.items), m[3]! + Number(r.customers)];
    }
    for (const r of seriesRows(await influxQuery(influx, `SELECT "revenue", "kind" FROM "order_anomaly"`, 30_000))) {
      const m = minute(windowStartOf(Number(r.time), TEST_WINDOW_MS));
      if (r.kind === "late") [m[4], m[5]] = [m[4]! + 1, m[5]! + Math.round(Number(r.revenue) * 100)];
      else m[6]!++;
    }
    const asRows = (m: Map<number, number[]>) => Object.fromEntries([...m].sort(([a], [b]) => a - b).map(([t, v]) => [new Date(t).toISOString().replace("T", " ").replace(".000Z", ""), v.join(",")]));
    const silverRows = Object.fromEntries(silver.map((r) => [r[0]!, [r[1], Math.round(Number(r[2]) * 100), r[3], r[4], r[5], Math.round(Number(r[6]) * 100), r[7]].join(",")]));
    expect(silver.length).toBeGreaterThan(30);
    expect(silverRows).toEqual(asRows(influxMinutes));
    expect(silver.reduce((s, r) => s + Number(r[7]), 0)).toBeGreaterThan(0); // duplicates reached the silver table

    // A new dim_customer version: the running worker picks it up (no restart), new windows use it, old ones keep theirs.
    const customersB = new Map([...customersA].map(([id, [segment, premium]]) => [id, [segment === "consumer" ? "loyal" : segment, premium] as [string, string]]));
    const fileB = join(dir, "dim_customer_b.csv");
    writeFileSync(fileB, stringify([["customer_id", "segment", "is_premium"], ...[...customersB].map(([id, [s, p]]) => [id, s, p])]));
    const loadB = await runScript("workers/cli/dims-load.ts", ["--customers", fileB], env);
    expect(loadB.code, loadB.stderr).toBe(0);
    const versionB = /^dim_customer: .*version ([0-9a-f]{16})/m.exec(loadB.stdout)![1]!;
    await metrics.waitForOutput(new RegExp(`"version":"${versionB}".*dim_customer loaded`), 30_000);
    const truth2 = join(dir, "truth2.ndjson");
    const sim2 = await runScript("workers/simulator.ts", ["--rate", "0", "--sim-rate", "10", "--count", "2000", "--seed", "6", "--start", "2026-11-20T10:00:00Z", "--truth", truth2, ...CHAOS], env);
    expect(sim2.code, sim2.stderr).toBe(0);
    const orders2 = readTruth(truth2);
    await hotPathSettled(influx, orders1.length + orders2.length, [metrics]);
    const expected2 = truthBySegment(orders2, customersB);
    expect(Object.fromEntries(await bySegmentInflux())).toEqual(Object.fromEntries([...expected1, ...expected2]));
    const recorded = await versions();
    for (const start of truthByWindow(truth1, TEST_WINDOW_MS).keys()) expect([...recorded.get(start)!]).toEqual([versionA]);
    for (const start of truthByWindow(truth2, TEST_WINDOW_MS).keys()) expect([...recorded.get(start)!]).toEqual([versionB]);

    // Reconcile compares segments with each window's recorded version: equal; a corrupted segment is found and repaired with version A.
    await waitFor("lake holds both runs", async () => {
      const q = await runScript("workers/cli/query.ts", ["--csv", "SELECT count(*) AS n FROM orders_raw"], env);
      return q.stdout.trim().split("\n")[1] === String(valid + orders2.length + Number(/duplicate=(\d+)/.exec(sim2.stdout)![1])) ? true : undefined;
    }, 120_000, 2_000);
    const range = ["--from", "2026-11-20T08:59:00Z", "--to", "2026-11-20T11:00:00Z"];
    const equal = await runScript("workers/cli/reconcile.ts", range, env);
    expect(equal.code, equal.stdout + equal.stderr).toBe(0);
    // The Batch page's Compare (compareRange, GET /api/reconcile) replays each window with the same version: equal too.
    const webRange = { fromMs: Date.parse(range[1]!), toMs: Date.parse(range[3]!) };
    const webCompare = () => compareRange(lakeDir, "UTC", readConfig(windowEnvSchema, TEST_WINDOW_ENV), influx, webRange);
    const webEqual = await webCompare();
    expect(webEqual.summary.expectedWindows).toBeGreaterThan(0);
    expect(webEqual.cells.flatMap((c) => c.mismatches)).toEqual([]);
    expect(webEqual.summary.status).toBe("equal");
    const [victim, segment] = [...expected1.keys()].find((k) => k.endsWith("/consumer"))!.split("/");
    const sink = new InfluxSink(influx, { maxBufferedPoints: 10 });
    sink.enqueue([{ measurement: "order_window_by_segment", tags: { partition: "0", segment: segment! }, fields: { revenue: { type: "float", value: 123_456.78 }, orders: { type: "int", value: 999 } }, timestampNs: BigInt(victim!) * 1_000_000n }]);
    expect(await sink.flush()).toBe(true);
    const found = await runScript("workers/cli/reconcile.ts", range, env);
    expect(found.code).toBe(1);
    expect(found.stdout).toContain("segment[consumer]");
    expect((await webCompare()).cells.flatMap((c) => c.mismatches).map((m) => `${m.windowStart}/${m.measure}`)).toEqual(expect.arrayContaining([`${victim}/segment[consumer].revenue`]));
    const repaired = await runScript("workers/cli/reconcile.ts", [...range, "--repair"], env);
    expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
    expect(Object.fromEntries(await bySegmentInflux())).toEqual(Object.fromEntries([...expected1, ...expected2]));
    expect((await versions()).get(Number(victim))).toEqual(new Set([versionA]));
  });
});

describe("a dimension change while the metrics worker is down (issue 14: resume keeps each open window's version)", () => {
  it("windows open at a SIGKILL re-open with the version they were opened with, so order_window_by_segment equals the truth joined with each window's version and holds no stale segment", async () => {
    const dir = tempDir("dims-resume");
    const kafka = await sharedKafka("dims", { orders: 3 }, cleanup);
    const influx = { version: 1 as const, url: servicesEnv().INFLUX_URL!, database: `dims_resume_${Date.now()}` };
    const env = { ...kafka.env, INFLUX_URL: influx.url, INFLUX_DB: influx.database, LAKE_DIR: join(dir, "lake"), ...TEST_WINDOW_ENV };
    const dimsDir = join(dir, "dims");
    const truth1 = join(dir, "truth1.ndjson");
    const sim1 = await runScript("workers/simulator.ts", ["--rate", "0", "--sim-rate", "10", "--count", "1500", "--seed", "7", "--start", "2026-11-20T09:00:00Z", "--truth", truth1, "--dims-out", dimsDir, ...CHAOS], env);
    expect(sim1.code, sim1.stderr).toBe(0);
    const load = await runScript("workers/cli/dims-load.ts", ["--customers", join(dimsDir, "dim_customer.csv")], env);
    expect(load.code, load.stderr).toBe(0);
    const versionA = /^dim_customer: .*version ([0-9a-f]{16})/m.exec(load.stdout)![1]!;
    const customersA = readCustomers(join(dimsDir, "dim_customer.csv"));
    const orders1 = readTruth(truth1);

    // First run: no idle close (IDLE_TIMEOUT 60 s), so the last windows are still open when the worker is killed.
    const first = new WorkerProcess("workers/metrics.ts", { ...env, IDLE_TIMEOUT: "60s" });
    cleanup.push(() => (first.child.exitCode === null ? first.kill("SIGKILL") : Promise.resolve()));
    await waitFor("every order of the first run in InfluxDB", async () => (sumOrders((await hotPathTotals(influx, TEST_WINDOW_MS)).onTime) === orders1.length ? true : undefined), 120_000);
    await sleep(1_500); // several emit cycles: each commits the state that wrote those points
    const openAtKill = new Set<number>();
    for (const r of seriesRows(await influxQuery(influx, `SELECT "final" FROM "order_window" GROUP BY "partition"`, 30_000))) if (Number(r.final) === 0) openAtKill.add(Number(r.time));
    expect(openAtKill.size).toBeGreaterThan(0);
    expect(new Set([...(await versionsInInflux(influx)).values()].flatMap((v) => [...v]))).toEqual(new Set([versionA]));
    expect(first.child.exitCode).toBeNull();
    await first.kill("SIGKILL");

    // While it is down: a new dim_customer (consumer → loyal, student → consumer) and more orders, in windows after the open ones.
    const customersB = new Map([...customersA].map(([id, [segment, premium]]) => [id, [({ consumer: "loyal", student: "consumer" } as Record<string, string>)[segment] ?? segment, premium] as [string, string]]));
    const fileB = join(dir, "dim_customer_b.csv");
    writeFileSync(fileB, stringify([["customer_id", "segment", "is_premium"], ...[...customersB].map(([id, [s, p]]) => [id, s, p])]));
    const loadB = await runScript("workers/cli/dims-load.ts", ["--customers", fileB], env);
    expect(loadB.code, loadB.stderr).toBe(0);
    const versionB = /^dim_customer: .*version ([0-9a-f]{16})/m.exec(loadB.stdout)![1]!;
    const lastStart = Math.max(...openAtKill, ...orders1.map((o) => windowStartOf(o.eventTime, TEST_WINDOW_MS)));
    // 20 s past the last window's end: beyond the out-of-order jitter, so every order of this run is in a window opened after the restart.
    const truth2 = join(dir, "truth2.ndjson");
    const sim2 = await runScript("workers/simulator.ts", ["--rate", "0", "--sim-rate", "10", "--count", "500", "--seed", "8", "--start", String(lastStart + TEST_WINDOW_MS + 20_000), "--truth", truth2, ...CHAOS], env);
    expect(sim2.code, sim2.stderr).toBe(0);
    const orders2 = readTruth(truth2);

    const second = new WorkerProcess("workers/metrics.ts", env);
    cleanup.push(() => second.kill("SIGTERM"));
    const hot = await hotPathSettled(influx, orders1.length + orders2.length, [second]);
    expect(sumOrders(hot.late)).toBe(0);
    expect(second.output).toMatch(/"resumed":true.*partition ready/);
    expect(second.output).not.toContain("is not available");

    const expected1 = truthBySegment(orders1, customersA);
    const expected2 = truthBySegment(orders2, customersB);
    expect([...expected1.keys()].some((k) => openAtKill.has(Number(k.split("/")[0])) && /\/(consumer|student)$/.test(k))).toBe(true); // the change moves segments of open windows
    expect(Object.fromEntries(await segmentsInInflux(influx))).toEqual(Object.fromEntries([...expected1, ...expected2]));
    const recorded = await versionsInInflux(influx);
    for (const start of openAtKill) expect([start, [...recorded.get(start)!]]).toEqual([start, [versionA]]);
    for (const start of truthByWindow(truth1, TEST_WINDOW_MS).keys()) expect([start, [...recorded.get(start)!]]).toEqual([start, [versionA]]);
    for (const start of truthByWindow(truth2, TEST_WINDOW_MS).keys()) expect([start, [...recorded.get(start)!]]).toEqual([start, [versionB]]);
  });
});
