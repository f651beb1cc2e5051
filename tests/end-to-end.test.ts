import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openLake } from "../workers/shared/lake-query.ts";
import { decodeOrder } from "../lib/contract/order.ts";
import { amountToCents } from "../lib/contract/money.ts";
import { InfluxSink } from "../workers/shared/influx-sink.ts";
import { sharedKafka } from "./support/kafka.ts";
import { parseSummary, runScript, servicesEnv, tempDir } from "./support/processes.ts";
import { hotPathSettled, sumOrders, TEST_WINDOW_ENV, TEST_WINDOW_MS, truthByWindow, waitFor, WorkerProcess } from "./support/workers.ts";

const START = "2026-11-19T23:55:00Z"; // crosses midnight UTC: two business days
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

const csvRows = (path: string) => {
  const [header, ...lines] = readFileSync(path, "utf8").trim().split("\n");
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [header!.split(",")[i]!, v])));
};

describe("the whole pipeline: simulator -> Kafka -> hot and cold paths -> batch and reconcile", () => {
  it("agrees with the truth on both paths, and reconcile finds and repairs a corrupted minute", async () => {
    const dir = tempDir("e2e");
    const kafka = await sharedKafka("e2e", { orders: 4, metrics: 2 }, cleanup);
    const lakeDir = join(dir, "lake");
    const influx = { version: 1 as const, url: servicesEnv().INFLUX_URL!, database: `e2e_${Date.now()}` };
    const env = { ...kafka.env, INFLUX_URL: influx.url, INFLUX_DB: influx.database, LAKE_DIR: lakeDir, LAKE_ROTATE_ROWS: "1000", LAKE_ROTATE_AGE: "1s", ...TEST_WINDOW_ENV };
    const truthFile = join(dir, "truth.ndjson");
    const run = await runScript("workers/simulator.ts", ["--rate", "0", "--sim-rate", "10", "--count", "6000", "--seed", "77", "--start", START, "--truth", truthFile, "--duplicates", "0.03", "--late", "0.02", "--out-of-order", "0.1", "--malformed", "0.02", "--nulls", "0.03", "--skew", "0.01"], env);
    expect(run.code, run.stderr).toBe(0);
    const summary = parseSummary(run.stdout);

    const metrics = new WorkerProcess("workers/metrics.ts", env);
    const lake = new WorkerProcess("workers/lake.ts", env);
    cleanup.push(() => metrics.kill("SIGTERM"), () => lake.kill("SIGTERM"));

    // Hot path: every window final, on-time + late = truth.
    const hot = await hotPathSettled(influx, sumOrders(truthByWindow(truthFile, TEST_WINDOW_MS)), [metrics]);

    // Cold path: every valid message once.
    const valid = summary.sent! - summary.malformed! - summary.skewed!;
    const reader = await openLake(lakeDir, { timeoutMs: 10_000, maxRows: 10 });
    cleanup.push(async () => reader.close());
    await waitFor("lake holds every valid message", async () => {
      await reader.refresh();
      const { rows } = await reader.query("SELECT count(*) FROM orders_raw");
      return Number(rows[0]![0]) === valid ? true : undefined;
    }, 120_000);
    const invalid = await reader.query("SELECT count(*) FROM orders_invalid");
    expect(Number(invalid.rows[0]![0])).toBe(summary.malformed! + summary.skewed!);

    // Daily KPIs per UTC day equal the truth; late events equal what the hot path counted.
    const truth = readFileSync(truthFile, "utf8").trim().split("\n").map((l) => {
      const r = decodeOrder(Buffer.from(l), Number.MAX_SAFE_INTEGER / 2, 0);
      if (!r.ok) throw new Error(l);
      return r.order;
    });
    let lateTotal = 0;
    for (const date of ["2026-11-19", "2026-11-20"]) {
      const batch = await runScript("workers/cli/batch-daily.ts", ["--date", date], env);
      expect(batch.code, batch.stderr).toBe(0);
      const [kpis] = csvRows(join(lakeDir, "gold/daily_kpis", `date=${date}`, "daily_kpis.csv"));
      const day = truth.filter((o) => new Date(o.eventTime).toISOString().startsWith(date));
      expect(Number(kpis!.orders)).toBe(day.length);
      expect(Math.round(Number(kpis!.revenue) * 100)).toBe(day.reduce((s, o) => s + amountToCents(o.amount), 0));
      expect(Number(kpis!.customers)).toBe(new Set(day.map((o) => o.customerId).filter(Boolean)).size);
      lateTotal += Number(kpis!.late);
    }
    expect(lateTotal).toBe(sumOrders(hot.late));

    // Reconcile: the hot store equals the lake; a corrupted minute is found and repaired.
    const range = ["--from", "2026-11-19T23:00:00Z", "--to", "2026-11-20T01:00:00Z"];
    const equal = await runScript("workers/cli/reconcile.ts", range, env);
    expect(equal.code, equal.stdout + equal.stderr).toBe(0);
    const [victim] = [...hot.onTime.keys()].sort();
    const sink = new InfluxSink(influx, { maxBufferedPoints: 10 });
    sink.enqueue([{ measurement: "order_window", tags: { partition: "0" }, fields: { revenue: { type: "float", value: 999_999.99 } }, timestampNs: BigInt(victim!) * 1_000_000n }]);
    expect(await sink.flush()).toBe(true);
    const found = await runScript("workers/cli/reconcile.ts", range, env);
    expect(found.code).toBe(1);
    expect(found.stdout).toContain(new Date(victim!).toISOString().slice(0, 19));
    const repaired = await runScript("workers/cli/reconcile.ts", [...range, "--repair"], env);
    expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
    expect((await runScript("workers/cli/reconcile.ts", range, env)).code).toBe(0);
  });
});
