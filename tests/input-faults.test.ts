/**
 * Real-world input through both workers (issue 9): record batches in every
 * Kafka codec, produced by librdkafka's kcat as other producers send them;
 * records without a timestamp (-1); impossible calendar times and a leap
 * second; a repeated key; blank optional dimensions; amounts whose double sum
 * drifts; and producer headers on a dead letter. Each fault is asserted with its
 * exact figures in InfluxDB, the lake and the dead-letter topic.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import { Kafka, logLevel, type IHeaders, type Producer } from "kafkajs";
import { goldDayFiles } from "../lib/batch/daily-kpis.ts";
import { listLakeFiles } from "../workers/shared/lake-files.ts";
import { openLake, type Lake } from "../workers/shared/lake-query.ts";
import { influxQuery, seriesRows } from "../workers/shared/influxql.ts";
import { COMPRESSION_BY_NAME } from "../workers/shared/kafka.ts";
import { windowStartOf } from "../lib/contract/time.ts";
import { formatCents } from "../lib/contract/money.ts";
import { kcatRead, parseSummary, runScript, servicesEnv, tempDir } from "./support/processes.ts";
import { sharedKafka, type SharedKafka } from "./support/kafka.ts";
import { expectTotalsEqualTruth, hotPathSettled, TEST_WINDOW_ENV, TEST_WINDOW_MS, trackedWorker, waitFor, type MinuteTotals } from "./support/workers.ts";

const B = Date.parse("2026-11-20T23:59:00.000Z");
const CODECS = ["snappy", "lz4", "zstd"] as const;
const at = (ms: number) => new Date(B + ms).toISOString();

interface Valid {
  order: Record<string, unknown>;
  /** The cents the contract makes of the amount, written out by hand: the expected figures depend on no code under test. */
  cents: number;
  /** Event time, epoch ms, as the contract reads it. */
  eventTime: number;
}

const valid = (id: string, ms: number, amount: number, cents: number, extra: Record<string, unknown> = {}): Valid => ({
  order: { order_id: id, customer_id: `c-${id}`, country: "us", category: "coffee", channel: "web", amount, event_time: at(ms), ...extra },
  cents,
  eventTime: B + ms,
});

// Valid orders, in event-time order, by how they reach the broker.
const PLAIN = [valid("plain-1", 0, 1.005, 101), valid("plain-2", 1_000, 2.675, 268), valid("plain-3", 2_000, 0.125, 13)];
const BY_CODEC = {
  snappy: [valid("snappy-1", 10_000, 0.1, 10), valid("snappy-2", 10_500, 0.2, 20), valid("snappy-3", 11_000, 1.015, 102)],
  lz4: [valid("lz4-1", 20_000, 4.445, 445), valid("lz4-2", 20_500, 1.005, 101), valid("lz4-3", 21_000, 0.7, 70)],
  zstd: [valid("zstd-1", 30_000, 2.675, 268), valid("zstd-2", 30_500, 0.125, 13), valid("zstd-3", 31_000, 9.995, 1000)],
} as const;
/** Produced with record timestamp -1: the skew check has nothing to compare with and must not reject them. */
const NO_TIMESTAMP = [valid("nots-1", 40_000, 3.3, 330), valid("nots-2", 41_000, 0.015, 2)];
const BLANK_DIMS = valid("blank-1", 45_000, 5.555, 556, { country: "   ", category: "", channel: " ", customer_id: "" });
/** A leap second: read as 23:59:59.999, in the minute (and window) the producer meant. */
const LEAP = { ...valid("leap-1", 59_999, 1.125, 113), order: { ...valid("leap-1", 0, 1.125, 113).order, event_time: "2026-11-20T23:59:60Z" } };
const VALID: Valid[] = [...PLAIN, ...BY_CODEC.snappy, ...BY_CODEC.lz4, ...BY_CODEC.zstd, ...NO_TIMESTAMP, BLANK_DIMS, LEAP];

/** Invalid messages, with the dead-letter reason each must get. */
const TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const INVALID = [
  { id: "feb-30", text: JSON.stringify({ order_id: "feb-30", amount: 7, event_time: "2026-02-30T10:00:00Z" }), code: "invalid_field", reason: "event_time: day 30: February 2026 has 28 days" },
  { id: "minute-60", text: JSON.stringify({ order_id: "minute-60", amount: 7, event_time: "2026-11-20T10:60:00Z" }), code: "invalid_field", reason: "event_time: minute 60 is not 00-59" },
  { id: "hour-24", text: JSON.stringify({ order_id: "hour-24", amount: 7, event_time: "2026-11-20T24:00:00Z" }), code: "invalid_field", reason: "event_time: hour 24 is not 00-23" },
  { id: "month-13", text: JSON.stringify({ order_id: "month-13", amount: 7, event_time: "2026-13-01T00:00:00+01:00" }), code: "invalid_field", reason: "event_time: month 13 is not 01-12" },
  { id: "dup-key", text: `{"order_id":"dup-key","amount":2,"amount":2000,"event_time":"${at(46_000)}"}`, code: "duplicate_key", reason: 'key "amount" appears twice in one object' },
] as const;

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

/** Produces `lines` (key TAB value) with kcat in one compressed batch per partition, idempotently (no copy from a retry). */
function kcatProduce(bootstrap: string, topic: string, codec: string, lines: string[]): void {
  const result = spawnSync("kcat", ["-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-X", "enable.idempotence=true", "-X", `compression.codec=${codec}`, "-X", "linger.ms=200", "-X", "batch.num.messages=1000"], {
    input: lines.join("\n") + "\n",
    encoding: "utf8",
    timeout: 30_000,
  });
  if (result.status !== 0) throw new Error(`kcat -P (${codec}) failed (${result.status}): ${result.stderr}`);
}

/** Counts the record batches kafkajs decompresses, by codec, while `read` runs in this process. */
async function countDecompressed(read: () => Promise<void>): Promise<Record<string, number>> {
  const { CompressionCodecs } = createRequire(import.meta.url)("kafkajs") as typeof import("kafkajs");
  const counts: Record<string, number> = {};
  const originals = new Map<number, () => unknown>();
  for (const [name, type] of Object.entries(COMPRESSION_BY_NAME)) {
    if (name === "none") continue;
    const original = CompressionCodecs[type as keyof typeof CompressionCodecs];
    originals.set(type, original);
    CompressionCodecs[type as keyof typeof CompressionCodecs] = () => {
      const codec = original() as { compress: unknown; decompress: (b: Buffer) => Promise<Buffer> };
      return { ...codec, decompress: (b: Buffer) => ((counts[name] = (counts[name] ?? 0) + 1), codec.decompress(b)) };
    };
  }
  try {
    await read();
  } finally {
    for (const [type, original] of originals) CompressionCodecs[type as keyof typeof CompressionCodecs] = original;
  }
  return counts;
}

/** Every message of a topic from the beginning, with a kafkajs consumer. */
async function readTopic(bootstrap: string, topic: string, expected: number): Promise<{ value: string; headers: IHeaders }[]> {
  const consumer = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).consumer({ groupId: `reader-${topic}-${Date.now()}` });
  await consumer.connect();
  const messages: { value: string; headers: IHeaders }[] = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void messages.push({ value: String(message.value), headers: message.headers ?? {} }) });
    await waitFor(`${expected} messages on ${topic}`, async () => (messages.length >= expected ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 500)); // surplus copies would show up now
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

describe("real-world input through both workers", () => {
  let cluster: SharedKafka;
  let dir: string;
  let producer: Producer;

  beforeAll(async () => {
    dir = tempDir("input-faults");
    cluster = await sharedKafka("input-faults", { orders: 2, extra: Object.fromEntries(CODECS.map((codec) => [`sim-${codec}`, 1])) }, cleanup);
    // Idempotent producers: a retried send on a busy machine must not put a second copy in the log (the lake keeps every offset).
    producer = new Kafka({ brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    cleanup.push(() => producer.disconnect());
  });

  it("reads Snappy, LZ4 and ZSTD batches from kcat, records without a timestamp, strict times, repeated keys, blank dimensions and drifting amounts, exactly", async () => {
    const line = (v: Valid) => `${String(v.order.customer_id ?? v.order.order_id)}\t${JSON.stringify(v.order)}`;
    // Plain messages first: a batch the consumer cannot read used to stop the partition, these included.
    await producer.send({ topic: cluster.topic, messages: PLAIN.map((v) => ({ key: String(v.order.customer_id), value: JSON.stringify(v.order) })) });
    for (const [codec, orders] of Object.entries(BY_CODEC)) kcatProduce(cluster.bootstrap, cluster.topic, codec, orders.map(line));
    await producer.send({ topic: cluster.topic, messages: NO_TIMESTAMP.map((v) => ({ key: String(v.order.customer_id), value: JSON.stringify(v.order), timestamp: "-1" })) });
    await producer.send({
      topic: cluster.topic,
      compression: COMPRESSION_BY_NAME.gzip,
      messages: [
        ...INVALID.filter((m) => m.id !== "dup-key").map((m) => ({ key: m.id, value: m.text })),
        { key: BLANK_DIMS.order.order_id as string, value: JSON.stringify(BLANK_DIMS.order) },
        { key: "dup-key", value: INVALID.find((m) => m.id === "dup-key")!.text, headers: { traceparent: TRACE, "x-source": "pos-7" } },
        { key: "c-leap", value: JSON.stringify(LEAP.order) },
      ],
    });
    // The broker really holds records without a timestamp (kcat prints -1 for them).
    const timestamps = spawnSync("kcat", ["-b", cluster.bootstrap, "-t", cluster.topic, "-C", "-e", "-q", "-o", "beginning", "-f", "%T %k\\n"], { encoding: "utf8", timeout: 30_000 });
    expect(timestamps.stdout.split("\n").filter((l) => l.startsWith("-1 ")).map((l) => l.slice(3)).sort()).toEqual(["c-nots-1", "c-nots-2"]);

    const shared = servicesEnv();
    const influx = { version: 1 as const, url: shared.INFLUX_URL!, database: `input_faults_${Date.now()}` };
    const lakeDir = join(dir, "lake");
    const env = { ...cluster.env, INFLUX_URL: influx.url, INFLUX_DB: influx.database, LAKE_DIR: lakeDir, LAKE_ROTATE_AGE: "1s", ...TEST_WINDOW_ENV };
    const metrics = trackedWorker(cleanup, "workers/metrics.ts", env);
    const lakeWorker = trackedWorker(cleanup, "workers/lake.ts", env);

    // InfluxDB: every valid order in its window, to the cent; nothing late, every window final.
    const expected = new Map<number, MinuteTotals>();
    for (const v of VALID) {
      const start = windowStartOf(v.eventTime, TEST_WINDOW_MS);
      const t = expected.get(start) ?? { revenueCents: 0, orders: 0 };
      expected.set(start, { revenueCents: t.revenueCents + v.cents, orders: t.orders + 1 });
    }
    const totals = await hotPathSettled(influx, VALID.length, [metrics]);
    expectTotalsEqualTruth(totals, expected);
    expect([...totals.late.values()].reduce((s, t) => s + t.orders, 0)).toBe(0);
    const totalCents = VALID.reduce((s, v) => s + v.cents, 0);
    expect(totalCents).toBe(3412);
    expect([...totals.onTime.values()].reduce((s, t) => s + t.revenueCents, 0)).toBe(totalCents);
    // The leap second counts in the window ending at midnight, the blank dimensions as UNKNOWN.
    expect(totals.onTime.get(B + 50_000)).toEqual({ revenueCents: 113, orders: 1 });
    const unknown = seriesRows(await influxQuery(influx, `SELECT sum("orders") AS orders, sum("revenue") AS revenue FROM "order_window_by_country" WHERE "country" = 'UNKNOWN'`));
    expect(unknown.map((r) => [Number(r.orders), Number(r.revenue)])).toEqual([[1, 5.56]]);
    const byCategory = seriesRows(await influxQuery(influx, `SELECT sum("orders") AS orders FROM "order_window_by_category" WHERE "category" = 'UNKNOWN'`));
    expect(byCategory.map((r) => Number(r.orders))).toEqual([1]);
    // A blank customer is no customer: the window of nots-1, nots-2 and blank-1 has 3 orders from 2 customers.
    const window40 = seriesRows(await influxQuery(influx, `SELECT sum("orders") AS orders, sum("customers") AS customers FROM "order_window" WHERE time = ${(B + 40_000) * 1_000_000}`));
    expect(window40.map((r) => [Number(r.orders), Number(r.customers)])).toEqual([[3, 2]]);
    expect(metrics.output).not.toMatch(/the Kafka consumer stopped|not implemented/i);

    // Dead letters: one per invalid message, with the true reason and the producer's own headers kept.
    const dead = await readTopic(cluster.bootstrap, cluster.dlqTopic, INVALID.length);
    const reasons = dead.map((d) => [JSON.parse(d.value).order_id, String(d.headers["orderpulse-reject-code"]), String(d.headers["orderpulse-reject-reason"])]).sort();
    expect(reasons).toEqual(INVALID.map((m) => [m.id, m.code, m.reason]).sort());
    const traced = dead.find((d) => JSON.parse(d.value).order_id === "dup-key")!;
    expect(String(traced.headers.traceparent)).toBe(TRACE);
    expect(String(traced.headers["x-source"])).toBe("pos-7");

    // The lake: the same orders and the same money, the invalid ones with their reasons.
    await waitFor("the lake to hold every offset", async () => {
      const { markers } = await listLakeFiles(lakeDir);
      const next = [...markers.values()].reduce((s, m) => s + m.nextOffset, 0);
      return next === VALID.length + INVALID.length ? true : undefined;
    }, 60_000).catch((error: Error) => {
      // What the log holds, to tell a lake that missed offsets from a log holding more than was sent.
      const log = spawnSync("kcat", ["-b", cluster.bootstrap, "-t", cluster.topic, "-C", "-e", "-q", "-o", "beginning", "-f", "%p:%o %k\\n"], { encoding: "utf8", timeout: 30_000 });
      throw new Error(`${error.message}\nlog (partition:offset key):\n${log.stdout}\n${lakeWorker.output.slice(-3000)}`);
    });
    const lake: Lake = await openLake(lakeDir, { timeoutMs: 10_000, maxRows: 1_000, refreshIntervalMs: 0 });
    cleanup.push(async () => lake.close());
    expect((await lake.query("SELECT count(*), sum(amount), sum(amount_cents) FROM orders")).rows).toEqual([[String(VALID.length), formatCents(totalCents), String(totalCents)]]);
    const sorted = (rows: unknown[][]) => rows.map((r) => JSON.stringify(r)).sort();
    expect(sorted((await lake.query("SELECT order_id, amount FROM orders")).rows)).toEqual(sorted(VALID.map((v) => [v.order.order_id, formatCents(v.cents)])));
    expect((await lake.query("SELECT revenue FROM daily_kpis")).rows).toEqual([[formatCents(totalCents)]]);
    expect((await lake.query("SELECT customer_id, country, category, channel FROM orders WHERE order_id = 'blank-1'")).rows).toEqual([[null, "UNKNOWN", "UNKNOWN", "UNKNOWN"]]);
    expect((await lake.query("SELECT CAST(event_time AS VARCHAR), event_date, event_hour FROM orders WHERE order_id = 'leap-1'")).rows).toEqual([["2026-11-20 23:59:59.999", "2026-11-20", 23]]);
    expect(sorted((await lake.query("SELECT reason_code, reason FROM orders_invalid")).rows)).toEqual(sorted(INVALID.map((m) => [m.code, m.reason])));
    expect(lakeWorker.output).not.toMatch(/the Kafka consumer stopped|not implemented/i);

    // Gold (batch:daily) and reconcile (the lake replayed against InfluxDB): the same figure, to the cent.
    const daily = await runScript("workers/cli/batch-daily.ts", ["--date", "2026-11-20"], env);
    expect(daily.code, daily.stdout + daily.stderr).toBe(0);
    const gold = await DuckDBInstance.create(":memory:");
    const goldDb = await gold.connect();
    const goldFile = join(lakeDir, goldDayFiles("daily_kpis", "2026-11-20").parquet);
    expect((await goldDb.runAndReadAll(`SELECT orders, CAST(revenue AS VARCHAR) FROM read_parquet('${goldFile}')`)).getRowsJson()).toEqual([[String(VALID.length), formatCents(totalCents)]]);
    goldDb.closeSync();
    gold.closeSync();
    const reconcile = await runScript("workers/cli/reconcile.ts", ["--from", "2026-11-20T23:00:00Z", "--to", "2026-11-21T00:00:00Z"], env);
    expect(reconcile.code, reconcile.stdout + reconcile.stderr).toBe(0);
    expect(reconcile.stdout).toMatch(/summary phase=check status=equal /);
    await metrics.kill("SIGTERM");
    await lakeWorker.kill("SIGTERM");
  });

  it("simulator --compression writes batches in that codec, which kcat and kafkajs both read", async () => {
    for (const codec of CODECS) {
      const topic = cluster.extra(`sim-${codec}`);
      const run = await runScript("workers/simulator.ts", ["--rate", "0", "--count", "400", "--seed", "3", "--compression", codec, "--topic", topic], cluster.env);
      expect(run.code, run.stderr).toBe(0);
      expect(parseSummary(run.stdout).sent).toBe(400);
      expect(kcatRead(cluster.bootstrap, topic)).toHaveLength(400);
      let read: { value: string }[] = [];
      const counts = await countDecompressed(async () => void (read = await readTopic(cluster.bootstrap, topic, 400)));
      expect(read).toHaveLength(400);
      // Only this codec's batches were on the wire.
      expect(Object.keys(counts)).toEqual([codec]);
    }
    const bad = await runScript("workers/simulator.ts", ["--count", "1", "--compression", "brotli"], cluster.env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--compression.*brotli.*choices/s);
  });
});
