import { describe, expect, it } from "vitest";
import {
  alignRange,
  addToBreakdown,
  compareBreakdowns,
  compareWindows,
  comparisonCells,
  ExpectedCollector,
  formatMeasure,
  WindowTableBuilder,
  mismatchRows,
  partitionsMissingFromLake,
  ReconcileRangeError,
  summarize,
  summaryLine,
} from "./reconcile.ts";
import type { WindowValue } from "../hot/window-engine.ts";

const T0 = Date.parse("2026-11-20T10:00:00Z");
const MIN = 60_000;

const windowValue = (partition: number, windowStart: number, revenueCents: number, final = true): WindowValue => ({
  partition,
  windowStart,
  windowEnd: windowStart + MIN,
  final,
  revenueCents,
  orders: 2,
  items: 3,
  customers: 1,
  dimsVersion: null,
  byCountry: [],
  byCategory: [],
  bySegment: [],
});

describe("alignRange", () => {
  it("widens the range to whole windows", () => {
    expect(alignRange(T0 + 1_500, T0 + 2 * MIN + 1, MIN)).toEqual({ fromMs: T0, toMs: T0 + 3 * MIN });
    expect(alignRange(T0, T0 + MIN, MIN)).toEqual({ fromMs: T0, toMs: T0 + MIN });
  });

  it("refuses an empty or reversed range", () => {
    expect(() => alignRange(T0, T0, MIN)).toThrow(ReconcileRangeError);
    expect(() => alignRange(T0 + MIN, T0, MIN)).toThrow(/must be before --to/);
    expect(() => alignRange(Number.NaN, T0, MIN)).toThrow(/instants/);
  });
});

describe("ExpectedCollector", () => {
  it("keeps the latest value of each window and the anomalies in the range", () => {
    const collector = new ExpectedCollector({ fromMs: T0, toMs: T0 + 2 * MIN });
    collector.window(windowValue(0, T0, 100, false));
    collector.window(windowValue(0, T0, 250, true));
    collector.window(windowValue(1, T0 + MIN, 70, false));
    collector.window(windowValue(0, T0 + 2 * MIN, 999)); // after the range
    collector.window(windowValue(0, T0 - MIN, 999)); // before it
    collector.anomaly({ kind: "late", partition: 0, offset: 7, windowStart: T0, amount: 1.5 });
    collector.anomaly({ kind: "late", partition: 0, offset: 9, windowStart: T0, amount: 1.005 });
    collector.anomaly({ kind: "duplicate", partition: 1, offset: 3, windowStart: T0 + MIN, amount: 4 });
    collector.anomaly({ kind: "duplicate", partition: 1, offset: 4, windowStart: T0 + 5 * MIN, amount: 4 });

    expect(collector.windows().map((w) => [w.partition, w.windowStart, w.revenueCents, w.final])).toEqual([
      [0, T0, 250, true],
      [1, T0 + MIN, 70, false],
    ]);
    expect(collector.anomalies()).toHaveLength(3);
    const table = collector.table();
    expect(table.get(`${T0}/0`)).toEqual({
      windowStart: T0,
      partition: 0,
      window: { revenue: 250, orders: 2, items: 3, customers: 1 },
      anomalies: { late_orders: 2, late_revenue: 150 + 101, duplicate_orders: 0, duplicate_revenue: 0 },
    });
    expect(table.get(`${T0 + MIN}/1`)?.anomalies).toEqual({ late_orders: 0, late_revenue: 0, duplicate_orders: 1, duplicate_revenue: 400 });
  });
});

describe("compareWindows", () => {
  const expected = () => {
    const b = new WindowTableBuilder();
    b.setWindow(T0, 0, { revenue: 1000, orders: 3, items: 4, customers: 2 });
    b.setWindow(T0, 1, { revenue: 500, orders: 1, items: 1, customers: 1 });
    b.addAnomaly(T0, 1, "late", 1, 250);
    b.addAnomaly(T0 + MIN, 0, "duplicate", 2, 800);
    return b.table();
  };

  it("finds nothing when the tables agree", () => {
    expect(compareWindows(expected(), expected())).toEqual([]);
  });

  it("reports each differing measure, a missing point, an extra point and a missing anomaly", () => {
    const b = new WindowTableBuilder();
    b.setWindow(T0, 0, { revenue: 1001, orders: 3, items: 4, customers: null });
    b.addAnomaly(T0, 1, "late", 1, 250);
    b.setWindow(T0 + 2 * MIN, 3, { revenue: 1, orders: 1, items: 1, customers: 1 });
    b.addAnomaly(T0 + MIN, 0, "duplicate", 1, 400);
    const mismatches = compareWindows(expected(), b.table());
    expect(mismatches).toEqual([
      { windowStart: T0, partition: 0, measure: "revenue", expected: 1000, actual: 1001 },
      { windowStart: T0, partition: 0, measure: "customers", expected: 2, actual: null },
      ...(["revenue", "orders", "items", "customers"] as const).map((measure) => ({
        windowStart: T0,
        partition: 1,
        measure,
        expected: { revenue: 500, orders: 1, items: 1, customers: 1 }[measure],
        actual: null,
      })),
      { windowStart: T0 + MIN, partition: 0, measure: "duplicate_orders", expected: 2, actual: 1 },
      { windowStart: T0 + MIN, partition: 0, measure: "duplicate_revenue", expected: 800, actual: 400 },
      ...(["revenue", "orders", "items", "customers"] as const).map((measure) => ({
        windowStart: T0 + 2 * MIN,
        partition: 3,
        measure,
        expected: null,
        actual: 1,
      })),
    ]);
    expect(mismatchRows(mismatches.slice(0, 2))).toEqual([
      ["2026-11-20T10:00:00.000Z", "0", "revenue", "10.00", "10.01"],
      ["2026-11-20T10:00:00.000Z", "0", "customers", "2", "missing"],
    ]);
    const summary = summarize({ fromMs: T0, toMs: T0 + 3 * MIN }, expected(), b.table(), mismatches);
    expect(summaryLine(summary)).toBe(
      "summary status=mismatched from=2026-11-20T10:00:00.000Z to=2026-11-20T10:03:00.000Z expected_windows=2 actual_windows=2 expected_anomalies=3 mismatches=12 mismatched_cells=4",
    );
  });

  it("formats money with two places and counts as integers", () => {
    expect(formatMeasure("late_revenue", 5)).toBe("0.05");
    expect(formatMeasure("orders", 12)).toBe("12");
    expect(formatMeasure("revenue", null)).toBe("missing");
  });
});

describe("partitionsMissingFromLake", () => {
  const table = (...partitions: number[]) => new Map(partitions.map((partition, i) => [`${i * 60_000}/${partition}`, { partition }]));
  it("names InfluxDB's partitions that the lake has no row for, in order", () => {
    expect(partitionsMissingFromLake(table(0, 1, 2), table(7, 0, 3, 1, 3))).toEqual([3, 7]);
    expect(partitionsMissingFromLake(table(0, 1), table(0, 1, 0))).toEqual([]);
    expect(partitionsMissingFromLake(table(), table(2))).toEqual([2]);
    expect(partitionsMissingFromLake(table(5), table())).toEqual([]);
  });
});

describe("compareBreakdowns", () => {
  it("compares every window dimension's keys, a missing key counting as zero", () => {
    const collector = new ExpectedCollector({ fromMs: T0, toMs: T0 + MIN });
    collector.window({ ...windowValue(0, T0, 300), byCountry: [{ key: "DE", revenueCents: 100, orders: 1 }, { key: "US", revenueCents: 200, orders: 1 }], byCategory: [{ key: "tea", revenueCents: 300, orders: 2 }] });
    const expected = collector.breakdownTable();
    expect(compareBreakdowns(expected, collector.breakdownTable())).toEqual([]);

    const actual: typeof expected = new Map();
    addToBreakdown(actual, { windowStart: T0, partition: 0, dimension: "country", key: "US" }, 250, 1);
    addToBreakdown(actual, { windowStart: T0, partition: 0, dimension: "category", key: "tea" }, 300, 2);
    addToBreakdown(actual, { windowStart: T0, partition: 0, dimension: "category", key: "coffee" }, 5, 1);
    expect(compareBreakdowns(expected, actual)).toEqual([
      { windowStart: T0, partition: 0, measure: "category[coffee].orders", expected: 0, actual: 1 },
      { windowStart: T0, partition: 0, measure: "category[coffee].revenue", expected: 0, actual: 5 },
      { windowStart: T0, partition: 0, measure: "country[DE].orders", expected: 1, actual: 0 },
      { windowStart: T0, partition: 0, measure: "country[DE].revenue", expected: 100, actual: 0 },
      { windowStart: T0, partition: 0, measure: "country[US].revenue", expected: 200, actual: 250 },
    ]);
    expect(formatMeasure("country[US].revenue", 250)).toBe("2.50");
    expect(formatMeasure("country[US].orders", 3)).toBe("3");
  });
});

describe("comparisonCells", () => {
  it("lists every cell either side has, in order, with both sides' values and its mismatches, breakdown-only differences included", () => {
    const e = new WindowTableBuilder();
    e.setWindow(T0, 1, { revenue: 500, orders: 1, items: 1, customers: 1 });
    e.setWindow(T0, 0, { revenue: 1000, orders: 3, items: 4, customers: 2 });
    e.addAnomaly(T0, 0, "late", 1, 250);
    const a = new WindowTableBuilder();
    a.setWindow(T0, 0, { revenue: 900, orders: 3, items: 4, customers: 2 });
    a.addAnomaly(T0, 0, "late", 1, 250);
    a.setWindow(T0, 1, { revenue: 500, orders: 1, items: 1, customers: 1 });
    a.setWindow(T0 + MIN, 2, { revenue: 7, orders: 1, items: 1, customers: 1 });
    const windows = compareWindows(e.table(), a.table());
    const breakdown = { windowStart: T0, partition: 1, measure: "country[US].orders" as const, expected: 1, actual: 0 };
    const cells = comparisonCells(e.table(), a.table(), [...windows, breakdown]);
    expect(cells.map((c) => [c.windowStart - T0, c.partition, c.mismatches.map((m) => m.measure)])).toEqual([
      [0, 0, ["revenue"]],
      [0, 1, ["country[US].orders"]],
      [MIN, 2, ["revenue", "orders", "items", "customers"]],
    ]);
    expect(cells[0]).toMatchObject({ expected: { revenue: 1000, orders: 3, late_orders: 1, late_revenue: 250, duplicate_orders: 0 }, actual: { revenue: 900, late_revenue: 250 } });
    expect(cells[2]!.expected).toMatchObject({ revenue: null, orders: null, late_orders: 0 });
    expect(comparisonCells(e.table(), e.table(), []).every((c) => c.mismatches.length === 0)).toBe(true);
  });
});
