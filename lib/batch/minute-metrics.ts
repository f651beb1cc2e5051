/**
 * The silver minute_metrics table: per window of the day, the hot path's
 * window values summed over partitions, and its late and duplicate events —
 * what InfluxDB's `order_window` and `order_anomaly` hold for that minute, as
 * computed by the same engine replay as reconcile (lib/batch/replay.ts). Pure.
 *
 * Per (window, partition) the last value the replay releases wins (later
 * values supersede earlier partials, as InfluxDB upserts do); a minute's
 * figures are then sums over partitions, as `sum()` over the `partition` tag
 * is (customers: distinct per partition, summed, exactly as InfluxDB's total).
 * The replay's caveat applies: idle advances of the live run are not in the
 * lake (replay.ts).
 */
import { amountToCents, formatCents } from "../contract/money.ts";
import type { AnomalyRecord, WindowValue } from "../hot/window-engine.ts";
import type { BatchTable, GoldRow } from "./daily-kpis.ts";

export const SILVER_ROOT = "silver";

export const MINUTE_METRICS_TABLE: BatchTable = {
  name: "minute_metrics",
  columns: [
    { name: "window_start", sqlType: "TIMESTAMP" },
    { name: "orders", sqlType: "BIGINT" },
    { name: "revenue", sqlType: "DECIMAL(18,2)" },
    { name: "items", sqlType: "BIGINT" },
    { name: "customers", sqlType: "BIGINT" },
    { name: "late_orders", sqlType: "BIGINT" },
    { name: "late_revenue", sqlType: "DECIMAL(18,2)" },
    { name: "duplicates", sqlType: "BIGINT" },
  ],
  orderBy: "window_start",
};

/** `silver/minute_metrics/event_date=YYYY-MM-DD/minute_metrics.parquet`, relative to LAKE_DIR. */
export const minuteMetricsPath = (date: string): string => `${SILVER_ROOT}/${MINUTE_METRICS_TABLE.name}/event_date=${date}/${MINUTE_METRICS_TABLE.name}.parquet`;

export interface MinuteRow {
  /** Window start, epoch ms (UTC). */
  windowStart: number;
  orders: number;
  revenueCents: number;
  items: number;
  customers: number;
  lateOrders: number;
  lateRevenueCents: number;
  duplicates: number;
}

/** Collects the replay's windows and anomalies whose window starts in [fromMs, toMs). */
export class MinuteMetrics {
  private readonly windows = new Map<string, WindowValue>();
  private readonly anomalies = new Map<number, { late: number; lateCents: number; duplicates: number }>();

  constructor(
    private readonly fromMs: number,
    private readonly toMs: number,
  ) {}

  private inRange(windowStart: number): boolean {
    return windowStart >= this.fromMs && windowStart < this.toMs;
  }

  window(value: WindowValue): void {
    if (this.inRange(value.windowStart)) this.windows.set(`${value.windowStart}/${value.partition}`, value);
  }

  anomaly(anomaly: AnomalyRecord): void {
    if (!this.inRange(anomaly.windowStart)) return;
    const cell = this.anomalies.get(anomaly.windowStart) ?? { late: 0, lateCents: 0, duplicates: 0 };
    if (anomaly.kind === "late") {
      cell.late++;
      cell.lateCents += amountToCents(anomaly.amount);
    } else cell.duplicates++;
    this.anomalies.set(anomaly.windowStart, cell);
  }

  /** One row per window with on-time orders or anomalies, by window start. */
  rows(): MinuteRow[] {
    const rows = new Map<number, MinuteRow>();
    const row = (windowStart: number) => {
      let r = rows.get(windowStart);
      if (!r) rows.set(windowStart, (r = { windowStart, orders: 0, revenueCents: 0, items: 0, customers: 0, lateOrders: 0, lateRevenueCents: 0, duplicates: 0 }));
      return r;
    };
    for (const value of this.windows.values()) {
      const r = row(value.windowStart);
      r.orders += value.orders;
      r.revenueCents += value.revenueCents;
      r.items += value.items;
      r.customers += value.customers;
    }
    for (const [windowStart, cell] of this.anomalies) {
      const r = row(windowStart);
      r.lateOrders += cell.late;
      r.lateRevenueCents += cell.lateCents;
      r.duplicates += cell.duplicates;
    }
    return [...rows.values()].sort((a, b) => a.windowStart - b.windowStart);
  }
}

/** `2026-11-20 10:00:00.000`: a UTC TIMESTAMP as DuckDB casts it from text. */
const timestampText = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");

export function minuteGoldRow(row: MinuteRow): GoldRow {
  return [timestampText(row.windowStart), row.orders, formatCents(row.revenueCents), row.items, row.customers, row.lateOrders, formatCents(row.lateRevenueCents), row.duplicates];
}
