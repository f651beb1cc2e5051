/**
 * The Live page's tiles and their comparison with the same time yesterday. Pure: the route
 * handler reads the figures at two instants (now and 24 h before) and this shapes them.
 */

/** What the tiles are computed from, read at one instant. Money in currency units (cent-rounded floats), counts as integers. */
export interface TileFigures {
  /** On-time + late revenue since the start of the business day up to the instant. */
  dayRevenue: number;
  dayOrders: number;
  /** On-time + late orders in the 5 minutes before the instant. */
  recentOrders: number;
  recentMinutes: number;
  /** Distinct customers of the newest window (exact: a customer's orders share a partition). */
  lastWindowCustomers: number;
  /** Over the hour before the instant: on-time and late orders, messages consumed and rejected. */
  hourOrders: number;
  hourLate: number;
  hourConsumed: number;
  hourInvalid: number;
}

export type TileKey = "revenueToday" | "ordersPerMinute" | "averageOrderValue" | "customers" | "lateRate" | "invalidRate";

export interface Tile {
  key: TileKey;
  label: string;
  /** null when there is nothing to compute it from (no orders yet). */
  value: number | null;
  unit: "money" | "count" | "rate" | "percent";
  /** The same figure at the same time yesterday. */
  yesterday: number | null;
  /** (value − yesterday) / yesterday in percent, null when yesterday is null or 0. */
  changePct: number | null;
}

const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : null);

/** Percent change, rounded to 0.1 %; null without a non-zero base. */
export function percentChange(value: number | null, base: number | null): number | null {
  if (value === null || base === null || base === 0) return null;
  return Math.round(((value - base) / Math.abs(base)) * 1000) / 10;
}

function values(f: TileFigures): Record<TileKey, number | null> {
  return {
    revenueToday: Math.round(f.dayRevenue * 100) / 100,
    ordersPerMinute: f.recentMinutes > 0 ? Math.round((f.recentOrders / f.recentMinutes) * 10) / 10 : null,
    averageOrderValue: f.dayOrders > 0 ? Math.round((f.dayRevenue / f.dayOrders) * 100) / 100 : null,
    customers: f.lastWindowCustomers,
    lateRate: ratio(f.hourLate, f.hourOrders),
    invalidRate: ratio(f.hourInvalid, f.hourConsumed),
  };
}

/** The six tiles, each with yesterday's value and the change; `businessTz` labels the day. */
export function buildTiles(now: TileFigures, yesterday: TileFigures, businessTz: string): Tile[] {
  const today = values(now);
  const before = values(yesterday);
  const tile = (key: TileKey, label: string, unit: Tile["unit"]): Tile => ({ key, label, unit, value: today[key], yesterday: before[key], changePct: percentChange(today[key], before[key]) });
  return [
    tile("revenueToday", `Revenue today (${businessTz})`, "money"),
    tile("ordersPerMinute", "Orders / min (last 5 min)", "rate"),
    tile("averageOrderValue", "Average order value (today)", "money"),
    tile("customers", "Unique customers (last window)", "count"),
    tile("lateRate", "Late (last hour)", "percent"),
    tile("invalidRate", "Invalid (last hour)", "percent"),
  ];
}
