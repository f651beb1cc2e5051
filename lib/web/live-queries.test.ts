import { describe, expect, it } from "vitest";
import { MEASUREMENTS } from "../hot/influx-points.ts";
import { WINDOW_DIMENSIONS } from "../contract/dimensions.ts";
import { breakdownQuery, lateSeriesQuery, rangeSchema, RANGE_NAMES, spanOf, windowSeriesQuery } from "./live-queries.ts";

const NOW = Date.parse("2026-11-20T10:07:31.500Z");

describe("range → InfluxQL buckets", () => {
  it("short ranges use one window per bucket; longer ones coarser buckets, aligned so the first is whole", () => {
    expect(spanOf("15m", NOW, 60_000)).toEqual({ fromMs: Date.parse("2026-11-20T09:52:00Z"), toMs: NOW + 60_000, bucketMs: 60_000 });
    expect(spanOf("1h", NOW, 10_000).bucketMs).toBe(10_000);
    expect(spanOf("6h", NOW, 60_000)).toMatchObject({ bucketMs: 600_000, fromMs: Date.parse("2026-11-20T04:00:00Z") });
    expect(spanOf("24h", NOW, 60_000).bucketMs).toBe(1_800_000);
    expect(spanOf("7d", NOW, 60_000).bucketMs).toBe(3 * 3_600_000);
  });

  it("a bucket is never finer than a window and always a whole number of windows", () => {
    for (const range of RANGE_NAMES) {
      for (const windowMs of [1_000, 10_000, 60_000, 7 * 60_000, 3_600_000]) {
        const span = spanOf(range, NOW, windowMs);
        expect(span.bucketMs).toBeGreaterThanOrEqual(windowMs);
        expect(span.bucketMs % windowMs).toBe(0);
        expect(span.fromMs % span.bucketMs).toBe(0);
      }
    }
  });

  it("statements name the measurements from lib/hot and group by the bucket", () => {
    const span = spanOf("6h", NOW, 60_000);
    expect(windowSeriesQuery(span)).toContain(`FROM "${MEASUREMENTS.window}"`);
    expect(windowSeriesQuery(span)).toContain("GROUP BY time(600000ms)");
    expect(windowSeriesQuery(span)).toContain(`time >= ${span.fromMs}ms AND time < ${span.toMs}ms`);
    expect(lateSeriesQuery(span)).toContain(`FROM "${MEASUREMENTS.anomaly}" WHERE "kind" = 'late'`);
    for (const d of WINDOW_DIMENSIONS) expect(breakdownQuery(d.dimension, span)).toContain(`FROM "${d.measurement}" WHERE ${`time >= ${span.fromMs}ms`}`);
  });

  it("the range parameter: default 1h, anything else is an error", () => {
    expect(rangeSchema.parse(undefined)).toBe("1h");
    expect(rangeSchema.parse("7d")).toBe("7d");
    expect(rangeSchema.safeParse("2h").success).toBe(false);
    expect(rangeSchema.safeParse("1h; DROP").success).toBe(false);
  });
});
