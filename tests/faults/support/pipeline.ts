/**
 * What every fault scenario checks at its end, against the simulator's --truth: the lake holds every offset of the
 * topic exactly once and `orders` is the truth order for order (amounts to the cent); InfluxDB's windows (on time +
 * late) equal the truth's windows. Figures come back as numbers (lost, duplicated) as well as assertions, so a
 * scenario can report them.
 */
import { readFileSync } from "node:fs";
import { Kafka, logLevel } from "kafkajs";
import { expect } from "vitest";
import { windowEnvSchema, type InfluxConfig } from "../../../lib/contract/config.ts";
import { amountToCents, formatCents } from "../../../lib/contract/money.ts";
import { decodeOrder } from "../../../lib/contract/order.ts";
import { windowStartOf } from "../../../lib/contract/time.ts";
import { listLakeFiles } from "../../../workers/shared/lake-files.ts";
import { openLake } from "../../../workers/shared/lake-query.ts";
import { temporaryFiles } from "../../support/lake-worker.ts";
import { expectTotalsEqualTruth, hotPathSettled, hotPathTotals, sleep, sumOrders, TEST_WINDOW_ENV, TEST_WINDOW_MS, truthByWindow, type MinuteTotals, type WorkerProcess } from "../../support/workers.ts";

/** Log-end offset of every partition of `topic`. */
export async function topicEnds(bootstrap: string, topic = "orders"): Promise<Map<number, number>> {
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the lake's commit markers reach every partition's log-end offset; fails with the workers' output. */
export async function lakeCaughtUp(lakeDir: string, ends: Map<number, number>, workers: WorkerProcess[], timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { markers } = await listLakeFiles(lakeDir);
    if ([...ends].every(([partition, end]) => markers.get(partition)?.nextOffset === end)) return;
    if (Date.now() > deadline || (workers.length > 0 && workers.every((w) => w.child.exitCode !== null || w.child.signalCode !== null))) {
      const at = JSON.stringify(Object.fromEntries([...markers].map(([p, m]) => [p, m.nextOffset])));
      throw new Error(`the lake did not catch up to ${JSON.stringify(Object.fromEntries(ends))}: markers at ${at}\n${workers.map((w) => w.output.slice(-2000)).join("\n")}`);
    }
    await sleep(500);
  }
}

/** Truth orders by order_id: the amount as the lake prints it. */
function truthOrders(truthFiles: string[]): Map<string, string> {
  const orders = new Map<string, string>();
  for (const file of truthFiles) {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (!line) continue;
      const o = JSON.parse(line) as { order_id: string; amount: number };
      orders.set(o.order_id, formatCents(amountToCents(o.amount)));
    }
  }
  return orders;
}

export interface LakeCheck {
  /** Offsets of the topic compared plus truth orders compared. */
  rowsChecked: number;
  /** Offsets with no row plus truth orders missing from `orders` or with another amount. */
  lost: number;
  /** Rows beyond one per offset plus `orders` rows beyond one per order. */
  duplicated: number;
  invalidRows: number;
}

/**
 * The lake after a run: nothing past a commit marker, every offset of the topic one row (valid or invalid), `orders`
 * equal to the truth. `invalid` is how many offsets must be invalid rows (the simulator's malformed + skewed). Runs
 * while the lake worker may still compact, so temporary files are checked apart, once it has stopped
 * (expectNoTemporaryFiles).
 */
export async function checkLake(lakeDir: string, ends: Map<number, number>, truthFiles: string[], invalid: number): Promise<LakeCheck> {
  const listing = await listLakeFiles(lakeDir);
  expect(listing.files.filter((f) => f.lastOffset >= listing.markers.get(f.partition)!.nextOffset), "files past a commit marker").toEqual([]);
  const lake = await openLake(lakeDir, { timeoutMs: 120_000, maxRows: 2_000_000, refreshIntervalMs: 0 });
  try {
    const one = async (sql: string) => (await lake.query(sql)).rows[0]!.map(Number);
    const offsets = [...ends.values()].reduce((a, b) => a + b, 0);
    const [rows, distinct] = await one(`SELECT count(*), count(DISTINCT (kafka_partition, kafka_offset)) FROM
      (SELECT kafka_partition, kafka_offset FROM orders_raw UNION ALL SELECT kafka_partition, kafka_offset FROM orders_invalid)`);
    const [invalidRows] = await one("SELECT count(*) FROM orders_invalid");
    const truth = truthOrders(truthFiles);
    const orders = (await lake.query("SELECT order_id, CAST(amount AS VARCHAR) FROM orders")).rows as [string, string][];
    const seen = new Map<string, string>();
    let repeated = 0;
    for (const [id, amount] of orders) {
      if (seen.has(id)) repeated++;
      seen.set(id, amount);
    }
    const missing = [...truth].filter(([id, amount]) => seen.get(id) !== amount).length;
    const extra = [...seen.keys()].filter((id) => !truth.has(id)).length;
    const check = { rowsChecked: offsets + truth.size, lost: offsets - distinct! + missing, duplicated: rows! - distinct! + repeated + extra, invalidRows: invalidRows! };
    expect({ ...check, offsetsWithARow: distinct, invalidRows }).toEqual({ ...check, lost: 0, duplicated: 0, offsetsWithARow: offsets, invalidRows: invalid });
    return check;
  } finally {
    lake.close();
  }
}

/**
 * Nothing temporary left in the lake once every lake worker has stopped: a graceful stop waits for the file or merge
 * in flight, and a worker starting after a kill removes what the killed one left (lib/lake/recovery.ts). Checked
 * only then, because a running worker's compaction legitimately has a temporary file open.
 */
export function expectNoTemporaryFiles(lakeDir: string): void {
  expect(temporaryFiles(lakeDir), "temporary files left after the lake worker stopped").toEqual([]);
}

/** A copy of an order that reached its partition after the de-duplication horizon: the hot path counts it again. */
export interface ResentCopy {
  partition: number;
  offset: number;
  /** Offset of the copy of the same order the hot path counted before it. */
  countedOffset: number;
  orderId: string;
  windowStart: number;
  revenueCents: number;
}

/**
 * Every copy of an order that the hot path counts again because it reached its partition after the de-duplication
 * horizon (design.md "Windows": "Duplicates are caught within the horizon only; a re-send after it counts as late or
 * on-time in the hot path but as a duplicate in the lake"). Brute force over the topic, written from that rule rather
 * than taken from WindowEngine: per partition in offset order, valid records only (decoded as the workers decode
 * them), the clock is the largest event time so far; a counted record remembers its order id with seenAt = the clock
 * right after it; a later copy is a duplicate iff clock ≤ seenAt + horizon (horizon = WINDOW_SIZE + WATERMARK_DELAY)
 * when it arrives, else it counts and is remembered anew. Such a copy is rare but real: a late order that is the first
 * record of its partition sets the clock to its own old event time, and the next on-time record moves the clock far
 * past its horizon, so a re-send a few records later counts again (seed 93726 of the broker-restart scenario).
 * Idle advances are not in the log, so they are left out: the simulator re-sends one of its last 50 messages, far less
 * than IDLE_TIMEOUT apart at the scenarios' rates; if an idle advance ever fell between, InfluxDB would count one
 * order more than this expects and the check fails: it never passes wrongly.
 */
export async function resentBeyondHorizon(bootstrap: string, windowEnv: Record<string, string> = TEST_WINDOW_ENV, topic = "orders"): Promise<ResentCopy[]> {
  const windows = windowEnvSchema.parse(windowEnv);
  const horizonMs = windows.windowSizeMs + windows.watermarkDelayMs;
  const ends = await topicEnds(bootstrap, topic);
  const records = new Map<number, { offset: number; value: Buffer | null; timestamp: number }[]>();
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `horizon-oracle-${Date.now()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const next = new Map<number, number>();
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const list = records.get(batch.partition) ?? [];
        for (const m of batch.messages) list.push({ offset: Number(m.offset), value: m.value, timestamp: Number(m.timestamp) });
        records.set(batch.partition, list);
        next.set(batch.partition, Number(batch.lastOffset()) + 1);
      },
    });
    const deadline = Date.now() + 120_000;
    while (![...ends].every(([partition, end]) => end === 0 || (next.get(partition) ?? 0) >= end)) {
      if (Date.now() > deadline) throw new Error(`reading ${topic} for the horizon check timed out: at ${JSON.stringify(Object.fromEntries(next))} of ${JSON.stringify(Object.fromEntries(ends))}`);
      await sleep(200);
    }
  } finally {
    await consumer.disconnect();
  }
  const resent: ResentCopy[] = [];
  for (const [partition, list] of records) {
    list.sort((a, b) => a.offset - b.offset);
    let clock = -Infinity;
    const seen = new Map<string, { offset: number; seenAt: number }>();
    for (const { offset, value, timestamp } of list) {
      if (offset >= ends.get(partition)!) break;
      const decoded = decodeOrder(value, timestamp, windows.maxEventSkewMs);
      if (!decoded.ok) continue;
      const { orderId, eventTime, amount } = decoded.order;
      const earlier = seen.get(orderId);
      const duplicate = earlier !== undefined && clock <= earlier.seenAt + horizonMs;
      clock = Math.max(clock, eventTime);
      if (duplicate) continue;
      if (earlier) resent.push({ partition, offset, countedOffset: earlier.offset, orderId, windowStart: windowStartOf(eventTime, windows.windowSizeMs), revenueCents: amountToCents(amount) });
      seen.set(orderId, { offset, seenAt: clock });
    }
  }
  return resent;
}

export interface InfluxCheck {
  windowsChecked: number;
  ordersChecked: number;
  /** Copies counted again because they arrived after the de-duplication horizon ({@link resentBeyondHorizon}). */
  resentBeyondHorizon: number;
  windowsMissing: number;
  /** Orders the truth has and InfluxDB's windows lack, summed over windows. */
  ordersLost: number;
  /** Orders InfluxDB's windows count beyond the truth, summed over windows. */
  ordersDuplicated: number;
}

/**
 * Waits for InfluxDB to settle (every window final, the expected order count reached), then compares every window
 * with the truth plus the copies the hot path counts again after the de-duplication horizon (read off the topic at
 * `bootstrap`, {@link resentBeyondHorizon}; the lake check has no such allowance: the lake de-duplicates exactly).
 */
export async function checkInflux(influx: InfluxConfig, bootstrap: string, truthFiles: string[], workers: WorkerProcess[], timeoutMs = 240_000): Promise<InfluxCheck> {
  const truth = new Map<number, MinuteTotals>();
  const add = (start: number, revenueCents: number, orders: number) => {
    const sum = truth.get(start) ?? { revenueCents: 0, orders: 0 };
    truth.set(start, { revenueCents: sum.revenueCents + revenueCents, orders: sum.orders + orders });
  };
  for (const file of truthFiles) for (const [start, t] of truthByWindow(file, TEST_WINDOW_MS)) add(start, t.revenueCents, t.orders);
  const resent = await resentBeyondHorizon(bootstrap);
  for (const copy of resent) add(copy.windowStart, copy.revenueCents, 1);
  const totals = await hotPathSettled(influx, sumOrders(truth), workers, timeoutMs).catch(async (error: Error) => {
    // Say which windows differ, so a failure can be read without the database (the scenario drops it).
    const now = await hotPathTotals(influx, TEST_WINDOW_MS);
    const differing = [...new Set([...truth.keys(), ...now.onTime.keys()])]
      .sort((a, b) => a - b)
      .map((start) => ({ window: new Date(start).toISOString(), truth: truth.get(start)?.orders ?? 0, onTime: now.onTime.get(start)?.orders ?? 0, late: now.late.get(start)?.orders ?? 0 }))
      .filter((w) => w.truth !== w.onTime + w.late);
    throw new Error(`InfluxDB did not reach the truth (${resent.length} copies after the de-duplication horizon added: ${JSON.stringify(resent.slice(0, 12))}): ${now.openWindows} windows not final; orders ${sumOrders(now.onTime) + sumOrders(now.late)} of ${sumOrders(truth)}; differing windows: ${JSON.stringify(differing.slice(0, 12))}\n${error.message}`);
  });
  const windowsMissing = [...truth.keys()].filter((start) => !totals.onTime.has(start) && !totals.late.has(start)).length;
  let ordersLost = 0;
  let ordersDuplicated = 0;
  for (const [start, t] of truth) {
    const got = (totals.onTime.get(start)?.orders ?? 0) + (totals.late.get(start)?.orders ?? 0);
    ordersLost += Math.max(0, t.orders - got);
    ordersDuplicated += Math.max(0, got - t.orders);
  }
  expectTotalsEqualTruth(totals, truth);
  return { windowsChecked: truth.size, ordersChecked: sumOrders(truth), resentBeyondHorizon: resent.length, windowsMissing, ordersLost, ordersDuplicated };
}
