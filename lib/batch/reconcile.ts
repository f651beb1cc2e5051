/**
 * Comparing what InfluxDB should hold (the lake, replayed) with what it holds,
 * window by window and partition by partition. Pure.
 *
 * Measures per (window start, partition): the `order_window` point's revenue,
 * orders, items and customers (absent when there is no point), the
 * `order_anomaly` points' count and revenue per kind (0 when there are none),
 * and, in a BreakdownTable, revenue and orders per key of every window
 * dimension (WINDOW_DIMENSIONS: `order_window_by_country`, …).
 * Money is compared in whole cents: InfluxDB stores it as a float rounded to
 * the cent, so cents read back exactly.
 */
import type { ReplayObserver } from "./replay.ts";
import { WINDOW_DIMENSIONS, type WindowDimensionName } from "../contract/dimensions.ts";
import { type AnomalyRecord, type WindowValue } from "../hot/window-engine.ts";
import { amountToCents, formatCents } from "../contract/money.ts";
import { windowStartOf } from "../contract/time.ts";

export const WINDOW_MEASURES = ["revenue", "orders", "items", "customers"] as const;
export const ANOMALY_MEASURES = ["late_orders", "late_revenue", "duplicate_orders", "duplicate_revenue"] as const;
export type WindowMeasure = (typeof WINDOW_MEASURES)[number];
export type AnomalyMeasure = (typeof ANOMALY_MEASURES)[number];
/** A window dimension's measure for one key, e.g. `country[US].revenue`. */
export type BreakdownMeasure = `${WindowDimensionName}[${string}].${"revenue" | "orders"}`;
export type Measure = WindowMeasure | AnomalyMeasure | BreakdownMeasure;

const MONEY: ReadonlySet<Measure> = new Set(["revenue", "late_revenue", "duplicate_revenue"]);
const isMoney = (measure: Measure) => MONEY.has(measure) || measure.endsWith("].revenue");

export class ReconcileRangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReconcileRangeError";
  }
}

/** A reconciliation compare of another range is running (one at a time per server): try again shortly; the API answers 429. */
export class ReconcileBusyError extends Error {
  override name = "ReconcileBusyError";
  constructor(readonly running: string) {
    super(`busy: a reconciliation compare of ${running} is running (one at a time per server); try again in a moment`);
  }
}

/** Half-open [fromMs, toMs), on window boundaries. */
export interface TimeRange {
  fromMs: number;
  toMs: number;
}

/** Widens [from, to) to whole windows: every window that overlaps it. */
export function alignRange(fromMs: number, toMs: number, windowSizeMs: number): TimeRange {
  if (!Number.isSafeInteger(fromMs) || !Number.isSafeInteger(toMs)) throw new ReconcileRangeError(`the range ends must be instants (got ${fromMs}, ${toMs})`);
  if (fromMs >= toMs) throw new ReconcileRangeError(`--from (${new Date(fromMs).toISOString()}) must be before --to (${new Date(toMs).toISOString()})`);
  const from = windowStartOf(fromMs, windowSizeMs);
  const lastStart = windowStartOf(toMs - 1, windowSizeMs);
  return { fromMs: from, toMs: lastStart + windowSizeMs };
}

export const inRange = (range: TimeRange, ms: number) => ms >= range.fromMs && ms < range.toMs;

/** null: the point has no such field. */
export type WindowMeasures = Record<WindowMeasure, number | null>;
export type AnomalyMeasures = Record<AnomalyMeasure, number>;

/** Everything compared for one window start and partition; revenue in cents. */
export interface WindowCell {
  windowStart: number;
  partition: number;
  /** Undefined when there is no `order_window` point. */
  window?: WindowMeasures;
  anomalies: AnomalyMeasures;
}

/** Cells by `${windowStart}/${partition}`. */
export type WindowTable = Map<string, WindowCell>;

/** One key of one window dimension in one window and partition; revenue in cents. */
export interface BreakdownCell {
  windowStart: number;
  partition: number;
  dimension: WindowDimensionName;
  key: string;
  revenue: number;
  orders: number;
}

/** Cells by `${windowStart}/${partition}/${dimension}/${key}`. */
export type BreakdownTable = Map<string, BreakdownCell>;

/** Adds revenue (cents) and orders to a breakdown cell, creating it at zero. */
export function addToBreakdown(table: BreakdownTable, cell: Omit<BreakdownCell, "revenue" | "orders">, revenueCents: number, orders: number): void {
  const key = `${cell.windowStart}/${cell.partition}/${cell.dimension}/${cell.key}`;
  const existing = table.get(key);
  if (existing) {
    existing.revenue += revenueCents;
    existing.orders += orders;
  } else table.set(key, { ...cell, revenue: revenueCents, orders });
}

const noAnomalies = (): AnomalyMeasures => ({ late_orders: 0, late_revenue: 0, duplicate_orders: 0, duplicate_revenue: 0 });

export class WindowTableBuilder {
  private readonly cells: WindowTable = new Map();

  private cell(windowStart: number, partition: number): WindowCell {
    const key = `${windowStart}/${partition}`;
    let cell = this.cells.get(key);
    if (!cell) {
      cell = { windowStart, partition, anomalies: noAnomalies() };
      this.cells.set(key, cell);
    }
    return cell;
  }

  setWindow(windowStart: number, partition: number, measures: WindowMeasures): void {
    this.cell(windowStart, partition).window = { ...measures };
  }

  addAnomaly(windowStart: number, partition: number, kind: "late" | "duplicate", orders: number, revenueCents: number): void {
    const anomalies = this.cell(windowStart, partition).anomalies;
    anomalies[`${kind}_orders`] += orders;
    anomalies[`${kind}_revenue`] += revenueCents;
  }

  table(): WindowTable {
    return this.cells;
  }
}

/**
 * Keeps, from a replay, what falls in `range`: the latest value of every window
 * (a final value, or the partial value the replay ended with) and every anomaly.
 */
export class ExpectedCollector implements ReplayObserver {
  private readonly latest = new Map<string, WindowValue>();
  private readonly kept: AnomalyRecord[] = [];

  constructor(private readonly range: TimeRange) {}

  window(value: WindowValue): void {
    if (inRange(this.range, value.windowStart)) this.latest.set(`${value.windowStart}/${value.partition}`, value);
  }

  anomaly(anomaly: AnomalyRecord): void {
    if (inRange(this.range, anomaly.windowStart)) this.kept.push(anomaly);
  }

  /** Sorted by window start, then partition. */
  windows(): WindowValue[] {
    return [...this.latest.values()].sort((a, b) => a.windowStart - b.windowStart || a.partition - b.partition);
  }

  anomalies(): AnomalyRecord[] {
    return [...this.kept];
  }

  /** Per window dimension and key, the latest window values' totals. */
  breakdownTable(): BreakdownTable {
    const table: BreakdownTable = new Map();
    for (const value of this.latest.values())
      for (const d of WINDOW_DIMENSIONS)
        for (const total of value[d.field])
          addToBreakdown(table, { windowStart: value.windowStart, partition: value.partition, dimension: d.dimension, key: total.key }, total.revenueCents, total.orders);
    return table;
  }

  table(): WindowTable {
    const builder = new WindowTableBuilder();
    for (const value of this.latest.values())
      builder.setWindow(value.windowStart, value.partition, {
        revenue: value.revenueCents,
        orders: value.orders,
        items: value.items,
        customers: value.customers,
      });
    for (const a of this.kept) builder.addAnomaly(a.windowStart, a.partition, a.kind, 1, amountToCents(a.amount));
    return builder.table();
  }
}

export interface Mismatch {
  windowStart: number;
  partition: number;
  measure: Measure;
  /** null: no `order_window` point should exist / exists. */
  expected: number | null;
  actual: number | null;
}

/** Every measure that differs, sorted by window start, partition, then measure in declaration order. */
export function compareWindows(expected: WindowTable, actual: WindowTable): Mismatch[] {
  const mismatches: Mismatch[] = [];
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    const e = expected.get(key);
    const a = actual.get(key);
    const { windowStart, partition } = (e ?? a)!;
    if (e?.window || a?.window)
      for (const measure of WINDOW_MEASURES) {
        const expectedValue = e?.window?.[measure] ?? null;
        const actualValue = a?.window?.[measure] ?? null;
        if (expectedValue !== actualValue) mismatches.push({ windowStart, partition, measure, expected: expectedValue, actual: actualValue });
      }
    for (const measure of ANOMALY_MEASURES) {
      const expectedValue = e?.anomalies[measure] ?? 0;
      const actualValue = a?.anomalies[measure] ?? 0;
      if (expectedValue !== actualValue) mismatches.push({ windowStart, partition, measure, expected: expectedValue, actual: actualValue });
    }
  }
  return sortMismatches(mismatches);
}

const MEASURE_ORDER: readonly Measure[] = [...WINDOW_MEASURES, ...ANOMALY_MEASURES];
/** Window and anomaly measures in declaration order, then breakdown measures by name. */
const measureRank = (m: Measure) => (MEASURE_ORDER.includes(m) ? MEASURE_ORDER.indexOf(m) : MEASURE_ORDER.length);

/** Sorted by window start, partition, then measure. */
export function sortMismatches(mismatches: Mismatch[]): Mismatch[] {
  return mismatches.sort(
    (x, y) =>
      x.windowStart - y.windowStart ||
      x.partition - y.partition ||
      measureRank(x.measure) - measureRank(y.measure) ||
      (x.measure < y.measure ? -1 : x.measure > y.measure ? 1 : 0),
  );
}

/**
 * Every breakdown measure that differs, as `<dimension>[<key>].revenue|orders`;
 * a key missing on one side counts as 0 revenue and 0 orders (InfluxDB has no
 * point for a key without on-time orders).
 */
export function compareBreakdowns(expected: BreakdownTable, actual: BreakdownTable): Mismatch[] {
  const mismatches: Mismatch[] = [];
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    const e = expected.get(key);
    const a = actual.get(key);
    const { windowStart, partition, dimension, key: value } = (e ?? a)!;
    for (const field of ["revenue", "orders"] as const) {
      const expectedValue = e?.[field] ?? 0;
      const actualValue = a?.[field] ?? 0;
      if (expectedValue !== actualValue) mismatches.push({ windowStart, partition, measure: `${dimension}[${value}].${field}`, expected: expectedValue, actual: actualValue });
    }
  }
  return sortMismatches(mismatches);
}

/** A value as the report prints it: money with two decimals, `missing` for no point. */
export function formatMeasure(measure: Measure, value: number | null): string {
  if (value === null) return "missing";
  return isMoney(measure) ? formatCents(value) : String(value);
}

/** The report's rows: window start (ISO), partition, measure, expected, actual. */
export function mismatchRows(mismatches: readonly Mismatch[]): string[][] {
  return mismatches.map((m) => [
    new Date(m.windowStart).toISOString(),
    String(m.partition),
    m.measure,
    formatMeasure(m.measure, m.expected),
    formatMeasure(m.measure, m.actual),
  ]);
}

export const MISMATCH_COLUMNS = ["window_start", "partition", "measure", "expected", "actual"] as const;

export interface ReconcileSummary {
  status: "equal" | "mismatched";
  range: TimeRange;
  expectedWindows: number;
  actualWindows: number;
  expectedAnomalies: number;
  mismatches: number;
  /** Distinct (window, partition) cells with at least one mismatch. */
  mismatchedCells: number;
}

export function summarize(range: TimeRange, expected: WindowTable, actual: WindowTable, mismatches: readonly Mismatch[]): ReconcileSummary {
  const windows = (table: WindowTable) => [...table.values()].filter((c) => c.window).length;
  const anomalies = [...expected.values()].reduce((sum, c) => sum + c.anomalies.late_orders + c.anomalies.duplicate_orders, 0);
  return {
    status: mismatches.length === 0 ? "equal" : "mismatched",
    range,
    expectedWindows: windows(expected),
    actualWindows: windows(actual),
    expectedAnomalies: anomalies,
    mismatches: mismatches.length,
    mismatchedCells: new Set(mismatches.map((m) => `${m.windowStart}/${m.partition}`)).size,
  };
}

/** One `summary key=value …` line, machine-readable like the simulator's. */
export function summaryLine(summary: ReconcileSummary): string {
  return [
    "summary",
    `status=${summary.status}`,
    `from=${new Date(summary.range.fromMs).toISOString()}`,
    `to=${new Date(summary.range.toMs).toISOString()}`,
    `expected_windows=${summary.expectedWindows}`,
    `actual_windows=${summary.actualWindows}`,
    `expected_anomalies=${summary.expectedAnomalies}`,
    `mismatches=${summary.mismatches}`,
    `mismatched_cells=${summary.mismatchedCells}`,
  ].join(" ");
}

/**
 * Partitions with cells in `actual` (InfluxDB) but none in `expected` (the lake's replay) over the same range,
 * ascending. A repair deletes the range for every partition, so for these it would delete windows the lake
 * cannot rewrite: the usual cause is a wrong or partial LAKE_DIR, not a wrong InfluxDB.
 */
export function partitionsMissingFromLake(expected: ReadonlyMap<string, { partition: number }>, actual: ReadonlyMap<string, { partition: number }>): number[] {
  const inLake = new Set([...expected.values()].map((cell) => cell.partition));
  return [...new Set([...actual.values()].map((cell) => cell.partition))].filter((p) => !inLake.has(p)).sort((a, b) => a - b);
}

/** The reconciliation view's measures per cell: on-time revenue (cents) and orders, late and duplicate counts and revenue (cents). */
export const VIEW_MEASURES = ["revenue", "orders", "late_orders", "late_revenue", "duplicate_orders", "duplicate_revenue"] as const;
export type ViewMeasure = (typeof VIEW_MEASURES)[number];
export type ViewValues = Record<ViewMeasure, number | null>;

/** One (window, partition) of the reconciliation view: the lake replay's values, InfluxDB's, and every measure that differs (dimensions included). */
export interface ComparisonCell {
  windowStart: number;
  partition: number;
  expected: ViewValues;
  actual: ViewValues;
  mismatches: Mismatch[];
}

const viewValues = (cell: WindowCell | undefined): ViewValues => ({
  revenue: cell?.window?.revenue ?? null,
  orders: cell?.window?.orders ?? null,
  late_orders: cell?.anomalies.late_orders ?? 0,
  late_revenue: cell?.anomalies.late_revenue ?? 0,
  duplicate_orders: cell?.anomalies.duplicate_orders ?? 0,
  duplicate_revenue: cell?.anomalies.duplicate_revenue ?? 0,
});

/**
 * Every (window, partition) either side has, sorted by window start then partition, with
 * its mismatches (from compareWindows and compareBreakdowns) attached; a cell with only
 * breakdown points still shows.
 */
export function comparisonCells(expected: WindowTable, actual: WindowTable, mismatches: readonly Mismatch[]): ComparisonCell[] {
  const byCell = new Map<string, Mismatch[]>();
  for (const m of mismatches) {
    const key = `${m.windowStart}/${m.partition}`;
    byCell.set(key, [...(byCell.get(key) ?? []), m]);
  }
  const keys = new Set([...expected.keys(), ...actual.keys(), ...byCell.keys()]);
  return [...keys]
    .map((key) => {
      const [windowStart, partition] = key.split("/").map(Number) as [number, number];
      return { windowStart, partition, expected: viewValues(expected.get(key)), actual: viewValues(actual.get(key)), mismatches: byCell.get(key) ?? [] };
    })
    .sort((a, b) => a.windowStart - b.windowStart || a.partition - b.partition);
}
