import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../scripts/free-port.ts";
import { FeedClient } from "./support/feed-client.ts";
import { sharedKafka } from "./support/kafka.ts";
import { runScript, servicesEnv, tempDir } from "./support/processes.ts";
import { hotPathSettled, sleep, sumOrders, TEST_WINDOW_ENV, TEST_WINDOW_MS, truthByWindow, waitFor, WorkerProcess } from "./support/workers.ts";

const WINDOW_MS = TEST_WINDOW_MS;
const WINDOW_ENV = TEST_WINDOW_ENV;
const START = Date.parse("2026-11-20T15:00:00Z");

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

describe("live feed (socket.io)", () => {
  it("sends a snapshot equal to InfluxDB on connect, then updates marked partial or final", async () => {
    const dir = tempDir("feed");
    const kafka = await sharedKafka("feed", { orders: 4, metrics: 2 }, cleanup);
    const influx = { version: 1 as const, url: servicesEnv().INFLUX_URL!, database: `feed_${Date.now()}` };
    const env = { ...kafka.env, INFLUX_URL: influx.url, INFLUX_DB: influx.database, ...WINDOW_ENV };
    const simulate = async (seed: number, start: number, count: number, truth: string) => {
      const run = await runScript("workers/simulator.ts", ["--rate", "0", "--sim-rate", "20", "--count", String(count), "--seed", String(seed), "--start", String(start), "--truth", truth, "--duplicates", "0.02", "--out-of-order", "0.1"], env);
      expect(run.code, run.stderr).toBe(0);
    };
    const settledTotals = (orders: number) => hotPathSettled(influx, orders, []);

    await simulate(21, START, 3_000, join(dir, "one.ndjson"));
    const worker = new WorkerProcess("workers/metrics.ts", env);
    cleanup.push(() => worker.kill("SIGTERM"));
    const before = await settledTotals(sumOrders(truthByWindow(join(dir, "one.ndjson"), WINDOW_MS)));
    await sleep(6_000); // one pipeline sample after the last window closed, so the snapshot knows the watermarks

    const port = await freePort();
    const feed = new WorkerProcess("workers/feed.ts", { ...env, FEED_PORT: String(port) });
    cleanup.push(() => feed.kill("SIGTERM"));
    await feed.waitForOutput(/feed listening/);
    const client = new FeedClient(port);
    cleanup.push(async () => client.close());
    const snapshot = await waitFor("the snapshot", async () => client.snapshot, 20_000, 100);
    expect(snapshot.map((w) => [w.windowStart, Math.round(w.revenue * 100), w.orders, w.final])).toEqual(
      [...before.onTime].sort(([a], [b]) => a - b).map(([start, t]) => [start, t.revenueCents, t.orders, true]),
    );

    // New orders after the snapshot: open windows arrive as partials, then once more as final.
    const updatesBefore = client.updates.length;
    await simulate(22, START + 150_000, 1_000, join(dir, "two.ndjson"));
    const one = truthByWindow(join(dir, "one.ndjson"), WINDOW_MS);
    const two = truthByWindow(join(dir, "two.ndjson"), WINDOW_MS);
    const after = await settledTotals(sumOrders(one) + sumOrders(two));
    // Idle advancement kept closing windows on wall-clock time meanwhile, so batch two's first orders are late: only windows with on-time values get updates.
    const newWindows = [...after.onTime.keys()].filter((start) => !before.onTime.has(start));
    expect(newWindows.length).toBeGreaterThan(2);
    await waitFor("final updates for every new window", async () => (newWindows.every((s) => client.latest.get(s)?.final) ? true : undefined), 30_000);
    for (const start of newWindows) {
      const shown = client.latest.get(start)!;
      expect([Math.round(shown.revenue * 100), shown.orders]).toEqual([after.onTime.get(start)!.revenueCents, after.onTime.get(start)!.orders]);
    }
    const fresh = client.updates.slice(updatesBefore).filter((u) => newWindows.includes(u.windowStart));
    const partialThenFinal = newWindows.filter((s) => {
      const seq = fresh.filter((u) => u.windowStart === s).map((u) => u.final);
      return seq.includes(false) && seq.at(-1) === true;
    });
    expect(partialThenFinal.length).toBeGreaterThan(0);
    expect(fresh.every((u) => typeof u.final === "boolean" && u.aov === (u.orders ? Math.round((u.revenue / u.orders) * 100) / 100 : 0))).toBe(true);
  });
});
