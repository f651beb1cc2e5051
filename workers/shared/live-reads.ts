/**
 * The Live page's reads from InfluxDB (InfluxQL through `influxQuery`, as the workers read).
 * Statements come from lib/web/live-queries.ts; this only runs them and shapes rows.
 */
import type { InfluxConfig } from "../../lib/contract/config.ts";
import { businessDay, localDateOf } from "../../lib/contract/business-day.ts";
import { WINDOW_DIMENSIONS } from "../../lib/contract/dimensions.ts";
import {
  anomalyTotalQuery,
  breakdownQuery,
  invalidShareQuery,
  lastWindowCustomersQuery,
  lateSeriesQuery,
  windowSeriesQuery,
  windowTotalQuery,
  type BreakdownDimension,
  type Span,
} from "../../lib/web/live-queries.ts";
import type { ChartRow } from "../../lib/web/live-series.ts";
import type { TileFigures } from "../../lib/web/tiles.ts";
import { influxQuery, InfluxQueryError, seriesRows, type InfluxSeries } from "./influxql.ts";

/**
 * influxQuery, with a database that does not exist yet read as empty: the metrics worker creates
 * it on its first write, and until then the dashboard has nothing to show, which is not an error.
 */
export async function influxRead(influx: InfluxConfig, statement: string): Promise<InfluxSeries[]> {
  try {
    return await influxQuery(influx, statement);
  } catch (error) {
    if (error instanceof InfluxQueryError && /database not found/i.test(error.message)) return [];
    throw error;
  }
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const cents = (x: number) => Math.round(x * 100) / 100;

/** Revenue, orders, late orders and finality per bucket of the span. */
export async function readSeries(influx: InfluxConfig, span: Span): Promise<ChartRow[]> {
  const [windows, late] = await Promise.all([influxRead(influx, windowSeriesQuery(span)), influxRead(influx, lateSeriesQuery(span))]);
  const rows = new Map<number, ChartRow>();
  for (const r of seriesRows(windows)) {
    rows.set(Number(r.time), { start: Number(r.time), revenue: cents(num(r.revenue)), orders: num(r.orders), late: 0, lateRevenue: 0, final: num(r.final) === 1 });
  }
  for (const r of seriesRows(late)) {
    const start = Number(r.time);
    const row = rows.get(start) ?? { start, revenue: 0, orders: 0, late: 0, lateRevenue: 0, final: true };
    row.late = num(r.orders);
    row.lateRevenue = cents(num(r.revenue));
    rows.set(start, row);
  }
  return [...rows.values()].sort((a, b) => a.start - b.start);
}

export interface BreakdownRow {
  key: string;
  revenue: number;
  orders: number;
}

/** Revenue and orders per value of each breakdown dimension over the span, largest revenue first. */
export async function readBreakdowns(influx: InfluxConfig, span: Span): Promise<Record<BreakdownDimension, BreakdownRow[]>> {
  const entries = await Promise.all(
    WINDOW_DIMENSIONS.map(async ({ dimension }) => {
      const rows = seriesRows(await influxRead(influx, breakdownQuery(dimension, span))).map((r) => ({ key: String(r[dimension]), revenue: cents(num(r.revenue)), orders: num(r.orders) }));
      return [dimension, rows.sort((a, b) => b.revenue - a.revenue)] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<BreakdownDimension, BreakdownRow[]>;
}

const MINUTE = 60_000;
const RECENT_MINUTES = 5;

/** The tiles' figures as of `at` (epoch ms), the business day taken in `businessTz`. */
export async function readTileFigures(influx: InfluxConfig, at: number, businessTz: string, windowSizeMs: number): Promise<TileFigures> {
  const day = businessDay(localDateOf(at, businessTz), businessTz);
  const dayRange = { fromMs: day.startMs, toMs: at };
  const recent = { fromMs: at - RECENT_MINUTES * MINUTE, toMs: at };
  const hour = { fromMs: at - 60 * MINUTE, toMs: at };
  const totals = async (range: { fromMs: number; toMs: number }) => {
    const [onTime, anomalies] = await Promise.all([influxRead(influx, windowTotalQuery(range)), influxRead(influx, anomalyTotalQuery(range))]);
    const w = seriesRows(onTime)[0] ?? {};
    const late = seriesRows(anomalies).find((r) => r.kind === "late") ?? {};
    return { revenue: num(w.revenue) + num(late.revenue), orders: num(w.orders) + num(late.orders), late: num(late.orders) };
  };
  const [today, last5, lastHour, customers, invalid] = await Promise.all([
    totals(dayRange),
    totals(recent),
    totals(hour),
    influxRead(influx, lastWindowCustomersQuery(hour, windowSizeMs)),
    influxRead(influx, invalidShareQuery(hour)),
  ]);
  const share = seriesRows(invalid).reduce<{ consumed: number; invalid: number }>((s, r) => ({ consumed: s.consumed + num(r.consumed), invalid: s.invalid + num(r.invalid) }), { consumed: 0, invalid: 0 });
  return {
    dayRevenue: cents(today.revenue),
    dayOrders: today.orders,
    recentOrders: last5.orders,
    recentMinutes: RECENT_MINUTES,
    lastWindowCustomers: num(seriesRows(customers)[0]?.customers),
    hourOrders: lastHour.orders,
    hourLate: lastHour.late,
    hourConsumed: share.consumed,
    hourInvalid: share.invalid,
  };
}
