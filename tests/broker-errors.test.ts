/**
 * Kafka errors the workers must survive without losing or double-counting
 * anything, injected through the librdkafka mock cluster's `fail` command.
 * Why the mock and not Apache Kafka: a real broker cannot be made to answer a
 * chosen request with a chosen error code (INVALID_REQUEST to a SyncGroup,
 * MESSAGE_TOO_LARGE to a Produce, a refused OffsetCommit) on demand; the mock's
 * control channel can. Every other integration test runs on Apache Kafka. kafkajs stops a consumer for good after an error it deems
 * non-retriable, such as INVALID_REQUEST to a SyncGroup: the mock's answer
 * when a member's session ran out mid-rebalance (seen in CI with two metrics
 * workers). Each worker restarts its consumer in-process and replays from its
 * last commit; it exits only when restarts keep failing. Refused commits and
 * refused produce requests (dead letters, window values) are retried from the
 * last commit too.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openLake, type Lake } from "../workers/shared/lake-query.ts";
import { freePort } from "../scripts/free-port.ts";
import { controlBroker, startMockBroker, stopMockBroker } from "../scripts/services.ts";
import { CONSUMER_RESTARTS } from "../workers/shared/kafka.ts";
import { FeedClient } from "./support/feed-client.ts";
import { parseSummary, runScript, servicesEnv, tempDir } from "./support/processes.ts";
import { expectTotalsEqualTruth, hotPathSettled, readDeadLetters, sumOrders, TEST_WINDOW_ENV, TEST_WINDOW_MS, truthByWindow, waitFor, trackedWorker } from "./support/workers.ts";

const PRODUCE = 0;
const OFFSET_COMMIT = 8;
const SYNC_GROUP = 14;
const MESSAGE_TOO_LARGE = 10;
const INVALID_REQUEST = 42;
const EVENTS = 3000;
const RESTARTING = /the Kafka consumer stopped; restarting it/;

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

const worker = (script: string, env: Record<string, string | undefined>) => trackedWorker(cleanup, script, env);

/** A broker of its own holding a seeded stream (by default with malformed messages and duplicates), and the env to run workers on it. */
async function setUp(name: string, chaos = ["--duplicates", "0.02", "--malformed", "0.02"]) {
  const dir = tempDir(name);
  const broker = await startMockBroker({ dir: join(dir, "broker"), topics: { orders: 2, "orders.dlq": 1, "orders.metrics": 2 } });
  cleanup.push(() => stopMockBroker(broker));
  const truth = join(dir, "truth.ndjson");
  const produced = await runScript(
    "workers/simulator.ts",
    ["--rate", "0", "--sim-rate", "20", "--count", String(EVENTS), "--seed", "11", "--start", "2026-11-20T12:00:00Z", "--truth", truth, ...chaos],
    { KAFKA_BROKERS: broker.bootstrap, ...TEST_WINDOW_ENV },
  );
  expect(produced.code, produced.stderr).toBe(0);
  const influx = { version: 1 as const, url: servicesEnv().INFLUX_URL!, database: `${name.replaceAll("-", "_")}_${Date.now()}` };
  const env = { KAFKA_BROKERS: broker.bootstrap, INFLUX_URL: influx.url, INFLUX_DB: influx.database, LAKE_DIR: join(dir, "lake"), LAKE_ROTATE_AGE: "1s", ...TEST_WINDOW_ENV };
  const fail = async (apiKey: number, errorCode: number, count: number) => expect(await controlBroker(broker.control, `fail ${apiKey} ${errorCode} ${count}`)).toBe("ok");
  return { broker, influx, env, fail, summary: parseSummary(produced.stdout), expected: truthByWindow(truth, TEST_WINDOW_MS) };
}

describe("Kafka errors (injected on the librdkafka mock cluster)", () => {
  it("a consumer kafkajs gives up on is restarted in-process by the metrics, lake and feed workers, and nothing is lost", async () => {
    const { env, influx, fail, summary, expected } = await setUp("consumer-restart");
    const failNextSyncGroups = (count: number) => fail(SYNC_GROUP, INVALID_REQUEST, count);

    // Metrics: its first SyncGroup fails; it restarts, rejoins and every window equals the truth.
    await failNextSyncGroups(1);
    const metrics = worker("workers/metrics.ts", env);
    await metrics.waitForOutput(RESTARTING);
    const totals = await hotPathSettled(influx, sumOrders(expected), [metrics]);
    expectTotalsEqualTruth(totals, expected);

    // Feed: the same, and a browser then sees every window final with the truth's totals.
    await failNextSyncGroups(1);
    const feedPort = await freePort();
    const feed = worker("workers/feed.ts", { ...env, FEED_PORT: String(feedPort) });
    await feed.waitForOutput(RESTARTING);
    const client = new FeedClient(feedPort);
    cleanup.push(async () => client.close());
    await waitFor("the feed to show every window final", async () => {
      if (feed.child.exitCode !== null) throw new Error(`the worker exited:\n${feed.output.slice(-1500)}`);
      return client.showsFinal(totals.onTime) ? true : undefined;
    }, 60_000);

    // Lake: every valid message lands exactly once.
    await failNextSyncGroups(1);
    const lakeWorker = worker("workers/lake.ts", env);
    await lakeWorker.waitForOutput(RESTARTING);
    const lake: Lake = await openLake(env.LAKE_DIR, { timeoutMs: 30_000, maxRows: 10, refreshIntervalMs: 0 });
    cleanup.push(async () => lake.close());
    const valid = EVENTS - summary.malformed! - summary.skewed!;
    const counts = await waitFor("every valid message in the lake", async () => {
      if (lakeWorker.child.exitCode !== null) throw new Error(`the worker exited:\n${lakeWorker.output.slice(-1500)}`);
      const row = (await lake.query("SELECT count(*), count(DISTINCT (kafka_partition, kafka_offset)) FROM orders_raw")).rows[0]!.map(Number);
      return row[0]! >= valid ? row : undefined;
    }, 90_000);
    expect(counts).toEqual([valid, valid]);

    for (const w of [metrics, feed, lakeWorker]) expect(await w.kill("SIGTERM"), w.output.slice(-1500)).toBe(0);
  });

  it("a worker whose consumer keeps stopping exits non-zero, saying why", async () => {
    const { env, fail } = await setUp("restart-give-up");
    await fail(SYNC_GROUP, INVALID_REQUEST, CONSUMER_RESTARTS + 1);
    const metrics = worker("workers/metrics.ts", env);
    expect(await metrics.exited, metrics.output.slice(-1500)).toBe(1);
    expect(metrics.output.match(new RegExp(RESTARTING, "g"))).toHaveLength(CONSUMER_RESTARTS);
    expect(metrics.output).toMatch(/stopped 6 times within 5 min; last error: .*malformed/);
  });

  it("refused commits and refused window-value sends: the metrics worker retries from its last commit, every window equals the truth", async () => {
    // No invalid messages, so the first produce requests are the window values for the metrics topic, not dead letters.
    const { env, influx, fail, expected } = await setUp("refused-requests", ["--duplicates", "0.02"]);
    await fail(OFFSET_COMMIT, INVALID_REQUEST, 3);
    await fail(PRODUCE, MESSAGE_TOO_LARGE, 2);
    const metrics = worker("workers/metrics.ts", env);
    expectTotalsEqualTruth(await hotPathSettled(influx, sumOrders(expected), [metrics]), expected);
    expect(metrics.output).toMatch(/publishing window values failed; retrying next cycle/);
    expect(metrics.output).toMatch(/"reason":"commit failed".*engines rebuilt from the last commit/);
    expect(await metrics.kill("SIGTERM"), metrics.output.slice(-1500)).toBe(0);
  });

  it("a refused dead-letter send: nothing is committed past it, and every dead letter arrives", async () => {
    const { broker, env, influx, fail, summary, expected } = await setUp("refused-dead-letter");
    await fail(PRODUCE, MESSAGE_TOO_LARGE, 1);
    const metrics = worker("workers/metrics.ts", env);
    expectTotalsEqualTruth(await hotPathSettled(influx, sumOrders(expected), [metrics]), expected);
    // The worker does not wait for dead letters' acknowledgements; a refused one sends it back to its commits.
    expect(metrics.output).toMatch(/dead-letter send failed; replaying from the last commit.*\n.*"reason":"dead-letter send failed".*engines rebuilt from the last commit/);
    const { sources } = await readDeadLetters(broker.bootstrap, summary.malformed! + summary.skewed!);
    expect(sources.size).toBe(summary.malformed! + summary.skewed!);
    expect(await metrics.kill("SIGTERM"), metrics.output.slice(-1500)).toBe(0);
  });
});
