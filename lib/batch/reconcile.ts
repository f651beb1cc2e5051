/**
 * Comparing what InfluxDB should hold (the lake, replayed) with what it holds,
 * window by window and partition by partition. Pure.
 *
 * Measures per (window start, partition): the `order_window` point's revenue,
 * orders, items and customers (absent when there is no point), and the
 * `order_anomaly` points' count and revenue per kind (0 when there are none).
 * Money is compared in whole cents: InfluxDB stores it as a float rounded to
 * the cent, so cents read back exactly.
 */
import type { ReplayObserver } from "./replay.ts";
import { type AnomalyRecord, type WindowValue } from "../hot/window-engine.ts";
import { amountToCents, formatCents } from "../contract/money.ts";
import { windowStartOf } from "../contract/time.ts";

export const WINDOW_MEASURES = ["revenue", "orders", "items", "customers"] as const;
export const ANOMALY_MEASURES = ["late_orders", "late_revenue", "duplicate_orders", "duplicate_revenue"] as const;
export type WindowMeasure = (typeof WINDOW_MEASURES)[number];
export type AnomalyMeasure = (typeof ANOMALY_MEASURES)[number];
export type Measure = WindowMeasure | AnomalyMeasure;

const MONEY: ReadonlySet<Measure> = new Set(["revenue", "late_revenue", "duplicate_revenue"]);

export class ReconcileRangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReconcileRangeError";
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
export interface MinuteCell {
  windowStart: number;
  partition: number;
  /** Undefined when there is no `order_window` point. */
  window?: WindowMeasures;
  anomalies: AnomalyMeasures;
}

/** Cells by `${windowStart}/${partition}`. */
export type MinuteTable = Map<string, MinuteCell>;

const noAnomalies = (): AnomalyMeasures => ({ late_orders: 0, late_revenue: 0, duplicate_orders: 0, duplicate_revenue: 0 });

export class MinuteTableBuilder {
  private readonly cells: MinuteTable = new Map();

  private cell(windowStart: number, partition: number): MinuteCell {
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

  table(): MinuteTable {
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

  table(): MinuteTable {
    const builder = new MinuteTableBuilder();
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
export function compareMinutes(expected: MinuteTable, actual: MinuteTable): Mismatch[] {
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
  const measures: readonly Measure[] = [...WINDOW_MEASURES, ...ANOMALY_MEASURES];
  const order = (m: Measure) => measures.indexOf(m);
  return mismatches.sort((x, y) => x.windowStart - y.windowStart || x.partition - y.partition || order(x.measure) - order(y.measure));
}

/** A value as the report prints it: money with two decimals, `missing` for no point. */
export function formatMeasure(measure: Measure, value: number | null): string {
  if (value === null) return "missing";
  return MONEY.has(measure) ? formatCents(value) : String(value);
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

export function summarize(range: TimeRange, expected: MinuteTable, actual: MinuteTable, mismatches: readonly Mismatch[]): ReconcileSummary {
  const windows = (table: MinuteTable) => [...table.values()].filter((c) => c.window).length;
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
