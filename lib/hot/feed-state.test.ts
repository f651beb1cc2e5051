import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FeedState } from "./feed-state.ts";
import type { WindowMessage } from "./window-values.ts";

const T0 = Date.parse("2026-11-20T10:00:00Z");
const msg = (partition: number, minute: number, revenue: number, orders: number, final = false, country = "US"): WindowMessage => ({
  type: "window",
  partition,
  windowStart: T0 + minute * 60_000,
  windowEnd: T0 + (minute + 1) * 60_000,
  final,
  revenue,
  orders,
  items: orders * 2,
  customers: orders,
  byCountry: { [country]: { revenue, orders } },
  byCategory: { coffee: { revenue, orders } },
  bySegment: { UNKNOWN: { revenue, orders } },
});

describe("FeedState", () => {
  it("sums the latest value of each partition", () => {
    const feed = new FeedState(2);
    feed.applyWindow(msg(0, 0, 10, 1));
    feed.applyWindow(msg(1, 0, 5.5, 2, false, "DE"));
    const t = feed.applyWindow(msg(0, 0, 12.25, 2))!; // replaces partition 0's earlier partial
    expect(t).toMatchObject({ revenue: 17.75, orders: 4, items: 8, customers: 4, aov: 4.44, final: false });
    expect(t.byCountry).toEqual({ US: { revenue: 12.25, orders: 2 }, DE: { revenue: 5.5, orders: 2 } });
  });

  it("marks a window final once every partition's watermark passed its end", () => {
    const feed = new FeedState(2);
    feed.applyWindow(msg(0, 0, 10, 1, true));
    expect(feed.applyWatermark({ type: "watermark", partition: 0, watermark: T0 + 60_000 })).toEqual([]);
    const closed = feed.applyWatermark({ type: "watermark", partition: 1, watermark: T0 + 61_000 });
    expect(closed.map((w) => [w.windowStart, w.final])).toEqual([[T0, true]]);
    // Watermarks never go back.
    expect(feed.applyWatermark({ type: "watermark", partition: 1, watermark: T0 })).toEqual([]);
    expect(feed.total(T0)?.final).toBe(true);
  });

  it("never lets a re-sent partial replace a final value", () => {
    const feed = new FeedState(1);
    feed.applyWindow(msg(0, 0, 10, 2, true));
    expect(feed.applyWindow(msg(0, 0, 4, 1, false))?.revenue).toBe(10);
  });

  it("forgets windows beyond its horizon", () => {
    const feed = new FeedState(1, 5 * 60_000);
    for (let m = 0; m < 20; m++) feed.applyWindow(msg(0, m, 1, 1));
    expect(feed.snapshot().map((w) => (w.windowStart - T0) / 60_000)).toEqual([14, 15, 16, 17, 18, 19]);
    // A replayed value for a forgotten window is ignored, not sent as a total.
    expect(feed.applyWindow(msg(0, 2, 1, 1))).toBeUndefined();
    expect(feed.snapshot()).toHaveLength(6);
  });

  it("equals the sum of each partition's last value, whatever the interleaving and repeats", () => {
    const message = fc.record({ partition: fc.integer({ min: 0, max: 3 }), minute: fc.integer({ min: 0, max: 4 }), cents: fc.integer({ min: 0, max: 100_000 }), orders: fc.integer({ min: 0, max: 50 }) });
    fc.assert(
      fc.property(fc.array(message, { maxLength: 80 }), (messages) => {
        const feed = new FeedState(4);
        for (const m of messages) feed.applyWindow(msg(m.partition, m.minute, m.cents / 100, m.orders));
        for (let minute = 0; minute <= 4; minute++) {
          const last = new Map<number, (typeof messages)[number]>();
          for (const m of messages) if (m.minute === minute) last.set(m.partition, m);
          const expected = [...last.values()].reduce((s, m) => s + m.cents, 0) / 100;
          const total = feed.total(T0 + minute * 60_000);
          if (last.size === 0) expect(total).toBeUndefined();
          else expect(total!.revenue).toBeCloseTo(expected, 9);
        }
      }),
    );
  });
});
