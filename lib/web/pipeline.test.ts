import { describe, expect, it } from "vitest";
import { MEASUREMENTS } from "../hot/influx-points.ts";
import { isIdle, lagOf, lagSparklineQuery, previewBytes, ratePerSecond, watermarkDelayMs } from "./pipeline.ts";

const offsets = { partition: 3, logStart: 100, logEnd: 250 };

describe("pipeline figures", () => {
  it("lag from a commit; never committed or committed below the log start counts from the log start", () => {
    expect(lagOf(offsets, 200, 10)).toEqual({ partition: 3, committed: 200, processed: null, lag: 50, secondsBehind: 5 });
    expect(lagOf(offsets, null, 0)).toEqual({ partition: 3, committed: null, processed: null, lag: 150, secondsBehind: null });
    // The metrics worker's commit trails what it processed (its metadata's n=): lag counts from what was processed.
    expect(lagOf(offsets, 120, 10, 240)).toEqual({ partition: 3, committed: 120, processed: 240, lag: 10, secondsBehind: 1 });
    expect(lagOf(offsets, 20, 0).lag).toBe(150);
    expect(lagOf(offsets, 250, 0)).toMatchObject({ lag: 0, secondsBehind: 0 });
  });

  it("rates between samples; idle means nothing produced and nothing to read", () => {
    expect(ratePerSecond({ at: 0, offset: 100 }, { at: 2_000, offset: 150 })).toBe(25);
    expect(ratePerSecond(undefined, { at: 2_000, offset: 150 })).toBeNull();
    expect(ratePerSecond({ at: 2_000, offset: 100 }, { at: 2_000, offset: 150 })).toBeNull();
    expect(isIdle(0, 0)).toBe(true);
    expect(isIdle(0, 5)).toBe(false);
    expect(isIdle(null, 0)).toBe(false);
    expect(watermarkDelayMs(1_000, 4_000)).toBe(3_000);
    expect(watermarkDelayMs(null, 4_000)).toBeNull();
  });

  it("sparkline query reads the pipeline measurement per partition", () => {
    expect(lagSparklineQuery("metrics", 5)).toBe(`SELECT max("lag") AS lag FROM "${MEASUREMENTS.pipeline}" WHERE "worker" = 'metrics' AND time >= 5ms GROUP BY time(60000ms), "partition" fill(none)`);
    expect(lagSparklineQuery("o'neil", 5)).toContain(`"worker" = 'oneil'`);
  });

  it("byte previews: text as is, control bytes escaped, long values cut", () => {
    expect(previewBytes(new TextEncoder().encode('{"a":1}'))).toBe('{"a":1}');
    expect(previewBytes(Uint8Array.from([0x7b, 0x00, 0x0a]))).toBe("{\\x00\\x0a");
    expect(previewBytes(new TextEncoder().encode("x".repeat(300)), 10)).toBe(`${"x".repeat(10)}…`);
    expect(previewBytes(null)).toBe("(null)");
  });
});
