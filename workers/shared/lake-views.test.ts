import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EMPTY_FIRST_COPY_INDEX, type FirstCopyIndex } from "../../lib/lake/first-copies.ts";
import { commitMarkerPath, ordersFilePath, serializeCommitMarker, type LakeFile } from "../../lib/lake/layout.ts";
import { sqlLiteral } from "../../lib/lake/sql.ts";
import { writeLakeFixture, type FixtureMessage } from "../../tests/support/batch-lake.ts";
import { listLakeFiles, liveLakeFiles } from "./lake-files.ts";
import { defineLakeViews } from "./lake-views.ts";

let lakeDir: string;
let messages: FixtureMessage[];
let live: LakeFile[];

beforeAll(async () => {
  lakeDir = mkdtempSync(join(tmpdir(), "orderpulse-lake-views-"));
  // 4 % duplicates, compacted groups with their inputs left, an uncommitted tail: the lake as the worker leaves it.
  messages = await writeLakeFixture({ lakeDir, seed: 77, count: 4_000, startMs: Date.parse("2026-11-20T10:00:00Z"), partitions: 3, ratePerSecond: 20, flushEvery: 150 });
  live = liveLakeFiles(await listLakeFiles(lakeDir));
});

afterAll(() => rmSync(lakeDir, { recursive: true, force: true }));

/** The truth: per partition, the lowest offset of each order_id among the valid orders the lake committed. */
function firstCopies(files: readonly LakeFile[]): string[] {
  const holds = (m: FixtureMessage) => files.some((f) => f.kind === "orders" && f.partition === m.partition && f.firstOffset <= m.offset && m.offset <= f.lastOffset);
  const first = new Map<string, FixtureMessage>();
  for (const m of messages)
    if (m.decoded.ok && !m.lost && holds(m)) {
      const key = `${m.partition}/${m.decoded.order.orderId}`;
      if (!first.has(key) || first.get(key)!.offset > m.offset) first.set(key, m);
    }
  return [...first.values()].map((m) => `${m.partition}/${m.offset}`).sort();
}

/** The same rule over the rows a snapshot reads (`orders_raw`), by brute force. */
function firstCopiesOfRows(rows: readonly (readonly unknown[])[]): string[] {
  const first = new Map<string, number>();
  for (const [p, o, id] of rows) {
    const key = `${p}/${id}`;
    if (!first.has(key) || first.get(key)! > Number(o)) first.set(key, Number(o));
  }
  return [...first].map(([key, o]) => `${key.split("/")[0]}/${o}`).sort();
}

async function ordersOf(files: LakeFile[], index: FirstCopyIndex): Promise<{ orders: string[]; truth: string[]; index: FirstCopyIndex; reclassified: number[]; duplicates: number }> {
  const db = await DuckDBInstance.create(":memory:", { threads: "1" });
  const connection = await db.connect();
  try {
    const defined = await defineLakeViews(connection, { lakeDir, live: files, businessTz: "UTC", index });
    const rows = (await connection.runAndReadAll("SELECT kafka_partition || '/' || kafka_offset FROM orders")).getRows().map(([k]) => String(k));
    const duplicates = Number((await connection.runAndReadAll("SELECT count(*) FROM orders_duplicates")).getRows()[0]![0]);
    const truth = firstCopiesOfRows((await connection.runAndReadAll("SELECT kafka_partition, kafka_offset, order_id FROM orders_raw")).getRows());
    return { orders: rows.sort(), truth, ...defined, duplicates };
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}

describe("the lake's views over a lake with duplicates", () => {
  it("keep each order's first copy in its partition, classified from scratch", async () => {
    const { orders, truth, duplicates } = await ordersOf(live, EMPTY_FIRST_COPY_INDEX);
    expect(duplicates).toBeGreaterThan(50);
    expect(orders).toEqual(firstCopies(live));
    expect(orders).toEqual(truth);
  });

  it("keep the same rows when a snapshot classifies only what is new since an earlier one", async () => {
    // An earlier snapshot: each partition's files up to about half of its offsets.
    const half = new Map<number, number>();
    for (const f of live) half.set(f.partition, Math.max(half.get(f.partition) ?? 0, f.lastOffset / 2));
    const earlier = live.filter((f) => f.lastOffset <= half.get(f.partition)!);
    const first = await ordersOf(earlier, EMPTY_FIRST_COPY_INDEX);
    expect(first.orders).toEqual(first.truth);

    const next = await ordersOf(live, first.index);
    expect(next.reclassified.sort()).toEqual([0, 1, 2]);
    for (const [partition, offsets] of next.index.laterCopies) expect(offsets.length).toBeGreaterThan(first.index.laterCopies.get(partition)?.length ?? 0);
    expect(next.orders).toEqual(firstCopies(live));
    expect(next.orders).toEqual(next.truth);
    // Nothing new: nothing reclassified, the same rows.
    const again = await ordersOf(live, next.index);
    expect(again.reclassified).toEqual([]);
    expect(again.orders).toEqual(next.orders);
  });

  it("compare copies within a partition only: one order_id in two partitions is two orders", async () => {
    // Partition 0: o-x at 0 and 2 (a re-send); partition 1: o-x at 0. Copies of an order share its key's partition
    // (design.md, "Orders"), so o-x in partition 1 is another customer's order that happens to share the id.
    const dir = mkdtempSync(join(tmpdir(), "orderpulse-lake-views-ids-"));
    try {
      const db = await DuckDBInstance.create(":memory:", { threads: "1" });
      const connection = await db.connect();
      const hour = Date.parse("2026-11-20T10:00:00Z");
      for (const [partition, ids] of [[0, ["o-x", "o-y", "o-x"]], [1, ["o-x"]]] as const) {
        const path = join(dir, ordersFilePath(hour, { partition, firstOffset: 0, lastOffset: ids.length - 1 }));
        mkdirSync(dirname(path), { recursive: true });
        const rows = ids.map((id, offset) => `SELECT ${sqlLiteral(id)} AS order_id, CAST(${partition} AS INTEGER) AS kafka_partition, CAST(${offset} AS BIGINT) AS kafka_offset, TIMESTAMP '2026-11-20 10:00:00' AS event_time, CAST(100 AS BIGINT) AS amount_cents`);
        await connection.run(`COPY (${rows.join(" UNION ALL ")}) TO ${sqlLiteral(path)} (FORMAT parquet)`);
        const marker = join(dir, commitMarkerPath(partition));
        mkdirSync(dirname(marker), { recursive: true });
        writeFileSync(marker, serializeCommitMarker({ nextOffset: ids.length, clusterId: "test", topic: "orders" }));
      }
      const files = liveLakeFiles(await listLakeFiles(dir));
      await defineLakeViews(connection, { lakeDir: dir, live: files, businessTz: "UTC", index: EMPTY_FIRST_COPY_INDEX });
      const kept = (await connection.runAndReadAll("SELECT order_id, kafka_partition, kafka_offset FROM orders ORDER BY 2, 3")).getRows();
      expect(kept).toEqual([["o-x", 0, 0n], ["o-y", 0, 1n], ["o-x", 1, 0n]]);
      expect((await connection.runAndReadAll("SELECT * FROM orders_duplicates")).getRows()).toEqual([[0, 2n]]);
      connection.closeSync();
      db.closeSync();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("say why orders is unavailable when finding the later copies fails, and keep the other views", async () => {
    const db = await DuckDBInstance.create(":memory:", { threads: "1" });
    const connection = await db.connect();
    try {
      // Far too little memory for the join over a partition's order ids.
      await connection.run("SET memory_limit = '1MB'");
      const defined = await defineLakeViews(connection, { lakeDir, live, businessTz: "UTC", index: EMPTY_FIRST_COPY_INDEX });
      expect(defined.failure).toMatch(/^orders is unavailable in this snapshot: finding the later copies of orders failed \(.*memory/i);
      expect(defined.index).toBe(EMPTY_FIRST_COPY_INDEX);
      for (const view of ["orders", "daily_kpis", "orders_enriched"]) await expect(connection.runAndReadAll(`SELECT count(*) FROM ${view}`)).rejects.toThrow(/orders is unavailable in this snapshot/);
      await connection.run("SET memory_limit = '1GB'");
      expect(Number((await connection.runAndReadAll("SELECT count(*) FROM orders_raw")).getRows()[0]![0])).toBeGreaterThan(3_000);
    } finally {
      connection.closeSync();
      db.closeSync();
    }
  });
});
