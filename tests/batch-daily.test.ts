import { existsSync, writeFileSync } from "node:fs";
import { stringify } from "csv-stringify/sync";
import { simCustomerRows, simDimensionTables } from "../lib/sim/dimensions.ts";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import { WindowEngine } from "../lib/hot/window-engine.ts";
import { DIM_CUSTOMER_TABLE } from "../lib/contract/dims.ts";
import { readDimensionFile, replaceDimension } from "../workers/dims/dims-store.ts";
import { amountToCents } from "../lib/contract/money.ts";
import { FIXTURE_WINDOW, writeLakeFixture, type FixtureMessage } from "./support/batch-lake.ts";
import { runScript, tempDir } from "./support/processes.ts";

const START = Date.parse("2026-11-20T17:00:00Z"); // 18:30 UTC is midnight in Kolkata: the data straddles it

interface Truth {
  kpis: Record<string, string>;
  cells: string[][];
  segments: string[][];
  premium: string[][];
  minutes: string[][];
}

// The simulator's own dimensions, loaded with dims:load; customer id → [segment, is_premium].
const CUSTOMERS = new Map(simCustomerRows().map((r) => [r[0]!, [r[1]!, r[2]!]] as const));

/** The day's numbers straight from the generator's messages: no DuckDB, no batch code. */
const money = (c: number) => (c / 100).toFixed(2);

/** customer id + event time → [segment, is_premium]; by default the simulator's dimensions. */
type CustomerOf = (customerId: string | null, eventTime: number) => readonly [string, string];
const simCustomer: CustomerOf = (customerId) => (customerId === null ? undefined : CUSTOMERS.get(customerId)) ?? ["UNKNOWN", "false"];

function truth(all: FixtureMessage[], date: string, timeZone: string, customerOf: CustomerOf = simCustomer): Truth {
  const format = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  const onDay = (ms: number) => format.format(ms) === date;
  const messages = all.filter((m) => !m.lost); // what the lake received
  const ordered = [...messages].sort((a, b) => a.partition - b.partition || a.offset - b.offset);

  const seen = new Set<string>();
  let orders = 0;
  let cents = 0;
  let items = 0;
  let duplicates = 0;
  const customers = new Set<string>();
  const cells = new Map<string, { country: string; category: string; orders: number; cents: number }>();
  const bySegment = new Map<string, { country: string; group: string; orders: number; cents: number }>();
  const byPremium = new Map<string, { country: string; group: string; orders: number; cents: number }>();
  for (const m of ordered) {
    if (!m.decoded.ok) continue;
    const o = m.decoded.order;
    const first = !seen.has(o.orderId);
    seen.add(o.orderId);
    if (!onDay(o.eventTime)) continue;
    if (!first) {
      duplicates++;
      continue;
    }
    orders++;
    cents += amountToCents(o.amount);
    items += o.quantity;
    if (o.customerId !== null) customers.add(o.customerId);
    const key = `${o.country}/${o.category}`;
    const cell = cells.get(key) ?? { country: o.country, category: o.category, orders: 0, cents: 0 };
    cell.orders++;
    cell.cents += amountToCents(o.amount);
    cells.set(key, cell);
    const [segment, premium] = customerOf(o.customerId, o.eventTime);
    for (const [map, group] of [[bySegment, segment], [byPremium, premium]] as const) {
      const g = map.get(`${o.country}/${group}`) ?? { country: o.country, group, orders: 0, cents: 0 };
      g.orders++;
      g.cents += amountToCents(o.amount);
      map.set(`${o.country}/${group}`, g);
    }
  }

  // Late: the hot path's engine, one per partition, fed in offset order; its windows and anomalies are the minutes.
  const engines = new Map<number, WindowEngine>();
  let late = 0;
  const windows = new Map<string, { start: number; orders: number; cents: number; items: number; customers: number }>();
  const anomalies: { kind: string; windowStart: number; amount: number }[] = [];
  const release = (engine: WindowEngine) => {
    const { windows: values, anomalies: found } = engine.emit();
    for (const w of values) windows.set(`${w.windowStart}/${w.partition}`, { start: w.windowStart, orders: w.orders, cents: w.revenueCents, items: w.items, customers: w.customers });
    anomalies.push(...found);
  };
  for (const m of ordered) {
    if (!m.decoded.ok) continue;
    if (!engines.has(m.partition)) engines.set(m.partition, new WindowEngine(m.partition, { ...FIXTURE_WINDOW, maxCommitMetadataBytes: 1e12 }));
    if (engines.get(m.partition)!.ingest({ offset: m.offset, order: m.decoded.order }) === "late" && onDay(m.decoded.order.eventTime)) late++;
  }
  for (const engine of engines.values()) release(engine);
  const minuteRows = new Map<number, number[]>();
  const minute = (start: number) => minuteRows.get(start) ?? minuteRows.set(start, [0, 0, 0, 0, 0, 0, 0]).get(start)!;
  for (const w of windows.values()) {
    if (!onDay(w.start)) continue;
    const r = minute(w.start);
    [r[0], r[1], r[2], r[3]] = [r[0]! + w.orders, r[1]! + w.cents, r[2]! + w.items, r[3]! + w.customers];
  }
  for (const a of anomalies) {
    if (!onDay(a.windowStart)) continue;
    const r = minute(a.windowStart);
    if (a.kind === "late") [r[4], r[5]] = [r[4]! + 1, r[5]! + amountToCents(a.amount)];
    else r[6]!++;
  }
  const minutes = [...minuteRows]
    .sort(([a], [b]) => a - b)
    .map(([start, r]) => [new Date(start).toISOString().replace("T", " ").replace(".000Z", ""), String(r[0]), money(r[1]!), String(r[2]), String(r[3]), String(r[4]), money(r[5]!), String(r[6])]);
  const invalid = messages.filter((m) => !m.decoded.ok && onDay(m.ingestedAt)).length;

  const rows = [...cells.values()].map((cell) => {
    const rank = 1 + [...cells.values()].filter((other) => other.country === cell.country && other.cents > cell.cents).length;
    return [date, cell.country, cell.category, String(cell.orders), money(cell.cents), String(rank)];
  });
  rows.sort((a, b) => (a[1]! < b[1]! ? -1 : a[1]! > b[1]! ? 1 : Number(a[5]) - Number(b[5]) || (a[2]! < b[2]! ? -1 : 1)));
  const segments = [...bySegment.values()].map((g) => {
    const rank = 1 + [...bySegment.values()].filter((other) => other.country === g.country && other.cents > g.cents).length;
    return [date, g.country, g.group, String(g.orders), money(g.cents), String(rank)];
  });
  segments.sort((a, b) => (a[1]! < b[1]! ? -1 : a[1]! > b[1]! ? 1 : Number(a[5]) - Number(b[5]) || (a[2]! < b[2]! ? -1 : 1)));
  const premium = [...byPremium.values()].map((g) => [date, g.country, g.group, String(g.orders), money(g.cents)]).sort((a, b) => (a[1]! < b[1]! ? -1 : a[1]! > b[1]! ? 1 : a[2]! < b[2]! ? -1 : 1));
  return {
    segments,
    premium,
    minutes,
    kpis: {
      date,
      business_tz: timeZone,
      orders: String(orders),
      revenue: money(cents),
      aov: money(orders === 0 ? 0 : Math.round(cents / orders)),
      customers: String(customers.size),
      items: String(items),
      late: String(late),
      duplicates: String(duplicates),
      invalid: String(invalid),
    },
    cells: rows,
  };
}

async function readParquet(path: string): Promise<{ columns: string[]; rows: string[][] }> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${path}', hive_partitioning = false)`);
    return { columns: reader.columnNames(), rows: reader.getRowsJson().map((row) => row.map(String)) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe("batch:daily", () => {
  let lakeDir: string;
  let messages: FixtureMessage[];
  const batch = (date: string, timeZone: string) => runScript("workers/cli/batch-daily.ts", ["--date", date], { LAKE_DIR: lakeDir, BUSINESS_TZ: timeZone, WINDOW_SIZE: "1m", WATERMARK_DELAY: "2m" });
  const files = (table: string, date: string) => ({
    parquet: join(lakeDir, "gold", table, `date=${date}`, `${table}.parquet`),
    csv: join(lakeDir, "gold", table, `date=${date}`, `${table}.csv`),
  });

  /** Both files of both tables equal the truth (Parquet typed, CSV the same rows). */
  async function expectOutputs(date: string, expected: Truth): Promise<void> {
    const kpis = await readParquet(files("daily_kpis", date).parquet);
    expect(Object.fromEntries(kpis.columns.map((c, i) => [c, kpis.rows[0]![i]]))).toEqual(expected.kpis);
    expect(kpis.rows).toHaveLength(1);
    const cells = await readParquet(files("daily_country_category", date).parquet);
    expect(cells.columns).toEqual(["date", "country", "category", "orders", "revenue", "revenue_rank"]);
    expect(cells.rows).toEqual(expected.cells);
    const segments = await readParquet(files("daily_segment_metrics", date).parquet);
    expect(segments.columns).toEqual(["date", "country", "segment", "orders", "revenue", "rank"]);
    expect(segments.rows).toEqual(expected.segments);
    // The segment sum is the day's revenue, to the cent.
    expect(money(segments.rows.reduce((sum, r) => sum + Math.round(Number(r[4]) * 100), 0))).toBe(expected.kpis.revenue);
    const premium = await readParquet(files("daily_premium_metrics", date).parquet);
    expect(premium.columns).toEqual(["date", "country", "is_premium", "orders", "revenue"]);
    expect(premium.rows).toEqual(expected.premium);
    const minutes = await readParquet(join(lakeDir, "silver", "minute_metrics", `event_date=${date}`, "minute_metrics.parquet"));
    expect(minutes.columns).toEqual(["window_start", "orders", "revenue", "items", "customers", "late_orders", "late_revenue", "duplicates"]);
    expect(minutes.rows).toEqual(expected.minutes);
    for (const [table, parquet] of [["daily_kpis", kpis], ["daily_country_category", cells], ["daily_segment_metrics", segments], ["daily_premium_metrics", premium]] as const) {
      const csv = (await readFile(files(table, date).csv, "utf8")).trimEnd().split("\n").map((line) => line.split(","));
      expect(csv).toEqual([parquet.columns, ...parquet.rows]);
    }
  }

  beforeAll(async () => {
    lakeDir = tempDir("batch-daily");
    messages = await writeLakeFixture({
      lakeDir,
      seed: 42,
      count: 12_000,
      startMs: START,
      partitions: 4,
      ratePerSecond: 1.5,
      lostRange: { partition: 1, fromOffset: 100, count: 25 },
    });
    expect(messages.filter((m) => m.lost)).toHaveLength(25);
    const dims = tempDir("batch-dims");
    const [customers, products] = simDimensionTables().map(({ table, header, rows }) => {
      const path = join(dims, `${table.name}.csv`);
      writeFileSync(path, stringify([header, ...rows]));
      return path;
    });
    const load = await runScript("workers/cli/dims-load.ts", ["--customers", customers!, "--products", products!], { LAKE_DIR: lakeDir });
    expect(load.code, load.stderr).toBe(0);
  });
  afterAll(async () => {
    if (lakeDir) await rm(lakeDir, { recursive: true, force: true });
  });

  it("writes the UTC day's KPIs and country × category ranking, equal to the truth from the generator's messages", async () => {
    const expected = truth(messages, "2026-11-20", "UTC");
    expect(Number(expected.kpis.late)).toBeGreaterThan(0);
    expect(Number(expected.kpis.duplicates)).toBeGreaterThan(0);
    expect(Number(expected.kpis.invalid)).toBeGreaterThan(0);
    const run = await batch("2026-11-20", "UTC");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`daily_kpis date=2026-11-20 business_tz=UTC orders=${expected.kpis.orders} revenue=${expected.kpis.revenue}`);
    expect(run.stderr).toMatch(/replaying lake rows through the window engine \[#+\] 100%/);
    // The gap record of the lost offsets is not an invalid message, but it is worth a warning.
    expect(run.stderr).toMatch(/warning: the lake records 1 offset gap\(s\)/);
    await expectOutputs("2026-11-20", expected);
  });

  it("cuts the days at midnight in BUSINESS_TZ (Asia/Kolkata, inside the data)", async () => {
    const first = truth(messages, "2026-11-20", "Asia/Kolkata");
    const second = truth(messages, "2026-11-21", "Asia/Kolkata");
    expect(Number(first.kpis.orders)).toBeGreaterThan(500);
    expect(Number(second.kpis.orders)).toBeGreaterThan(500);
    expect(Number(first.kpis.orders) + Number(second.kpis.orders)).toBe(Number(truth(messages, "2026-11-20", "UTC").kpis.orders));
    for (const [date, expected] of [["2026-11-20", first], ["2026-11-21", second]] as const) {
      const run = await batch(date, "Asia/Kolkata");
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(`${date} in Asia/Kolkata = [`);
      await expectOutputs(date, expected);
    }
  });

  it("gives each order the segment of the dim_customer version in force when its window started (by load time), not today's", async () => {
    const lake = tempDir("batch-daily-versions");
    const day = await writeLakeFixture({ lakeDir: lake, seed: 43, count: 3_000, startMs: START, partitions: 2, ratePerSecond: 1.5 });
    const customersCsv = join(tempDir("batch-dims-versions"), "dim_customer.csv");
    writeFileSync(customersCsv, stringify([simDimensionTables()[0]!.header, ...simCustomerRows()]));
    const rowsA = await readDimensionFile(DIM_CUSTOMER_TABLE, customersCsv);
    const rowsB = rowsA.map((r) => r.map((cell, i) => (i === 1 && cell === "consumer" ? "loyal" : cell)));
    const switchAt = START + 15 * 60_000; // windows from 17:15 UTC on use version B
    await replaceDimension(lake, DIM_CUSTOMER_TABLE, rowsA, START - 86_400_000);
    await replaceDimension(lake, DIM_CUSTOMER_TABLE, rowsB, switchAt);
    const run = await runScript("workers/cli/batch-daily.ts", ["--date", "2026-11-20"], { LAKE_DIR: lake, BUSINESS_TZ: "UTC", WINDOW_SIZE: "1m", WATERMARK_DELAY: "2m" });
    expect(run.code, run.stderr).toBe(0);
    const inForce: CustomerOf = (customerId, eventTime) => {
      const [segment, premium] = simCustomer(customerId, eventTime);
      return [segment === "consumer" && Math.floor(eventTime / 60_000) * 60_000 >= switchAt ? "loyal" : segment, premium];
    };
    const expected = truth(day, "2026-11-20", "UTC", inForce);
    const segments = await readParquet(join(lake, "gold", "daily_segment_metrics", "date=2026-11-20", "daily_segment_metrics.parquet"));
    expect(segments.rows).toEqual(expected.segments);
    expect(new Set(segments.rows.map((r) => r[2]))).toEqual(new Set(["UNKNOWN", "consumer", "loyal", "enterprise", "small_business", "student"]));
    await rm(lake, { recursive: true, force: true });
  });

  it("is idempotent: a rerun replaces the day's files with identical ones and leaves no temporary file", async () => {
    const tables = ["daily_kpis", "daily_country_category", "daily_segment_metrics", "daily_premium_metrics"];
    const paths = [...tables.flatMap((t) => [files(t, "2026-11-20").parquet, files(t, "2026-11-20").csv]), join(lakeDir, "silver", "minute_metrics", "event_date=2026-11-20", "minute_metrics.parquet")];
    // Its own first run: the Kolkata test above wrote the same date under another zone.
    expect((await batch("2026-11-20", "UTC")).code).toBe(0);
    const before = await Promise.all(paths.map((p) => readFile(p)));
    const run = await batch("2026-11-20", "UTC");
    expect(run.code, run.stderr).toBe(0);
    const after = await Promise.all(paths.map((p) => readFile(p)));
    after.forEach((bytes, i) => expect(bytes.equals(before[i]!), paths[i]).toBe(true));
    for (const table of tables)
      expect(await readdir(join(lakeDir, "gold", table, "date=2026-11-20"))).toEqual([`${table}.csv`, `${table}.parquet`]);
  });

  it("fails the quality check on an empty day: non-zero exit, a message, nothing written", async () => {
    const run = await batch("2026-11-25", "UTC");
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/quality check failed for 2026-11-25 in UTC = \[2026-11-25T00:00:00\.000Z, 2026-11-26T00:00:00\.000Z\); nothing was written/);
    expect(run.stderr).toMatch(/no orders on this business day \(zero rows\)/);
    expect(existsSync(join(lakeDir, "gold", "daily_kpis", "date=2026-11-25"))).toBe(false);
  });

  it("refuses a date that is not one, and a zone that is not one, with exit code 2", async () => {
    const badDate = await batch("2026-02-30", "UTC");
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toMatch(/"2026-02-30" is not a calendar date written YYYY-MM-DD/);
    const badZone = await batch("2026-11-20", "Mars/Olympus");
    expect(badZone.code).toBe(2);
    expect(badZone.stderr).toBe('invalid configuration (1 bad variable):\n  BUSINESS_TZ="Mars/Olympus" is not an IANA time zone; e.g. BUSINESS_TZ=Europe/Berlin\n');
  });
});
