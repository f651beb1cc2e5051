/**
 * What every fault scenario checks at its end, against the simulator's --truth: the lake holds every offset of the
 * topic exactly once and `orders` is the truth order for order (amounts to the cent); InfluxDB's windows (on time +
 * late) equal the truth's windows. Figures come back as numbers (lost, duplicated) as well as assertions, so a
 * scenario can report them.
 */
import { readFileSync } from "node:fs";
import { Kafka, logLevel } from "kafkajs";
import { expect } from "vitest";
import type { InfluxConfig } from "../../../lib/contract/config.ts";
import { amountToCents, formatCents } from "../../../lib/contract/money.ts";
import { listLakeFiles } from "../../../workers/shared/lake-files.ts";
import { openLake } from "../../../workers/shared/lake-query.ts";
import { temporaryFiles } from "../../support/lake-worker.ts";
import { expectTotalsEqualTruth, hotPathSettled, hotPathTotals, sleep, sumOrders, TEST_WINDOW_MS, truthByWindow, type MinuteTotals, type WorkerProcess } from "../../support/workers.ts";

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
 * The lake after a run: nothing past a commit marker, nothing temporary, every offset of the topic one row (valid or
 * invalid), `orders` equal to the truth. `invalid` is how many offsets must be invalid rows (the simulator's malformed + skewed).
 */
export async function checkLake(lakeDir: string, ends: Map<number, number>, truthFiles: string[], invalid: number): Promise<LakeCheck> {
  const listing = await listLakeFiles(lakeDir);
  expect(listing.files.filter((f) => f.lastOffset >= listing.markers.get(f.partition)!.nextOffset), "files past a commit marker").toEqual([]);
  expect(temporaryFiles(lakeDir), "temporary files left").toEqual([]);
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

export interface InfluxCheck {
  windowsChecked: number;
  ordersChecked: number;
  windowsMissing: number;
  /** Orders the truth has and InfluxDB's windows lack, summed over windows. */
  ordersLost: number;
  /** Orders InfluxDB's windows count beyond the truth, summed over windows. */
  ordersDuplicated: number;
}

/** Waits for InfluxDB to settle (every window final, the truth's order count reached), then compares every window with the truth. */
export async function checkInflux(influx: InfluxConfig, truthFiles: string[], workers: WorkerProcess[], timeoutMs = 240_000): Promise<InfluxCheck> {
  const truth = new Map<number, MinuteTotals>();
  for (const file of truthFiles) {
    for (const [start, t] of truthByWindow(file, TEST_WINDOW_MS)) {
      const sum = truth.get(start) ?? { revenueCents: 0, orders: 0 };
      truth.set(start, { revenueCents: sum.revenueCents + t.revenueCents, orders: sum.orders + t.orders });
    }
  }
  const totals = await hotPathSettled(influx, sumOrders(truth), workers, timeoutMs).catch(async (error: Error) => {
    // Say which windows differ, so a failure can be read without the database (the scenario drops it).
    const now = await hotPathTotals(influx, TEST_WINDOW_MS);
    const differing = [...new Set([...truth.keys(), ...now.onTime.keys()])]
      .sort((a, b) => a - b)
      .map((start) => ({ window: new Date(start).toISOString(), truth: truth.get(start)?.orders ?? 0, onTime: now.onTime.get(start)?.orders ?? 0, late: now.late.get(start)?.orders ?? 0 }))
      .filter((w) => w.truth !== w.onTime + w.late);
    throw new Error(`InfluxDB did not reach the truth: ${now.openWindows} windows not final; orders ${sumOrders(now.onTime) + sumOrders(now.late)} of ${sumOrders(truth)}; differing windows: ${JSON.stringify(differing.slice(0, 12))}\n${error.message}`);
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
  return { windowsChecked: truth.size, ordersChecked: sumOrders(truth), windowsMissing, ordersLost, ordersDuplicated };
}
