/**
 * Fault (e): 10,000 fuzzed messages (random bytes, deep JSON, huge strings, wrong types, NaN/Infinity, far-future
 * and pre-1970 times, unicode keys, invalid UTF-8, repeated keys, tombstones) interleaved with the simulator's valid
 * orders, in every record-batch codec: none, gzip, snappy, lz4 and zstd from kafkajs, and snappy, lz4 and zstd from
 * librdkafka's kcat. Both workers must stay up (0 crashes, 0 consumer restarts); every fuzzed message must be in the
 * metrics worker's dead-letter topic and in the lake's orders_invalid, once, with a reason the contract allows; the
 * valid neighbours must be counted exactly (lake and InfluxDB equal the truth).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Kafka, logLevel, type Message } from "kafkajs";
import { DLQ_HEADERS } from "../../lib/contract/dead-letter.ts";
import { Prng } from "../../lib/sim/prng.ts";
import { COMPRESSION_BY_NAME } from "../../workers/shared/kafka.ts";
import { openLake } from "../../workers/shared/lake-query.ts";
import { sleep, waitFor } from "../support/workers.ts";
import { faultSeed, recordFigures } from "./support/figures.ts";
import { Fuzzer, type FuzzCase } from "./support/fuzz.ts";
import { checkInflux, checkLake, expectNoTemporaryFiles, lakeCaughtUp, topicEnds } from "./support/pipeline.ts";
import { alive, expectAlive, FaultWorld, stopGracefully } from "./support/scenario.ts";

const FUZZED = 10_000;
const BATCH = 100;
const SEED = faultSeed();
const world = new FaultWorld("fuzz");
afterAll(() => world.close());

type Route = { client: "kafkajs"; codec: keyof typeof COMPRESSION_BY_NAME } | { client: "kcat"; codec: "snappy" | "lz4" | "zstd" };
const ROUTES: Route[] = [
  ...(["none", "gzip", "snappy", "lz4", "zstd"] as const).map((codec) => ({ client: "kafkajs" as const, codec })),
  ...(["snappy", "lz4", "zstd"] as const).map((codec) => ({ client: "kcat" as const, codec })),
];
const routeName = (r: Route) => `${r.client}:${r.codec}`;

/** kcat reads key TAB value lines: only values without a newline or NUL, keys without a tab, no headers, no tombstones. */
const kcatSafe = (c: FuzzCase) => c.value !== null && c.value.length > 0 && !c.value.includes(0x0a) && !c.value.includes(0x00) && !c.headers;

function kcatProduce(bootstrap: string, codec: string, cases: FuzzCase[]): void {
  const input = Buffer.concat(cases.flatMap((c) => [Buffer.from(`${c.key}\t`), c.value!, Buffer.from("\n")]));
  const result = spawnSync("kcat", ["-P", "-b", bootstrap, "-t", "orders", "-K", "\t", "-X", `compression.codec=${codec}`, "-X", "linger.ms=50", "-X", "message.max.bytes=1000000"], { input, timeout: 60_000 });
  if (result.status !== 0) throw new Error(`kcat -P (${codec}) failed (${result.status}): ${result.stderr}`);
}

/** Partition and offset of every record on `orders`, by key, as kcat (an independent client) reads them. */
function offsetsByKey(bootstrap: string): Map<string, string> {
  const result = spawnSync("kcat", ["-b", bootstrap, "-t", "orders", "-C", "-e", "-q", "-o", "beginning", "-f", "%p/%o %k\\n"], { encoding: "utf8", maxBuffer: 512 * 1024 * 1024, timeout: 120_000 });
  if (result.status !== 0) throw new Error(`kcat -C failed (${result.status}): ${result.stderr}`);
  const byKey = new Map<string, string>();
  for (const line of result.stdout.split("\n")) {
    const [at, key] = line.split(" ");
    if (key?.startsWith("fuzz-")) byKey.set(key, at!);
  }
  return byKey;
}

describe("fault (e): fuzzed messages", () => {
  it(`${FUZZED} fuzzed messages in every codec: 0 crashes, each dead-lettered with a reason, valid neighbours exact (seed ${SEED})`, async () => {
    const started = Date.now();
    await world.startBroker();
    const metrics = world.worker("metrics");
    const lake = world.worker("lake");
    await metrics.waitForOutput(/metrics worker running/, 90_000);
    await lake.waitForOutput(/lake worker running/, 90_000);

    // Valid neighbours: the simulator's orders (no invalid ones of its own), produced while the fuzzer produces.
    const truth = join(world.dir, "truth.ndjson");
    const simulation = world.simulate(["--rate", "400", "--count", "6000", "--seed", String(SEED), "--truth", truth, "--duplicates", "0.02", "--nulls", "0.05", "--out-of-order", "0.05"], 180_000);
    const fuzzer = new Fuzzer(SEED, Date.now());
    const prng = new Prng(SEED + 7);
    const cases = Array.from({ length: FUZZED }, (_, i) => fuzzer.next(i));
    const byKey = new Map(cases.map((c) => [c.key, c]));
    const producer = new Kafka({ brokers: [world.broker.bootstrap], logLevel: logLevel.NOTHING }).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const perRoute = new Map<string, number>();
    try {
      for (let i = 0; i < FUZZED; i += BATCH) {
        const batch = cases.slice(i, i + BATCH);
        const route = ROUTES[(i / BATCH) % ROUTES.length]!;
        const viaKcat = route.client === "kcat" ? batch.filter(kcatSafe) : [];
        const viaKafkajs = batch.filter((c) => !viaKcat.includes(c));
        if (viaKcat.length > 0) kcatProduce(world.broker.bootstrap, route.codec, viaKcat);
        const codec = route.client === "kafkajs" ? route.codec : "gzip";
        const messages: Message[] = viaKafkajs.map((c) => ({ key: c.key, value: c.value, ...(c.headers ? { headers: c.headers } : {}) }));
        if (messages.length > 0) await producer.send({ topic: "orders", messages, compression: COMPRESSION_BY_NAME[codec], acks: -1 });
        perRoute.set(routeName(route), (perRoute.get(routeName(route)) ?? 0) + viaKcat.length);
        perRoute.set(`kafkajs:${codec}`, (perRoute.get(`kafkajs:${codec}`) ?? 0) + viaKafkajs.length);
        await sleep(prng.int(0, 60));
      }
    } finally {
      await producer.disconnect();
    }
    const summary = await simulation;
    expect(summary.malformed ?? 0).toBe(0);

    const ends = await topicEnds(world.broker.bootstrap);
    expect([...ends.values()].reduce((a, b) => a + b, 0)).toBe(summary.sent! + FUZZED);
    const at = offsetsByKey(world.broker.bootstrap);
    expect(at.size).toBe(FUZZED);
    const keyAt = new Map([...at].map(([key, where]) => [where, key]));

    // The metrics worker's dead-letter topic: every fuzzed record once, its key and source offset, a code it allows, a reason.
    const dlqConsumer = new Kafka({ brokers: [world.broker.bootstrap], logLevel: logLevel.NOTHING }).consumer({ groupId: `fuzz-dlq-${Date.now()}` });
    const dead: { key: string; source: string; code: string; reason: string }[] = [];
    await dlqConsumer.connect();
    try {
      await dlqConsumer.subscribe({ topic: "orders.dlq", fromBeginning: true });
      await dlqConsumer.run({
        eachMessage: async ({ message }) => {
          const h = message.headers ?? {};
          dead.push({ key: String(message.key), source: `${String(h[DLQ_HEADERS.partition])}/${String(h[DLQ_HEADERS.offset])}`, code: String(h[DLQ_HEADERS.code]), reason: String(h[DLQ_HEADERS.reason] ?? "") });
        },
      });
      await waitFor(`${FUZZED} dead letters`, async () => {
        expectAlive(metrics, "the metrics worker");
        return dead.length >= FUZZED ? true : undefined;
      }, 240_000);
      await sleep(2_000); // surplus copies would show now
    } finally {
      await dlqConsumer.disconnect();
    }
    const deadProblems: string[] = [];
    for (const d of dead) {
      const c = byKey.get(d.key);
      if (!c) deadProblems.push(`${d.key}: not a fuzzed message`);
      else if (!c.codes.includes(d.code as never)) deadProblems.push(`${d.key} (${c.category}): code ${d.code}, expected ${c.codes.join("|")}: ${d.reason}`);
      else if (d.reason.length === 0) deadProblems.push(`${d.key}: no reason`);
      else if (keyAt.get(d.source) !== d.key) deadProblems.push(`${d.key}: source ${d.source} holds ${keyAt.get(d.source)}`);
    }
    expect(deadProblems.slice(0, 20)).toEqual([]);
    const dlqDistinct = new Set(dead.map((d) => d.key)).size;
    expect({ dlq: dead.length, distinct: dlqDistinct }).toEqual({ dlq: FUZZED, distinct: FUZZED });

    // The lake: every offset once (checkLake), orders equal to the truth, and each fuzzed record an orders_invalid row with an allowed code.
    await lakeCaughtUp(world.lakeDir, ends, [lake]);
    const influx = await checkInflux(world.influx, world.broker.bootstrap, [truth], [metrics]);
    const checked = await checkLake(world.lakeDir, ends, [truth], FUZZED);
    const db = await openLake(world.lakeDir, { timeoutMs: 60_000, maxRows: 100_000, refreshIntervalMs: 0 });
    const invalid = (await db.query("SELECT kafka_partition, kafka_offset, reason_code, reason FROM orders_invalid")).rows as [number, string, string, string][];
    db.close();
    const lakeProblems: string[] = [];
    const categories: Record<string, number> = {};
    for (const [partition, offset, code, reason] of invalid) {
      const key = keyAt.get(`${partition}/${offset}`);
      const c = key === undefined ? undefined : byKey.get(key);
      if (!c) lakeProblems.push(`${partition}/${offset}: not a fuzzed record`);
      else if (!c.codes.includes(code as never)) lakeProblems.push(`${key} (${c.category}): code ${code}, expected ${c.codes.join("|")}: ${reason}`);
      else if (!reason) lakeProblems.push(`${key}: no reason`);
      else categories[c.category] = (categories[c.category] ?? 0) + 1;
    }
    expect(lakeProblems.slice(0, 20)).toEqual([]);
    expect(invalid).toHaveLength(FUZZED);

    // 0 crashes: both processes still the first ones, and their Kafka consumers never had to restart.
    expect(world.started).toHaveLength(2);
    const restarts = [metrics, lake].map((w) => (w.output.match(/the Kafka consumer stopped; restarting it/g) ?? []).length);
    expect(restarts).toEqual([0, 0]);
    const crashes = world.started.filter((w) => !alive(w)).length;
    expect(crashes).toBe(0);
    await stopGracefully(metrics, "the metrics worker");
    await stopGracefully(lake, "the lake worker");
    expectNoTemporaryFiles(world.lakeDir);
    recordFigures("e-fuzz", {
      seed: SEED,
      runs: world.started.length,
      faultsInjected: FUZZED,
      rowsChecked: checked.rowsChecked + dead.length + invalid.length + influx.windowsChecked,
      lost: checked.lost + influx.ordersLost + (FUZZED - dlqDistinct),
      duplicated: checked.duplicated + influx.ordersDuplicated + (dead.length - dlqDistinct),
      durationMs: Date.now() - started,
      details: { crashes, consumerRestarts: restarts, validNeighbours: summary.sent, byCategory: categories, byRoute: Object.fromEntries(perRoute), influxWindows: influx.windowsChecked },
    });
  });
});
