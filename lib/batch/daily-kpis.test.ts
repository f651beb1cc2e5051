import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { formatCents as centsToDecimal } from "../contract/money.ts";
import {
  aovCents,
  countryCategoryGoldRow,
  countryCategoryRows,
  DAILY_COUNTRY_CATEGORY_TABLE,
  DAILY_KPIS_TABLE,
  DailyAggregator,
  dailyKpis,
  dailyKpisGoldRow,
  goldDayFiles,
  premiumGoldRow,
  premiumRows,
  qualityProblems,
  segmentGoldRow,
  segmentRows,
  DAILY_PREMIUM_METRICS_TABLE,
  DAILY_SEGMENT_METRICS_TABLE,
  type DailyOrder,
} from "./daily-kpis.ts";

const order = (overrides: Partial<DailyOrder> = {}): DailyOrder => ({ customerId: "c-1", quantity: 1, amount: 10, country: "US", category: "coffee", segment: "consumer", isPremium: false, ...overrides });

function aggregate(orders: DailyOrder[]) {
  const aggregator = new DailyAggregator();
  for (const o of orders) aggregator.add(o);
  return aggregator.totals();
}

describe("money", () => {
  it("prints cents with two places", () => {
    expect([0, 5, 100, 12345, -5, -12345].map(centsToDecimal)).toEqual(["0.00", "0.05", "1.00", "123.45", "-0.05", "-123.45"]);
  });

  it("rounds AOV half up to the cent, and is 0 without orders", () => {
    expect(aovCents(1000, 3)).toBe(333);
    expect(aovCents(1001, 2)).toBe(501);
    expect(aovCents(0, 0)).toBe(0);
  });
});

describe("DailyAggregator", () => {
  it("sums per-order cents, items and distinct non-null customers", () => {
    const totals = aggregate([
      order({ amount: 1.005, quantity: 2 }), // 1.005 rounds to 101 cents, as amountToCents does
      order({ amount: 2.5, customerId: null }),
      order({ amount: 4, customerId: "c-2", country: "DE" }),
      order({ amount: 3, customerId: "c-1", category: "tea" }),
    ]);
    expect(totals).toMatchObject({ orders: 4, revenueCents: 101 + 250 + 400 + 300, customers: 2, items: 5, maxOrderCents: 400, minOrderCents: 101 });
  });

  it("ranks categories by revenue within each country, ties sharing a rank", () => {
    const totals = aggregate([
      order({ country: "US", category: "a", amount: 5 }),
      order({ country: "US", category: "b", amount: 9 }),
      order({ country: "US", category: "c", amount: 5 }),
      order({ country: "US", category: "d", amount: 1 }),
      order({ country: "DE", category: "a", amount: 2 }),
      order({ country: "DE", category: "a", amount: 2 }),
    ]);
    expect(countryCategoryRows("2026-11-20", totals).map((r) => [r.country, r.category, r.orders, r.revenueCents, r.revenueRank])).toEqual([
      ["DE", "a", 2, 400, 1],
      ["US", "b", 1, 900, 1],
      ["US", "a", 1, 500, 2],
      ["US", "c", 1, 500, 2],
      ["US", "d", 1, 100, 4],
    ]);
  });

  it("country × category rows always add up to the day's totals", () => {
    const arbitraryOrder = fc.record({
      customerId: fc.option(fc.constantFrom("c-1", "c-2", "c-3"), { nil: null }),
      quantity: fc.integer({ min: 1, max: 5 }),
      amount: fc.integer({ min: 0, max: 1_000_000 }).map((cents) => cents / 100),
      country: fc.constantFrom("US", "DE", "UNKNOWN"),
      category: fc.constantFrom("coffee", "books", "UNKNOWN"),
      segment: fc.constantFrom("consumer", "enterprise", "UNKNOWN"),
      isPremium: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(arbitraryOrder, { minLength: 1, maxLength: 60 }), (orders) => {
        const totals = aggregate(orders);
        const rows = countryCategoryRows("2026-11-20", totals);
        const kpis = dailyKpis("2026-11-20", "UTC", totals, { late: 0, duplicates: 0, invalid: 0, rawRows: orders.length });
        expect(qualityProblems(kpis, totals, { late: 0, duplicates: 0, invalid: 0, rawRows: orders.length }, rows)).toEqual([]);
        for (const country of new Set(rows.map((r) => r.country))) {
          const ranks = rows.filter((r) => r.country === country).map((r) => r.revenueRank);
          expect(ranks[0]).toBe(1);
          expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
        }
        // Segments against a brute-force oracle: per (country, segment), and its rank = 1 + segments of the country with more revenue.
        const segments = segmentRows("2026-11-20", totals);
        const cents = (o: DailyOrder) => Math.round(o.amount * 100);
        for (const row of segments) {
          const mine = orders.filter((o) => o.country === row.country && o.segment === row.segment);
          expect([row.orders, row.revenueCents]).toEqual([mine.length, mine.reduce((s, o) => s + cents(o), 0)]);
          expect(row.rank).toBe(1 + segments.filter((r) => r.country === row.country && r.revenueCents > row.revenueCents).length);
        }
        expect(new Set(segments.map((r) => `${r.country}/${r.segment}`))).toEqual(new Set(orders.map((o) => `${o.country}/${o.segment}`)));
        const premium = premiumRows("2026-11-20", totals);
        expect(premium.reduce((s, r) => s + r.revenueCents, 0)).toBe(totals.revenueCents);
        for (const row of premium) expect(row.orders).toBe(orders.filter((o) => o.country === row.country && o.isPremium === row.isPremium).length);
      }),
    );
  });
});

describe("qualityProblems", () => {
  const counts = { late: 1, duplicates: 2, invalid: 3, rawRows: 5 };
  const totals = aggregate([order({ amount: 10 }), order({ amount: 20, customerId: "c-2" }), order({ amount: 30, quantity: 3 })]);
  const good = dailyKpis("2026-11-20", "UTC", totals, counts);
  const rows = countryCategoryRows("2026-11-20", totals);

  it("accepts a consistent day", () => {
    expect(good).toMatchObject({ orders: 3, revenueCents: 6000, aovCents: 2000, customers: 2, items: 5 });
    expect(qualityProblems(good, totals, counts, rows)).toEqual([]);
  });

  it("fails an empty day", () => {
    const empty = aggregate([]);
    const problems = qualityProblems(dailyKpis("2026-11-20", "UTC", empty, { late: 0, duplicates: 0, invalid: 0, rawRows: 0 }), empty, counts, []);
    expect(problems).toEqual([expect.stringMatching(/no orders on this business day \(zero rows\)/)]);
  });

  it("names each impossible value", () => {
    const problems = qualityProblems({ ...good, revenueCents: -100, aovCents: 9_999, customers: 9, items: 1, late: 99, duplicates: -1 }, totals, counts, rows);
    expect(problems.join("\n")).toMatch(/duplicates is -1, not a count/);
    expect(problems.join("\n")).toMatch(/revenue is negative \(-1\.00\)/);
    expect(problems.join("\n")).toMatch(/AOV 99\.99 is above the largest order 30\.00/);
    expect(problems.join("\n")).toMatch(/more customers \(9\) than orders \(3\)/);
    expect(problems.join("\n")).toMatch(/fewer items \(1\) than orders \(3\)/);
    expect(problems.join("\n")).toMatch(/more late events \(99\) than lake rows on the day \(5\)/);
    expect(problems.join("\n")).toMatch(/country × category rows add up to 3 orders and 60\.00, not 3 and -1\.00/);
  });

  it("fails when the segment or premium breakdown does not add up to the day's revenue", () => {
    const mixed = aggregate([order({ amount: 10 }), order({ amount: 20, customerId: "c-2", segment: "enterprise" }), order({ amount: 30, quantity: 3 })]);
    const kpis = dailyKpis("2026-11-20", "UTC", mixed, counts);
    const cells = countryCategoryRows("2026-11-20", mixed);
    expect(qualityProblems(kpis, mixed, counts, cells)).toEqual([]);
    const lost = { segments: segmentRows("2026-11-20", mixed).slice(1), premium: premiumRows("2026-11-20", mixed) };
    expect(qualityProblems(kpis, mixed, counts, cells, lost)).toEqual([expect.stringMatching(/country × segment rows add up to 1 orders and 20\.00, not 3 and 60\.00/)]);
  });

  it("fails when orders and duplicates do not account for every lake row of the day", () => {
    expect(qualityProblems(good, totals, { ...counts, rawRows: 6 }, rows)).toEqual([expect.stringMatching(/orders \(3\) \+ duplicates \(2\) ≠ lake rows on the day \(6\)/)]);
  });
});

describe("gold rows and files", () => {
  it("lays out one Hive partition per table and day", () => {
    expect(goldDayFiles("daily_kpis", "2026-11-20")).toEqual({
      parquet: "gold/daily_kpis/date=2026-11-20/daily_kpis.parquet",
      csv: "gold/daily_kpis/date=2026-11-20/daily_kpis.csv",
    });
  });

  it("gives one value per column, money as exact decimals", () => {
    const totals = aggregate([order({ amount: 12.34, quantity: 2 }), order({ amount: 0.66 })]);
    const kpis = dailyKpis("2026-11-20", "Asia/Kolkata", totals, { late: 1, duplicates: 0, invalid: 2, rawRows: 2 });
    const row = dailyKpisGoldRow(kpis);
    expect(row).toHaveLength(DAILY_KPIS_TABLE.columns.length);
    expect(row).toEqual(["2026-11-20", "Asia/Kolkata", 2, "13.00", "6.50", 1, 3, 1, 0, 2]);
    const cell = countryCategoryGoldRow(countryCategoryRows("2026-11-20", totals)[0]!);
    expect(cell).toHaveLength(DAILY_COUNTRY_CATEGORY_TABLE.columns.length);
    expect(cell).toEqual(["2026-11-20", "US", "coffee", 2, "13.00", 1]);
    const segment = segmentGoldRow(segmentRows("2026-11-20", totals)[0]!);
    expect(segment).toHaveLength(DAILY_SEGMENT_METRICS_TABLE.columns.length);
    expect(segment).toEqual(["2026-11-20", "US", "consumer", 2, "13.00", 1]);
    const premium = premiumGoldRow(premiumRows("2026-11-20", totals)[0]!);
    expect(premium).toHaveLength(DAILY_PREMIUM_METRICS_TABLE.columns.length);
    expect(premium).toEqual(["2026-11-20", "US", "false", 2, "13.00"]);
  });
});
