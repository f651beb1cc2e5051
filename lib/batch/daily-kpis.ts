/**
 * The gold daily tables: what a business day's numbers are, how they are
 * added up, what makes them impossible, and where their files go. Pure.
 *
 * Definitions (for the business day D in BUSINESS_TZ, see business-day.ts):
 * - orders, revenue, customers, items: over the de-duplicated valid orders (the
 *   lake's `orders` view: per order_id and partition the copy at the lowest
 *   offset wins, lib/lake/first-copies.ts) whose event_time falls on D. Revenue
 *   is the sum of per-order cents (amountToCents), exactly as the hot path adds
 *   it; AOV = revenue / orders, rounded half up to the cent. customers =
 *   distinct non-null customer_id.
 * - duplicates: lake rows on D (by their own event_time) whose order_id was
 *   already seen in their partition at a lower offset (`orders_duplicates`). No
 *   horizon: a re-send a day later is still a duplicate here, while the hot
 *   path (whose de-duplication forgets after WINDOW_SIZE + WATERMARK_DELAY of
 *   event time) calls it late.
 * - late: valid lake rows on D that the hot path classifies late, computed by
 *   replaying orders_raw per partition in offset order through WindowEngine.
 *   Late orders are still in orders and revenue: the lake keeps everything.
 * - invalid: orders_invalid rows the lake took in on D (by ingested_at). An
 *   invalid message often has no usable event time (that is often why it is
 *   invalid), so the day it arrived is the only day it reliably has. The lake
 *   worker's `offset_gap` rows (offsets Kafka deleted before the lake read
 *   them) are not messages and are not counted; the batch warns about them.
 * Every row on D is either its order's winning copy or a duplicate, so
 * orders + duplicates = the lake's valid rows on D: a cross-check of two queries.
 */
import { amountToCents, formatCents } from "../contract/money.ts";

export const GOLD_ROOT = "gold";

export interface GoldColumn {
  name: string;
  /** DuckDB type of the column in the Parquet file (TIMESTAMP: UTC, bound as `YYYY-MM-DD HH:MM:SS.mmm`). */
  sqlType: "DATE" | "VARCHAR" | "BIGINT" | "DECIMAL(18,2)" | "BOOLEAN" | "TIMESTAMP";
}

/** A table the batch writes (gold, or the silver minute_metrics). */
export interface BatchTable {
  name: string;
  columns: readonly GoldColumn[];
  /** ORDER BY of its files (and of the export): a rerun writes the same bytes. */
  orderBy: string;
}

export interface GoldTable extends BatchTable {
  name: "daily_kpis" | "daily_country_category" | "daily_segment_metrics" | "daily_premium_metrics";
}

export const DAILY_KPIS_TABLE: GoldTable = {
  name: "daily_kpis",
  columns: [
    { name: "date", sqlType: "DATE" },
    { name: "business_tz", sqlType: "VARCHAR" },
    { name: "orders", sqlType: "BIGINT" },
    { name: "revenue", sqlType: "DECIMAL(18,2)" },
    { name: "aov", sqlType: "DECIMAL(18,2)" },
    { name: "customers", sqlType: "BIGINT" },
    { name: "items", sqlType: "BIGINT" },
    { name: "late", sqlType: "BIGINT" },
    { name: "duplicates", sqlType: "BIGINT" },
    { name: "invalid", sqlType: "BIGINT" },
  ],
  orderBy: "date",
};

export const DAILY_COUNTRY_CATEGORY_TABLE: GoldTable = {
  name: "daily_country_category",
  columns: [
    { name: "date", sqlType: "DATE" },
    { name: "country", sqlType: "VARCHAR" },
    { name: "category", sqlType: "VARCHAR" },
    { name: "orders", sqlType: "BIGINT" },
    { name: "revenue", sqlType: "DECIMAL(18,2)" },
    { name: "revenue_rank", sqlType: "BIGINT" },
  ],
  orderBy: "date, country, revenue_rank, category",
};

/**
 * Per country, each customer segment (dim_customer at the version in force when the order's
 * window started, by load time; UNKNOWN when absent) with its revenue rank in the country.
 */
export const DAILY_SEGMENT_METRICS_TABLE: GoldTable = {
  name: "daily_segment_metrics",
  columns: [
    { name: "date", sqlType: "DATE" },
    { name: "country", sqlType: "VARCHAR" },
    { name: "segment", sqlType: "VARCHAR" },
    { name: "orders", sqlType: "BIGINT" },
    { name: "revenue", sqlType: "DECIMAL(18,2)" },
    { name: "rank", sqlType: "BIGINT" },
  ],
  orderBy: "date, country, rank, segment",
};

/** Per country, premium and other customers (a customer absent from dim_customer is not premium). */
export const DAILY_PREMIUM_METRICS_TABLE: GoldTable = {
  name: "daily_premium_metrics",
  columns: [
    { name: "date", sqlType: "DATE" },
    { name: "country", sqlType: "VARCHAR" },
    { name: "is_premium", sqlType: "BOOLEAN" },
    { name: "orders", sqlType: "BIGINT" },
    { name: "revenue", sqlType: "DECIMAL(18,2)" },
  ],
  orderBy: "date, country, is_premium",
};

export const GOLD_TABLES: readonly GoldTable[] = [DAILY_KPIS_TABLE, DAILY_COUNTRY_CATEGORY_TABLE, DAILY_SEGMENT_METRICS_TABLE, DAILY_PREMIUM_METRICS_TABLE];

/** `gold/<table>/date=YYYY-MM-DD`, relative to LAKE_DIR (Hive style). */
export function goldDayDir(table: GoldTable["name"], date: string): string {
  return `${GOLD_ROOT}/${table}/date=${date}`;
}

/** The files of one table and day: `<table>.parquet` and `<table>.csv` in goldDayDir. */
export function goldDayFiles(table: GoldTable["name"], date: string): { parquet: string; csv: string } {
  const dir = goldDayDir(table, date);
  return { parquet: `${dir}/${table}.parquet`, csv: `${dir}/${table}.csv` };
}

/** Revenue per order in cents, rounded half up; 0 for no orders. */
export function aovCents(revenueCents: number, orders: number): number {
  return orders === 0 ? 0 : Math.round(revenueCents / orders);
}

/** The fields of an order the daily totals use. */
export interface DailyOrder {
  customerId: string | null;
  quantity: number;
  amount: number;
  country: string;
  category: string;
  /** The customer's segment in dim_customer (orders_enriched: UNKNOWN when absent). */
  segment: string;
  isPremium: boolean;
}

/** Orders and revenue of one group of a day's orders, e.g. one country × segment. */
export interface GroupTotals<K> {
  key: K;
  orders: number;
  revenueCents: number;
}

/** Adds one order's cents to the group `id` (created with `key` on first use). */
function addToGroup<K>(groups: Map<string, GroupTotals<K>>, id: string, key: K, cents: number): void {
  const group = groups.get(id);
  if (group) {
    group.orders++;
    group.revenueCents += cents;
  } else groups.set(id, { key, orders: 1, revenueCents: cents });
}

export interface DailyTotals {
  orders: number;
  revenueCents: number;
  customers: number;
  items: number;
  /** Largest and smallest single order, in cents (0 when there are none). */
  maxOrderCents: number;
  minOrderCents: number;
  /** Per "country\u0000category". */
  byCountryCategory: Map<string, { country: string; category: string; orders: number; revenueCents: number }>;
  /** Per "country\u0000segment". */
  bySegment: Map<string, GroupTotals<{ country: string; segment: string }>>;
  /** Per "country\u0000is_premium". */
  byPremium: Map<string, GroupTotals<{ country: string; isPremium: boolean }>>;
}

/** Adds up one day's de-duplicated orders. */
export class DailyAggregator {
  private orders = 0;
  private revenueCents = 0;
  private items = 0;
  private maxOrderCents = -Infinity;
  private minOrderCents = Infinity;
  private readonly customers = new Set<string>();
  private readonly byCountryCategory: DailyTotals["byCountryCategory"] = new Map();
  private readonly bySegment: DailyTotals["bySegment"] = new Map();
  private readonly byPremium: DailyTotals["byPremium"] = new Map();

  add(order: DailyOrder): void {
    const cents = amountToCents(order.amount);
    this.orders++;
    this.revenueCents += cents;
    this.items += order.quantity;
    this.maxOrderCents = Math.max(this.maxOrderCents, cents);
    this.minOrderCents = Math.min(this.minOrderCents, cents);
    if (order.customerId !== null) this.customers.add(order.customerId);
    const key = `${order.country}\u0000${order.category}`;
    const cell = this.byCountryCategory.get(key);
    if (cell) {
      cell.orders++;
      cell.revenueCents += cents;
    } else {
      this.byCountryCategory.set(key, { country: order.country, category: order.category, orders: 1, revenueCents: cents });
    }
    addToGroup(this.bySegment, `${order.country}\u0000${order.segment}`, { country: order.country, segment: order.segment }, cents);
    addToGroup(this.byPremium, `${order.country}\u0000${order.isPremium}`, { country: order.country, isPremium: order.isPremium }, cents);
  }

  totals(): DailyTotals {
    return {
      orders: this.orders,
      revenueCents: this.revenueCents,
      customers: this.customers.size,
      items: this.items,
      maxOrderCents: this.orders === 0 ? 0 : this.maxOrderCents,
      minOrderCents: this.orders === 0 ? 0 : this.minOrderCents,
      byCountryCategory: new Map(this.byCountryCategory),
      bySegment: new Map(this.bySegment),
      byPremium: new Map(this.byPremium),
    };
  }
}

export interface DailyKpis {
  date: string;
  businessTz: string;
  orders: number;
  revenueCents: number;
  aovCents: number;
  customers: number;
  items: number;
  late: number;
  duplicates: number;
  invalid: number;
}

export interface CountryCategoryRow {
  date: string;
  country: string;
  category: string;
  orders: number;
  revenueCents: number;
  /** 1 = highest revenue within the country; ties share a rank and skip the next (SQL rank()). */
  revenueRank: number;
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Ranks groups by revenue within their country (1 = highest; ties share a rank
 * and skip the next, as SQL rank()); sorted by country, rank, then `name`.
 */
function rankWithinCountry<T extends { country: string; revenueCents: number }>(groups: Iterable<T>, name: (group: T) => string): (T & { rank: number })[] {
  const byCountry = new Map<string, (T & { rank: number })[]>();
  for (const group of groups) {
    const rows = byCountry.get(group.country);
    if (rows) rows.push({ ...group, rank: 0 });
    else byCountry.set(group.country, [{ ...group, rank: 0 }]);
  }
  const result: (T & { rank: number })[] = [];
  for (const country of [...byCountry.keys()].sort(compareText)) {
    const rows = byCountry.get(country)!.sort((a, b) => b.revenueCents - a.revenueCents || compareText(name(a), name(b)));
    rows.forEach((row, i) => {
      row.rank = i > 0 && rows[i - 1]!.revenueCents === row.revenueCents ? rows[i - 1]!.rank : i + 1;
    });
    result.push(...rows);
  }
  return result;
}

/** The day's country × category rows, ranked by revenue within each country; sorted by country, rank, category. */
export function countryCategoryRows(date: string, totals: DailyTotals): CountryCategoryRow[] {
  return rankWithinCountry(totals.byCountryCategory.values(), (c) => c.category).map((c) => ({
    date,
    country: c.country,
    category: c.category,
    orders: c.orders,
    revenueCents: c.revenueCents,
    revenueRank: c.rank,
  }));
}

export interface SegmentRow {
  date: string;
  country: string;
  segment: string;
  orders: number;
  revenueCents: number;
  /** Revenue rank of the segment within its country, 1 = highest (ties as SQL rank()). */
  rank: number;
}

export interface PremiumRow {
  date: string;
  country: string;
  isPremium: boolean;
  orders: number;
  revenueCents: number;
}

/** The day's country × segment rows, ranked within each country; sorted by country, rank, segment. */
export function segmentRows(date: string, totals: DailyTotals): SegmentRow[] {
  const groups = [...totals.bySegment.values()].map((g) => ({ country: g.key.country, segment: g.key.segment, orders: g.orders, revenueCents: g.revenueCents }));
  return rankWithinCountry(groups, (g) => g.segment).map((g) => ({ date, ...g }));
}

/** The day's country × is_premium rows; sorted by country, then not premium before premium. */
export function premiumRows(date: string, totals: DailyTotals): PremiumRow[] {
  return [...totals.byPremium.values()]
    .map((g) => ({ date, country: g.key.country, isPremium: g.key.isPremium, orders: g.orders, revenueCents: g.revenueCents }))
    .sort((a, b) => compareText(a.country, b.country) || Number(a.isPremium) - Number(b.isPremium));
}

/** What the batch measured besides the orders themselves. */
export interface DailyCounts {
  late: number;
  duplicates: number;
  invalid: number;
  /** Valid lake rows (every copy) whose event_time is on the day. */
  rawRows: number;
}

export function dailyKpis(date: string, businessTz: string, totals: DailyTotals, counts: DailyCounts): DailyKpis {
  return {
    date,
    businessTz,
    orders: totals.orders,
    revenueCents: totals.revenueCents,
    aovCents: aovCents(totals.revenueCents, totals.orders),
    customers: totals.customers,
    items: totals.items,
    late: counts.late,
    duplicates: counts.duplicates,
    invalid: counts.invalid,
  };
}

/**
 * Why the day's numbers cannot be right, or an empty list. Checked before
 * anything is written, so a failed check leaves the previous outputs in place.
 */
export function qualityProblems(
  kpis: DailyKpis,
  totals: DailyTotals,
  counts: DailyCounts,
  rows: readonly CountryCategoryRow[],
  breakdowns: { segments: readonly SegmentRow[]; premium: readonly PremiumRow[] } = { segments: segmentRows(kpis.date, totals), premium: premiumRows(kpis.date, totals) },
): string[] {
  const problems: string[] = [];
  const counters = { orders: kpis.orders, customers: kpis.customers, items: kpis.items, late: kpis.late, duplicates: kpis.duplicates, invalid: kpis.invalid };
  for (const [name, value] of Object.entries(counters))
    if (!Number.isSafeInteger(value) || value < 0) problems.push(`${name} is ${value}, not a count`);
  if (kpis.orders === 0) {
    problems.push("no orders on this business day (zero rows): is the lake loaded for it, and is BUSINESS_TZ right?");
    return problems;
  }
  if (!Number.isSafeInteger(kpis.revenueCents)) problems.push(`revenue ${kpis.revenueCents} cents is not an exact amount`);
  if (kpis.revenueCents < 0) problems.push(`revenue is negative (${formatCents(kpis.revenueCents)})`);
  if (kpis.aovCents > totals.maxOrderCents)
    problems.push(`AOV ${formatCents(kpis.aovCents)} is above the largest order ${formatCents(totals.maxOrderCents)}`);
  if (kpis.aovCents < totals.minOrderCents)
    problems.push(`AOV ${formatCents(kpis.aovCents)} is below the smallest order ${formatCents(totals.minOrderCents)}`);
  if (kpis.customers > kpis.orders) problems.push(`more customers (${kpis.customers}) than orders (${kpis.orders})`);
  if (kpis.items < kpis.orders) problems.push(`fewer items (${kpis.items}) than orders (${kpis.orders}); every order has at least one`);
  if (kpis.late > counts.rawRows) problems.push(`more late events (${kpis.late}) than lake rows on the day (${counts.rawRows})`);
  if (kpis.orders + kpis.duplicates !== counts.rawRows)
    problems.push(`orders (${kpis.orders}) + duplicates (${kpis.duplicates}) ≠ lake rows on the day (${counts.rawRows}): the lake changed during the batch, or a query is wrong`);
  const cellOrders = rows.reduce((sum, row) => sum + row.orders, 0);
  const cellRevenue = rows.reduce((sum, row) => sum + row.revenueCents, 0);
  if (cellOrders !== kpis.orders || cellRevenue !== kpis.revenueCents)
    problems.push(
      `country × category rows add up to ${cellOrders} orders and ${formatCents(cellRevenue)}, not ${kpis.orders} and ${formatCents(kpis.revenueCents)}`,
    );
  const negative = rows.filter((row) => row.revenueCents < 0 || row.orders <= 0);
  if (negative.length > 0) problems.push(`${negative.length} country × category rows have negative revenue or no orders`);
  // Every order has exactly one segment and one premium flag, so each breakdown adds up to the day to the cent.
  for (const [name, groups] of [["segment", breakdowns.segments], ["premium", breakdowns.premium]] as const) {
    const orders = groups.reduce((sum, g) => sum + g.orders, 0);
    const revenue = groups.reduce((sum, g) => sum + g.revenueCents, 0);
    if (orders !== kpis.orders || revenue !== kpis.revenueCents)
      problems.push(`country × ${name} rows add up to ${orders} orders and ${formatCents(revenue)}, not ${kpis.orders} and ${formatCents(kpis.revenueCents)}`);
  }
  return problems;
}

export class QualityCheckError extends Error {
  constructor(
    readonly date: string,
    readonly problems: string[],
    dayDescription: string,
  ) {
    super(`quality check failed for ${dayDescription}; nothing was written:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "QualityCheckError";
  }
}

/** A gold row as the writer binds it: DATE and DECIMAL as text (exact), counts as numbers; in the table's column order. */
export type GoldRow = (string | number)[];

export function dailyKpisGoldRow(kpis: DailyKpis): GoldRow {
  return [
    kpis.date,
    kpis.businessTz,
    kpis.orders,
    formatCents(kpis.revenueCents),
    formatCents(kpis.aovCents),
    kpis.customers,
    kpis.items,
    kpis.late,
    kpis.duplicates,
    kpis.invalid,
  ];
}

export function countryCategoryGoldRow(row: CountryCategoryRow): GoldRow {
  return [row.date, row.country, row.category, row.orders, formatCents(row.revenueCents), row.revenueRank];
}

export function segmentGoldRow(row: SegmentRow): GoldRow {
  return [row.date, row.country, row.segment, row.orders, formatCents(row.revenueCents), row.rank];
}

export function premiumGoldRow(row: PremiumRow): GoldRow {
  return [row.date, row.country, String(row.isPremium), row.orders, formatCents(row.revenueCents)];
}
