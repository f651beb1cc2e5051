import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { PartitionBuffer, rotationReason, ROW_OVERHEAD_BYTES, type LakeMessage } from "./buffer.ts";
import { parseLakeFilePath } from "./layout.ts";

const SKEW = 600_000;
const T10 = Date.parse("2026-11-20T10:59:59.000Z");
const T11 = Date.parse("2026-11-20T11:00:01.000Z");
const INGEST = Date.parse("2026-11-21T08:00:00.000Z");

const order = (id: string, eventTime: number) =>
  new TextEncoder().encode(JSON.stringify({ order_id: id, amount: 3.5, event_time: new Date(eventTime).toISOString(), country: "us" }));
const message = (offset: number, value: Uint8Array | null, timestamp = T11 + 60_000): LakeMessage => ({ offset, value, timestamp });

describe("rotationReason", () => {
  const limits = { rows: 10, bytes: 1_000, ageMs: 5_000 };
  it("rotates by rows, bytes or age, and never an empty buffer", () => {
    expect(rotationReason({ rows: 0, bytes: 0, openedAt: undefined }, limits, 1e9)).toBeUndefined();
    expect(rotationReason({ rows: 10, bytes: 0, openedAt: 0 }, limits, 0)).toBe("rows");
    expect(rotationReason({ rows: 1, bytes: 1_000, openedAt: 0 }, limits, 0)).toBe("bytes");
    expect(rotationReason({ rows: 1, bytes: 1, openedAt: 0 }, limits, 4_999)).toBeUndefined();
    expect(rotationReason({ rows: 1, bytes: 1, openedAt: 0 }, limits, 5_000)).toBe("age");
  });
});

describe("PartitionBuffer", () => {
  it("groups a flush into one file per event hour plus one per ingest day of invalid messages", () => {
    const buffer = new PartitionBuffer(3, 100, "orders", SKEW);
    expect(buffer.add(message(100, order("a", T10)), INGEST)).toEqual({ status: "order" });
    expect(buffer.add(message(101, order("b", T11)), INGEST)).toEqual({ status: "order" });
    expect(buffer.add(message(102, new Uint8Array([0xff, 0x00])), INGEST)).toEqual({ status: "invalid", code: "not_utf8" });
    expect(buffer.add(message(103, order("a", T10)), INGEST)).toEqual({ status: "order" }); // a duplicate is a row too
    expect(buffer.add(message(104, null), INGEST)).toEqual({ status: "invalid", code: "not_json" });
    expect(buffer.add(message(105, order("skewed", T11 + 3_600_000), T11), INGEST)).toEqual({ status: "invalid", code: "event_time_skew" });
    expect(buffer.stats.rows).toBe(6);

    const plan = buffer.take()!;
    expect(plan).toMatchObject({ partition: 3, fromOffset: 100, nextOffset: 106, orders: 3, invalid: 3, gaps: [] });
    expect(plan.files.map((f) => [f.path, f.rows.map((r) => r.kafka_offset)])).toEqual([
      ["orders/event_date=2026-11-20/event_hour=10/part-3-00000000000000000100-00000000000000000103.parquet", [100, 103]],
      ["orders/event_date=2026-11-20/event_hour=11/part-3-00000000000000000101-00000000000000000101.parquet", [101]],
      ["orders_invalid/ingest_date=2026-11-21/part-3-00000000000000000102-00000000000000000105.parquet", [102, 104, 105]],
    ]);
    for (const file of plan.files) expect(parseLakeFilePath(file.path)).toMatchObject({ kind: file.kind, ...file.range });
    const invalid = plan.files[2]!;
    expect(invalid.kind === "invalid" && invalid.rows.map((r) => [r.reason_code, r.raw])).toEqual([
      ["not_utf8", new Uint8Array([0xff, 0x00])],
      ["not_json", null],
      ["event_time_skew", expect.any(Uint8Array)],
    ]);
    expect(buffer.take()).toBeUndefined();
    expect(buffer.stats).toEqual({ rows: 0, bytes: 0, openedAt: undefined });
  });

  it("skips offsets it already has and records a gap as an offset_gap row at the first missing offset", () => {
    const buffer = new PartitionBuffer(0, 10, "orders", SKEW);
    expect(buffer.add(message(9, order("old", T10)), INGEST)).toEqual({ status: "skipped" });
    expect(buffer.add(message(15, order("x", T10)), INGEST)).toEqual({ status: "order", gap: { partition: 0, firstMissing: 10, lastMissing: 14 } });
    expect(buffer.add(message(15, order("x", T10)), INGEST)).toEqual({ status: "skipped" });
    expect(buffer.missed).toBe(5);
    const plan = buffer.take()!;
    expect(plan).toMatchObject({ fromOffset: 10, nextOffset: 16, orders: 1, invalid: 0, gaps: [{ firstMissing: 10, lastMissing: 14 }] });
    const gapFile = plan.files.find((f) => f.kind === "invalid")!;
    expect(gapFile.rows).toEqual([
      expect.objectContaining({ kafka_offset: 10, reason_code: "offset_gap", raw: null, record_timestamp: null, reason: expect.stringMatching(/offsets 10\.\.14 of orders\/0 \(5 messages\)/) }),
    ]);
    expect(gapFile.path).toBe("orders_invalid/ingest_date=2026-11-21/part-0-00000000000000000010-00000000000000000010.parquet");
  });

  it("copies an invalid message's bytes out of the (possibly much larger) buffer they arrived in", () => {
    const fetched = new Uint8Array(1 << 20);
    fetched.set([0x6e, 0x6f, 0x70, 0x65], 100);
    const buffer = new PartitionBuffer(0, 0, "orders", SKEW);
    buffer.add(message(0, fetched.subarray(100, 104)), INGEST);
    const raw = buffer.take()!.files[0]!.rows[0]!.raw as Uint8Array;
    expect([...raw]).toEqual([0x6e, 0x6f, 0x70, 0x65]);
    expect(raw.buffer.byteLength).toBe(4);
  });

  it("counts payload bytes plus a per-row allowance, and opens at the first row", () => {
    const buffer = new PartitionBuffer(0, 0, "orders", SKEW);
    const value = order("a", T10);
    buffer.add(message(0, value), 5);
    buffer.add(message(1, value), 9);
    expect(buffer.stats).toEqual({ rows: 2, bytes: 2 * (value.length + ROW_OVERHEAD_BYTES), openedAt: 5 });
  });

  it("covers every offset of its range exactly once across flushes, whatever arrives", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000 }),
        fc.array(fc.record({ step: fc.integer({ min: -3, max: 4 }), valid: fc.boolean(), hour: fc.boolean(), flush: fc.boolean() }), { maxLength: 80 }),
        (start, events) => {
          const buffer = new PartitionBuffer(1, start, "orders", SKEW);
          const plans = [];
          let offset = start;
          for (const e of events) {
            offset = Math.max(0, offset + e.step);
            buffer.add(message(offset, e.valid ? order(`o${offset}`, e.hour ? T10 : T11) : new TextEncoder().encode("nope")), INGEST);
            if (e.flush) plans.push(buffer.take());
          }
          plans.push(buffer.take());
          let expected = start;
          for (const plan of plans.filter((p) => p !== undefined)) {
            expect(plan.fromOffset).toBe(expected);
            const rows = plan.files.flatMap((f) => f.rows.map((r) => r.kafka_offset)).sort((a, b) => a - b);
            const gapOffsets = plan.gaps.flatMap((g) => Array.from({ length: g.lastMissing - g.firstMissing }, (_, i) => g.firstMissing + 1 + i));
            // Rows (a gap row stands for its first offset) plus the rest of each gap: exactly the flush's range.
            expect([...rows, ...gapOffsets].sort((a, b) => a - b)).toEqual(Array.from({ length: plan.nextOffset - plan.fromOffset }, (_, i) => plan.fromOffset + i));
            for (const f of plan.files) {
              expect(f.range.firstOffset).toBe(f.rows[0]!.kafka_offset);
              expect(f.range.lastOffset).toBe(f.rows.at(-1)!.kafka_offset);
            }
            expected = plan.nextOffset;
          }
          expect(buffer.nextOffset).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});
