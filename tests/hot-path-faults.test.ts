import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../scripts/free-port.ts";
import { startInflux, stopInflux, type InfluxInfo } from "../scripts/services.ts";
import { influxQuery, seriesRows } from "../workers/shared/influxql.ts";
import { FeedClient } from "./support/feed-client.ts";
import { sharedKafka, type SharedKafka } from "./support/kafka.ts";
import { parseSummary, runScript, servicesEnv, tempDir } from "./support/processes.ts";
import { dumpHotPath, expectTotalsEqualTruth, hotPathSettled, sleep, sumOrders, TEST_WINDOW_ENV, TEST_WINDOW_MS, truthByWindow, waitFor, trackedWorker } from "./support/workers.ts";

const WINDOW_MS = TEST_WINDOW_MS;
const WINDOW_ENV = TEST_WINDOW_ENV;
const CHAOS = ["--duplicates", "0.03", "--late", "0.02", "--out-of-order", "0.1", "--malformed", "0.02", "--nulls", "0.03", "--skew", "0.01"];

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

/** A fresh topic set and group prefix on the shared broker: identical streams get identical partitions and offsets. */
const broker = (): Promise<SharedKafka> => sharedKafka("hot-faults", { orders: 4, dlq: 2, metrics: 2 }, cleanup);
const worker = (script: string, env: Record<string, string | undefined>) => trackedWorker(cleanup, script, env);
type Influx = { version: 1; url: string; database: string };

describe("hot path under faults", () => {
  it("two metrics workers, one killed midway: feed totals and InfluxDB equal a single-worker run", async () => {
    const dir = tempDir("two-workers");
    const shared = servicesEnv();
    const produce = async (b: SharedKafka, truth: string) => {
      const run = await runScript("workers/simulator.ts", ["--rate", "0", "--sim-rate", "20", "--count", "12000", "--seed", "5", "--start", "2026-11-20T12:00:00Z", "--truth", truth, ...CHAOS], { ...b.env, ...WINDOW_ENV });
      expect(run.code, run.stderr).toBe(0);
      return parseSummary(run.stdout);
    };
    const [a, b] = [await broker(), await broker()];
    await produce(a, join(dir, "a.ndjson"));
    await produce(b, join(dir, "b.ndjson"));
    const expectedOrders = sumOrders(truthByWindow(join(dir, "a.ndjson"), WINDOW_MS));

    const reference: Influx = { version: 1, url: shared.INFLUX_URL!, database: `two_ref_${Date.now()}` };
    const single = worker("workers/metrics.ts", { ...a.env, INFLUX_URL: reference.url, INFLUX_DB: reference.database, ...WINDOW_ENV });
    const referenceTotals = await hotPathSettled(reference, expectedOrders, [single]);
    await single.kill("SIGTERM");

    const target: Influx = { version: 1, url: shared.INFLUX_URL!, database: `two_${Date.now()}` };
    const env = { ...b.env, INFLUX_URL: target.url, INFLUX_DB: target.database, ...WINDOW_ENV };
    const feedPort = await freePort();
    const feed = worker("workers/feed.ts", { ...env, FEED_PORT: String(feedPort) });
    await feed.waitForOutput(/feed listening/);
    const client = new FeedClient(feedPort);
    cleanup.push(async () => client.close());
    const w1 = worker("workers/metrics.ts", env);
    const w2 = worker("workers/metrics.ts", env);
    await w1.waitForOutput(/partition ready/);
    await sleep(2_000 + Math.random() * 2_000);
    await w1.kill("SIGKILL");
    await hotPathSettled(target, expectedOrders, [w2]);

    expect(await dumpHotPath(target)).toEqual(await dumpHotPath(reference));
    // The feed sees the same totals, every window final.
    await waitFor("the feed to show every window final", async () => (client.showsFinal(referenceTotals.onTime) ? true : undefined), 60_000);
    expect(client.snapshot).toBeDefined();
  });

  it("InfluxDB down for 60 s while events flow: the worker pauses, loses nothing, and reports unhealthy while stalled", async () => {
    const dir = tempDir("outage");
    const b = await broker();
    let influx: InfluxInfo = await startInflux({ dir: join(dir, "influx") });
    cleanup.push(() => stopInflux(influx));
    const config: Influx = { version: 1, url: influx.url, database: "outage" };
    const healthPort = await freePort();
    const env = { ...b.env, INFLUX_URL: config.url, INFLUX_DB: config.database, ...WINDOW_ENV, INFLUX_BUFFER_POINTS: "200", HEALTH_PORT: String(healthPort) };
    const w = worker("workers/metrics.ts", env);
    await w.waitForOutput(/metrics worker running/);
    const truth = join(dir, "truth.ndjson");
    const simulation = runScript("workers/simulator.ts", ["--rate", "40", "--duration", "80s", "--seed", "9", "--truth", truth, ...CHAOS], { ...b.env, ...WINDOW_ENV }, 150_000);

    await sleep(5_000);
    const port = Number(new URL(influx.url).port);
    await stopInflux(influx);
    const health = async () => (await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status;
    const metric = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
      return text.split("\n").filter((l) => l.startsWith(name)).reduce((s, l) => s + Number(l.split(" ").at(-1)), 0);
    };
    await w.waitForOutput(/pausing consumption/, 30_000);
    await waitFor("unhealthy while stalled with lag", async () => ((await health()) === 503 ? true : undefined), 50_000, 1_000);
    expect(await metric("orderpulse_buffered_points")).toBeGreaterThanOrEqual(200);
    expect(await metric("orderpulse_lag")).toBeGreaterThan(0);
    await sleep(Math.max(0, 60_000 - 35_000));
    influx = await startInflux({ dir: join(dir, "influx"), port });

    const run = await simulation;
    expect(run.code, run.stderr).toBe(0);
    const expected = truthByWindow(truth, WINDOW_MS);
    const totals = await hotPathSettled(config, sumOrders(expected), [w]);
    expectTotalsEqualTruth(totals, expected);
    expect(sumOrders(totals.duplicate)).toBe(parseSummary(run.stdout).duplicate);
    expect(await health()).toBe(200);
    expect(w.output).toMatch(/resuming consumption/);
    // Worker health also reaches InfluxDB for Grafana and the dashboard.
    const pipeline = seriesRows(await influxQuery(config, `SELECT last("watermark") AS watermark, last("consumed") AS consumed FROM "pipeline" WHERE "worker" = 'metrics' GROUP BY "partition"`));
    expect(pipeline).toHaveLength(4);
    await w.kill("SIGTERM");
  });
});
