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
