import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sharedKafka, type SharedKafka } from "./support/kafka.ts";
import { parseSummary, runScript, servicesEnv, tempDir } from "./support/processes.ts";
import { dumpHotPath, expectTotalsEqualTruth, hotPathSettled, readDeadLetters, sleep, sumOrders, TEST_WINDOW_ENV, TEST_WINDOW_MS, truthByWindow, WorkerProcess } from "./support/workers.ts";

const WINDOW_MS = TEST_WINDOW_MS;
const WINDOW_ENV = TEST_WINDOW_ENV;
const CHAOS = ["--duplicates", "0.04", "--late", "0.03", "--out-of-order", "0.15", "--malformed", "0.03", "--nulls", "0.05", "--skew", "0.02"];
const START = "2026-11-20T09:00:00.000Z";
const workers: WorkerProcess[] = [];
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null) await w.kill("SIGKILL");
  for (const step of cleanup.reverse()) await step();
});

/** A fresh topic set and group prefix on the shared broker: identical streams get identical partitions and offsets. */
const broker = (): Promise<SharedKafka> => sharedKafka("metrics", { orders: 4, dlq: 2, metrics: 2 }, cleanup);

function influxFor(db: string) {
  const env = servicesEnv();
  return { config: { version: 1 as const, url: env.INFLUX_URL!, database: db }, env: { INFLUX_URL: env.INFLUX_URL, INFLUX_DB: db } };
}

function startWorker(script: string, env: Record<string, string | undefined>): WorkerProcess {
  const w = new WorkerProcess(script, env);
  workers.push(w);
  return w;
}

/** Produces the same seeded stream (byte-identical, same partitions and offsets) to a broker. */
async function simulate(b: SharedKafka, truthFile: string, count = 6_000) {
  const run = await runScript("workers/simulator.ts", ["--rate", "0", "--sim-rate", "20", "--count", String(count), "--seed", "11", "--start", START, "--truth", truthFile, ...CHAOS], { ...b.env, ...WINDOW_ENV });
  expect(run.code, run.stderr).toBe(0);
  return parseSummary(run.stdout);
}

describe("metrics worker (Apache Kafka, real InfluxDB)", () => {
  it("matches the truth for every window: on-time + late = truth, duplicates and dead letters exact", async () => {
    const b = await broker();
    const dir = tempDir("metrics");
    const truthFile = join(dir, "truth.ndjson");
    const summary = await simulate(b, truthFile);
    const influx = influxFor(`hot_truth_${Date.now()}`);
    const worker = startWorker("workers/metrics.ts", { ...b.env, ...influx.env, ...WINDOW_ENV, HEALTH_PORT: "0" });

    const truth = truthByWindow(truthFile, WINDOW_MS);
    const expectedOrders = sumOrders(truth);
    const totals = await hotPathSettled(influx.config, expectedOrders, [worker]);
    expect(totals.onTime.size).toBeGreaterThan(20);
    expectTotalsEqualTruth(totals, truth);
    for (const start of totals.onTime.keys()) expect(truth.has(start), `window ${start} has no truth`).toBe(true);
    expect(sumOrders(totals.late)).toBeGreaterThan(0);
    expect(sumOrders(totals.duplicate)).toBe(summary.duplicate);

    // The dead-letter topic holds exactly the malformed and skewed messages (distinct source offsets).
    const { sources, reasons } = await readDeadLetters(b.bootstrap, summary.malformed! + summary.skewed!, b.dlqTopic);
    expect(sources.size).toBe(summary.malformed! + summary.skewed!);
    expect(reasons).toContain("event_time_skew");
    expect(await worker.kill("SIGTERM")).toBe(0);
    expect(worker.output).not.toMatch(/OFFSET GAP|commit failed/);
  });

  it("kill -9 at random moments, restarting each time: InfluxDB equals an uninterrupted run", async () => {
    const dir = tempDir("metrics-kill");
    const [a, b] = [await broker(), await broker()];
    const summaryA = await simulate(a, join(dir, "a.ndjson"), 12_000);
    const summaryB = await simulate(b, join(dir, "b.ndjson"), 12_000);
    expect(summaryB).toMatchObject({ sent: summaryA.sent, duplicate: summaryA.duplicate });
    const expectedOrders = sumOrders(truthByWindow(join(dir, "a.ndjson"), WINDOW_MS));

    const reference = influxFor(`hot_ref_${Date.now()}`);
    const uninterrupted = startWorker("workers/metrics.ts", { ...a.env, ...reference.env, ...WINDOW_ENV });
    await hotPathSettled(reference.config, expectedOrders, [uninterrupted]);
    await uninterrupted.kill("SIGTERM");

    const killed = influxFor(`hot_kill_${Date.now()}`);
    const env = { ...b.env, ...killed.env, ...WINDOW_ENV };
    for (const delay of [1_500, 3_000, 4_500, 6_000].map((d) => d + Math.floor(Math.random() * 1_500))) {
      const w = startWorker("workers/metrics.ts", env);
      await w.waitForOutput(/partition ready/, 60_000);
      await sleep(delay);
      expect(await w.kill("SIGKILL")).toBe(null);
    }
    const last = startWorker("workers/metrics.ts", env);
    await hotPathSettled(killed.config, expectedOrders, [last]);
    await last.kill("SIGTERM");
    expect(last.output).toMatch(/"resumed":true/);

    expect(await dumpHotPath(killed.config)).toEqual(await dumpHotPath(reference.config));
  });
});
