import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { WindowTotal } from "../hot/feed-state.ts";
import { freshness, mergeRows, timeTicks, type ChartRow } from "./live-series.ts";

const W = 60_000;
const row = (start: number, over: Partial<ChartRow> = {}): ChartRow => ({ start, revenue: 10, orders: 1, late: 0, lateRevenue: 0, final: true, ...over });
const live = (windowStart: number, over: Partial<WindowTotal> = {}): WindowTotal => ({ windowStart, windowEnd: windowStart + W, revenue: 20, orders: 2, items: 2, customers: 2, aov: 10, byCountry: {}, byCategory: {}, bySegment: {}, final: false, ...over });

describe("chart rows: history with the feed laid over", () => {
  it("the feed's newer value wins, keeping the late count only InfluxDB knows", () => {
    const rows = mergeRows([row(0, { final: false, late: 3, lateRevenue: 7.5 }), row(W)], [live(0, { revenue: 30, orders: 3 }), live(2 * W)], 0);
    expect(rows).toEqual([
      { start: 0, revenue: 30, orders: 3, late: 3, lateRevenue: 7.5, final: false },
      row(W),
      { start: 2 * W, revenue: 20, orders: 2, late: 0, lateRevenue: 0, final: false },
    ]);
  });

  it("a final value is never replaced by a partial one; feed windows before the range are left out", () => {
    expect(mergeRows([row(W, { revenue: 99 })], [live(W, { revenue: 1 }), live(0)], W)).toEqual([row(W, { revenue: 99 })]);
  });

  it("property: every history and in-range feed window appears once, sorted", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 50 })), fc.uniqueArray(fc.integer({ min: 0, max: 50 })), fc.integer({ min: 0, max: 50 }), (h, f, from) => {
        const rows = mergeRows(h.map((i) => row(i * W)), f.map((i) => live(i * W)), from * W);
        const expected = [...new Set([...h, ...f.filter((i) => i >= from)])].sort((a, b) => a - b).map((i) => i * W);
        expect(rows.map((r) => r.start)).toEqual(expected);
      }),
    );
  });

  it("freshness: seconds, then minutes; stale past the limit; nothing yet is stale", () => {
    expect(freshness(1_000, 6_000, 30_000)).toEqual({ text: "updated 5s ago", stale: false });
    expect(freshness(0, 300_000, 30_000)).toEqual({ text: "updated 5 min ago", stale: true });
    expect(freshness(null, 0, 30_000)).toEqual({ text: "no data yet", stale: true });
  });
});

describe("time-axis ticks", () => {
  it("round steps, inside the range, at most maxTicks", () => {
    expect(timeTicks(Date.parse("2026-11-20T09:07:31Z"), Date.parse("2026-11-20T10:07:31Z"))).toEqual(
      ["09:10", "09:20", "09:30", "09:40", "09:50", "10:00"].map((t) => Date.parse(`2026-11-20T${t}:00Z`)),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2e12 }), fc.integer({ min: 1, max: 8 * 86_400_000 }), (from, span) => {
        const ticks = timeTicks(from, from + span);
        expect(ticks.length).toBeLessThanOrEqual(8);
        expect(ticks.every((t) => t >= from && t <= from + span)).toBe(true);
      }),
    );
    expect(timeTicks(5, 5)).toEqual([]);
  });
});
