/**
 * A quiet partition whose flush fails (issue 9's race): the lake worker must recover
 * the partition and read it again from its marker on its own, not wait for a next
 * batch that a quiet partition never gets (its rows would stay outside the lake while
 * lag reads 0). The flush is made to fail for real: the hour directory it must create
 * is taken by a plain file (root ignores permissions, not file types).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import { Kafka, logLevel } from "kafkajs";
import { commitMarkerPath } from "../lib/lake/layout.ts";
import { sqlLiteral } from "../lib/lake/sql.ts";
import { sharedKafka, type SharedKafka } from "./support/kafka.ts";
import { LakeWorkerProcess } from "./support/lake-worker.ts";
import { tempDir } from "./support/processes.ts";

const ORDERS = 40;
const EVENT_TIME = Date.parse("2026-11-20T10:15:00.000Z");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cluster: SharedKafka;
let worker: LakeWorkerProcess | undefined;
const cleanup: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  cluster = await sharedKafka("flush-retry", { orders: 1 }, cleanup);
}, 180_000);
afterAll(async () => {
  await worker?.kill9();
  for (const step of cleanup.reverse()) await step();
});

/** Order rows in the lake's committed Parquet files (read by DuckDB directly, every file under orders/). */
async function lakeRows(lakeDir: string): Promise<number> {
  const glob = join(lakeDir, "orders", "**", "part-*.parquet");
  const db = await DuckDBInstance.create(":memory:");
  const connection = await db.connect();
  try {
    const reader = await connection.runAndReadAll(`SELECT count(DISTINCT kafka_offset)::INTEGER FROM read_parquet(${sqlLiteral(glob)})`);
    return Number(reader.getRowsJS()[0]![0]);
  } catch {
    return 0; // no file yet
  } finally {
    connection.closeSync();
  }
}

describe("a quiet partition whose flush failed", () => {
  it("is recovered and read again from its marker without a new message, once the failure is gone", async () => {
    const kafka = new Kafka({ brokers: [cluster.bootstrap], clientId: "flush-retry", logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: cluster.topic,
      acks: -1,
      messages: Array.from({ length: ORDERS }, (_, i) => ({
        key: `c-${i}`,
        value: JSON.stringify({ order_id: `o-${i}`, customer_id: `c-${i}`, amount: 10 + i, event_time: new Date(EVENT_TIME + i * 1_000).toISOString() }),
        timestamp: String(EVENT_TIME + i * 1_000),
      })),
    });
    await producer.disconnect();

    const lakeDir = tempDir("flush-retry-lake");
    const blocker = join(lakeDir, "orders", "event_date=2026-11-20", "event_hour=10");
    mkdirSync(join(blocker, ".."), { recursive: true });
    writeFileSync(blocker, "a file where the flush needs a directory\n");

    worker = new LakeWorkerProcess({ ...cluster.env, LAKE_DIR: lakeDir, KAFKA_SESSION_TIMEOUT: "6s", LAKE_ROTATE_AGE: "1s", LOG_LEVEL: "info" });
    await worker.waitForLog(/"msg":"flush failed/, 90_000);
    expect(await lakeRows(lakeDir)).toBe(0);

    // Nothing more is produced: the partition stays quiet. Removing the cause must be enough.
    rmSync(blocker);
    const deadline = Date.now() + 60_000;
    while ((await lakeRows(lakeDir)) < ORDERS) {
      if (Date.now() > deadline) throw new Error(`the lake holds ${await lakeRows(lakeDir)} of ${ORDERS} orders 60 s after the failure was removed:\n${worker.output.slice(-3000)}`);
      await sleep(500);
    }
    expect(await lakeRows(lakeDir)).toBe(ORDERS);
    expect(existsSync(join(lakeDir, commitMarkerPath(0)))).toBe(true);
    expect(await worker.terminate()).toBe(0);
    worker = undefined;
  }, 240_000);
});
