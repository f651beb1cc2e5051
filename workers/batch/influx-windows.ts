/**
 * What InfluxDB holds for a range, per window start and partition, read with
 * InfluxQL (InfluxDB 1.x and 2.x alike): the `order_window` points' revenue,
 * orders, items and customers, the `order_anomaly` points summed per kind, and
 * every window dimension's points (WINDOW_DIMENSIONS) per key.
 * Anomaly points are read one by one and summed here in cents, so the sum is
 * exact (a float sum() in InfluxDB could be off by a rounding error).
 * The range is read a day at a time to keep responses bounded.
 */
import { MEASUREMENTS } from "../../lib/hot/influx-points.ts";
import { addToBreakdown, WindowTableBuilder, type BreakdownTable, type WindowTable, type TimeRange } from "../../lib/batch/reconcile.ts";
import { WINDOW_DIMENSIONS } from "../../lib/contract/dimensions.ts";
import { windowStartOf } from "../../lib/contract/time.ts";
import { unitsToCents } from "../../lib/contract/money.ts";
import type { InfluxConfig } from "../../lib/contract/config.ts";
import { influxQuery, seriesRows } from "../shared/influxql.ts";

const SLICE_MS = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A count as stored (an integer field), or null when the point has no such field. */
const count = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);
/** Money as stored (a float rounded to the cent) in cents, or null. */
const cents = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? unitsToCents(value) : null);

export interface ActualWindows {
  table: WindowTable;
  breakdowns: BreakdownTable;
}

export async function readActualWindows(config: InfluxConfig, range: TimeRange, windowSizeMs: number): Promise<ActualWindows> {
  const builder = new WindowTableBuilder();
  const breakdowns: BreakdownTable = new Map();
  for (let from = range.fromMs; from < range.toMs; from += SLICE_MS) {
    const to = Math.min(range.toMs, from + SLICE_MS);
    const where = `time >= '${iso(from)}' AND time < '${iso(to)}'`;
    const windows = await influxQuery(
      config,
      `SELECT "revenue", "orders", "items", "customers" FROM "${MEASUREMENTS.window}" WHERE ${where} GROUP BY "partition"`,
      60_000,
    );
    for (const row of seriesRows(windows)) {
      builder.setWindow(Number(row.time), Number(row.partition), {
        revenue: cents(row.revenue),
        orders: count(row.orders),
        items: count(row.items),
        customers: count(row.customers),
      });
    }
    const anomalies = await influxQuery(config, `SELECT "orders", "revenue" FROM "${MEASUREMENTS.anomaly}" WHERE ${where} GROUP BY "partition", "kind"`, 60_000);
    for (const row of seriesRows(anomalies)) {
      if (row.kind !== "late" && row.kind !== "duplicate") continue;
      // Times come back in ms; the nanosecond offset inside the window does not move it out.
      builder.addAnomaly(windowStartOf(Number(row.time), windowSizeMs), Number(row.partition), row.kind, count(row.orders) ?? 0, cents(row.revenue) ?? 0);
    }
    for (const { measurement, dimension } of WINDOW_DIMENSIONS) {
      const rows = await influxQuery(config, `SELECT "revenue", "orders" FROM "${measurement}" WHERE ${where} GROUP BY "partition", "${dimension}"`, 60_000);
      for (const row of seriesRows(rows))
        addToBreakdown(breakdowns, { windowStart: Number(row.time), partition: Number(row.partition), dimension, key: String(row[dimension]) }, cents(row.revenue) ?? 0, count(row.orders) ?? 0);
    }
  }
  return { table: builder.table(), breakdowns };
}

/**
 * The dim_customer version each window of the range recorded (`dims_version`
 * on its `order_window` point), by `${windowStart}/${partition}`; windows
 * written without a dimension have none.
 */
export async function readRecordedDimsVersions(config: InfluxConfig, range: TimeRange): Promise<Map<string, string>> {
  const recorded = new Map<string, string>();
  for (let from = range.fromMs; from < range.toMs; from += SLICE_MS) {
    const where = `time >= '${iso(from)}' AND time < '${iso(Math.min(range.toMs, from + SLICE_MS))}'`;
    const rows = await influxQuery(config, `SELECT "dims_version" FROM "${MEASUREMENTS.window}" WHERE ${where} GROUP BY "partition"`, 60_000);
    for (const row of seriesRows(rows)) if (typeof row.dims_version === "string") recorded.set(`${Number(row.time)}/${Number(row.partition)}`, row.dims_version);
  }
  return recorded;
}
