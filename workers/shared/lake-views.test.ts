import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EMPTY_FIRST_COPY_INDEX, type FirstCopyIndex } from "../../lib/lake/first-copies.ts";
import type { LakeFile } from "../../lib/lake/layout.ts";
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
});
