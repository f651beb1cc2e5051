import { describe, expect, it } from "vitest";
import { gapRow, gapSize, offsetGap } from "./offsets.ts";

describe("offsets", () => {
  it("finds the gap between the expected and the received offset", () => {
    expect(offsetGap(2, 10, 10)).toBeUndefined();
    expect(offsetGap(2, 10, 9)).toBeUndefined();
    const gap = offsetGap(2, 10, 13)!;
    expect(gap).toEqual({ partition: 2, firstMissing: 10, lastMissing: 12 });
    expect(gapSize(gap)).toBe(3);
  });

  it("counts only offsets below the log start: transaction markers, aborted records and compaction are no losses", () => {
    // A commit marker at 10: the next record is 11, the log still starts at 0.
    expect(offsetGap(0, 10, 11, 0)).toBeUndefined();
    // Retention removed 0..99 and a transaction marker sits at 100: the gap is 0..99 only.
    expect(offsetGap(0, 0, 101, 100)).toEqual({ partition: 0, firstMissing: 0, lastMissing: 99 });
    // Log start unknown: the whole jump counts.
    expect(offsetGap(0, 10, 13, undefined)).toEqual({ partition: 0, firstMissing: 10, lastMissing: 12 });
  });

  it("records a gap as a payload-less invalid row naming the range", () => {
    expect(gapRow({ partition: 1, firstMissing: 7, lastMissing: 7 }, "orders", 123)).toEqual({
      kafka_partition: 1,
      kafka_offset: 7,
      record_timestamp: null,
      reason_code: "offset_gap",
      reason: "offsets 7..7 of orders/1 (1 message) were removed from Kafka before the lake read them",
      raw: null,
      ingested_at: 123,
    });
  });
});
