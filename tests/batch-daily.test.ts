import { existsSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import { WindowEngine } from "../lib/hot/window-engine.ts";
import { amountToCents } from "../lib/contract/money.ts";
import { FIXTURE_WINDOW, writeLakeFixture, type FixtureMessage } from "./support/batch-lake.ts";
import { runScript, tempDir } from "./support/processes.ts";

const START = Date.parse("2026-11-20T17:00:00Z"); // 18:30 UTC is midnight in Kolkata: the data straddles it

interface Truth {
  kpis: Record<string, string>;
  cells: string[][];
}

/** The day's numbers straight from the generator's messages: no DuckDB, no batch code. */
function truth(all: FixtureMessage[], date: string, timeZone: string): Truth {
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
  }

  // Late: the hot path's engine, one per partition, fed in offset order.
  const engines = new Map<number, WindowEngine>();
  let late = 0;
  for (const m of ordered) {
    if (!m.decoded.ok) continue;
    if (!engines.has(m.partition)) engines.set(m.partition, new WindowEngine(m.partition, { ...FIXTURE_WINDOW, maxCommitMetadataBytes: 1e12 }));
    if (engines.get(m.partition)!.ingest({ offset: m.offset, order: m.decoded.order }) === "late" && onDay(m.decoded.order.eventTime)) late++;
  }
  const invalid = messages.filter((m) => !m.decoded.ok && onDay(m.ingestedAt)).length;

  const money = (c: number) => (c / 100).toFixed(2);
  const rows = [...cells.values()].map((cell) => {
    const rank = 1 + [...cells.values()].filter((other) => other.country === cell.country && other.cents > cell.cents).length;
    return [date, cell.country, cell.category, String(cell.orders), money(cell.cents), String(rank)];
  });
  rows.sort((a, b) => (a[1]! < b[1]! ? -1 : a[1]! > b[1]! ? 1 : Number(a[5]) - Number(b[5]) || (a[2]! < b[2]! ? -1 : 1)));
  return {
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
    const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${path}')`);
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
    for (const [table, parquet] of [["daily_kpis", kpis], ["daily_country_category", cells]] as const) {
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

  it("is idempotent: a rerun replaces the day's files with identical ones and leaves no temporary file", async () => {
    const paths = [files("daily_kpis", "2026-11-20"), files("daily_country_category", "2026-11-20")].flatMap((f) => [f.parquet, f.csv]);
    // Its own first run: the Kolkata test above wrote the same date under another zone.
    expect((await batch("2026-11-20", "UTC")).code).toBe(0);
    const before = await Promise.all(paths.map((p) => readFile(p)));
    const run = await batch("2026-11-20", "UTC");
    expect(run.code, run.stderr).toBe(0);
    const after = await Promise.all(paths.map((p) => readFile(p)));
    after.forEach((bytes, i) => expect(bytes.equals(before[i]!), paths[i]).toBe(true));
    for (const table of ["daily_kpis", "daily_country_category"])
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
