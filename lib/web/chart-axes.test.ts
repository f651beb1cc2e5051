import { describe, expect, it } from "vitest";
import { compactTick, seriesMagnitude, yAxisSides } from "./chart-axes.ts";

// Orders and revenue per hour, as `SELECT hour, count(*) AS orders, sum(amount) AS revenue … GROUP BY 1` gives them.
const hourly = [
  { x: "10:00", orders: 410, revenue: 20_512.4 },
  { x: "11:00", orders: 388, revenue: 19_030.15 },
  { x: "12:00", orders: null, revenue: 22_100 },
];

describe("Y axes of the Lake page's chart", () => {
  it("orders and revenue differ ~50× in max: revenue goes on the right", () => {
    expect(yAxisSides(hourly, ["orders", "revenue"])).toEqual(["left", "right"]);
    // Whichever comes first keeps the left axis.
    expect(yAxisSides(hourly, ["revenue", "orders"])).toEqual(["left", "right"]);
  });

  it("series of a similar magnitude share the left axis; exactly 10× still does", () => {
    const data = [{ x: "a", orders: 400, items: 1_000, late: 40, duplicates: 39 }];
    expect(yAxisSides(data, ["orders", "items", "late"])).toEqual(["left", "left", "left"]);
    expect(yAxisSides(data, ["orders", "duplicates"])).toEqual(["left", "right"]);
    expect(yAxisSides(data, ["orders", "items", "duplicates"], 20)).toEqual(["left", "left", "left"]);
  });

  it("magnitude is the largest |value|: a large negative series counts as large", () => {
    const data = [
      { x: "a", revenue: 120, refunds: -5_000 },
      { x: "b", revenue: 90, refunds: 3 },
    ];
    expect(seriesMagnitude(data, "refunds")).toBe(5_000);
    expect(yAxisSides(data, ["revenue", "refunds"])).toEqual(["left", "right"]);
  });

  it("a series without a non-zero number has no magnitude to compare: it stays left", () => {
    const data = [{ x: "a", zero: 0, empty: null, big: 1e6, text: "1e9" }];
    expect(seriesMagnitude(data, "text")).toBe(0);
    expect(yAxisSides(data, ["big", "zero", "empty", "text"])).toEqual(["left", "left", "left", "left"]);
    expect(yAxisSides(data, ["zero", "big"])).toEqual(["left", "left"]);
    expect(yAxisSides([], ["a", "b"])).toEqual(["left", "left"]);
    expect(yAxisSides(data, [])).toEqual([]);
  });
});

describe("compactTick", () => {
  it("shortens large ticks and keeps small ones", () => {
    expect([1_234_567, 280_000, 950, 0].map(compactTick)).toEqual(["1.2M", "280K", "950", "0"]);
  });
});
