import { describe, expect, it } from "vitest";
import { buildTiles, percentChange, type TileFigures } from "./tiles.ts";

const figures = (over: Partial<TileFigures> = {}): TileFigures => ({
  dayRevenue: 1_000,
  dayOrders: 40,
  recentOrders: 50,
  recentMinutes: 5,
  lastWindowCustomers: 12,
  hourOrders: 200,
  hourLate: 4,
  hourConsumed: 210,
  hourInvalid: 10,
  ...over,
});

describe("tiles", () => {
  it("computes each figure and compares it with the same time yesterday", () => {
    const tiles = buildTiles(figures(), figures({ dayRevenue: 800, dayOrders: 40, recentOrders: 100, lastWindowCustomers: 12, hourLate: 2 }), "Europe/Berlin");
    const byKey = Object.fromEntries(tiles.map((t) => [t.key, t]));
    expect(byKey.revenueToday).toMatchObject({ label: "Revenue today (Europe/Berlin)", value: 1_000, yesterday: 800, changePct: 25 });
    expect(byKey.ordersPerMinute).toMatchObject({ value: 10, yesterday: 20, changePct: -50 });
    expect(byKey.averageOrderValue).toMatchObject({ value: 25, yesterday: 20, changePct: 25 });
    expect(byKey.customers).toMatchObject({ value: 12, changePct: 0 });
    expect(byKey.lateRate).toMatchObject({ value: 0.02, yesterday: 0.01, changePct: 100 });
    expect(byKey.invalidRate!.value).toBeCloseTo(10 / 210);
  });

  it("no orders: no average or rates, and no change against an empty yesterday", () => {
    const empty = figures({ dayRevenue: 0, dayOrders: 0, recentOrders: 0, lastWindowCustomers: 0, hourOrders: 0, hourLate: 0, hourConsumed: 0, hourInvalid: 0 });
    const byKey = Object.fromEntries(buildTiles(figures(), empty, "UTC").map((t) => [t.key, t]));
    expect(byKey.averageOrderValue).toMatchObject({ value: 25, yesterday: null, changePct: null });
    expect(byKey.revenueToday).toMatchObject({ yesterday: 0, changePct: null });
    expect(byKey.lateRate).toMatchObject({ yesterday: null, changePct: null });
  });

  it("percent change: rounded to 0.1 %, null without a base", () => {
    expect(percentChange(1, 3)).toBe(-66.7);
    expect(percentChange(5, 0)).toBeNull();
    expect(percentChange(null, 3)).toBeNull();
    expect(percentChange(3, null)).toBeNull();
  });
});
