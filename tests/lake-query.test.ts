import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { amountToCents, formatCents } from "../lib/contract/money.ts";
import { aovCents } from "../lib/batch/daily-kpis.ts";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { runScript } from "./support/processes.ts";
import { commitMarkerPath, invalidFilePath, ordersFilePath, serializeCommitMarker, temporaryPath } from "../lib/lake/layout.ts";
import { INVALID_TABLE, ORDERS_TABLE, type LakeOrderRow } from "../lib/lake/schema.ts";
import { writeParquetFile } from "../workers/lake/parquet-file.ts";
import { openLake, QueryFailedError, QueryTimeoutError, type Lake, type LakeQueryOptions } from "../workers/shared/lake-query.ts";
import { LAKE_VIEWS } from "../lib/lake/views.ts";
import { QueryRejectedError } from "../lib/lake/statement-gate.ts";

const HOUR_10 = Date.parse("2026-11-20T10:00:00.000Z");
const HOUR_23 = Date.parse("2026-11-20T23:30:00.000Z"); // already 2026-11-21 in Berlin
const COUNTRIES = ["US", "DE", "FR"];

const temps: string[] = [];
const lakes: Lake[] = [];
afterAll(async () => {
  for (const lake of lakes) lake.close();
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

async function open(lakeDir: string, options: Partial<LakeQueryOptions> = {}): Promise<Lake> {
  const lake = await openLake(lakeDir, { timeoutMs: 5_000, maxRows: 10_000, refreshIntervalMs: 0, ...options });
  lakes.push(lake);
  return lake;
}

function order(partition: number, offset: number, eventTime: number, overrides: Partial<LakeOrderRow> = {}): LakeOrderRow {
  const quantity = 1 + (offset % 3);
  const row: Omit<LakeOrderRow, "amount_cents"> = {
    order_id: `o-${partition}-${offset}`,
    customer_id: offset % 4 === 0 ? null : `c-${offset % 5}`,
    product_id: `p-${offset % 2}`,
    category: offset % 2 ? "coffee" : "tea",
    country: COUNTRIES[offset % 3]!,
    channel: "web",
    quantity,
    unit_price: 2.5,
    amount: 2.5 * quantity,
    event_time: eventTime + offset * 1_000,
    kafka_partition: partition,
    kafka_offset: offset,
    ingested_at: eventTime + 3_600_000,
    raw: `{"order_id":"o-${partition}-${offset}"}`,
    ...overrides,
  };
  return { ...row, amount_cents: overrides.amount_cents ?? amountToCents(row.amount) };
}

async function writeOrders(lakeDir: string, hour: number, rows: LakeOrderRow[]): Promise<string> {
  const range = { partition: rows[0]!.kafka_partition, firstOffset: rows[0]!.kafka_offset, lastOffset: rows.at(-1)!.kafka_offset };
  const path = join(lakeDir, ordersFilePath(hour, range));
  await writeParquetFile(path, ORDERS_TABLE, rows);
  return path;
}

async function writeMarker(lakeDir: string, partition: number, nextOffset: number): Promise<void> {
  const path = join(lakeDir, commitMarkerPath(partition));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, serializeCommitMarker({ nextOffset, clusterId: "test-cluster", topic: "orders" }));
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Partition 0: offsets 0–9 in hour 10 as two flush files plus their compaction
 * (inputs not yet deleted), 10–14 in hour 23, and one invalid message at 15.
 * Partition 1: 0–3 in hour 10, order o-dup at offsets 1 and 3, and a flush past
 * its marker (4–6). Partition 2: a file but no marker. Plus a temporary file.
 */
async function buildLake(lakeDir: string) {
  const p0 = [...range(0, 9).map((o) => order(0, o, HOUR_10)), ...range(10, 14).map((o) => order(0, o, HOUR_23))];
  const p1 = range(0, 3).map((o) => order(1, o, HOUR_10, o === 1 || o === 3 ? { order_id: "o-dup", amount: 100 + o } : {}));
  const first = await writeOrders(lakeDir, HOUR_10, p0.slice(0, 5));
  await writeOrders(lakeDir, HOUR_10, p0.slice(5, 10));
  const compacted = await writeOrders(lakeDir, HOUR_10, p0.slice(0, 10));
  await writeOrders(lakeDir, HOUR_23, p0.slice(10, 15));
  await writeParquetFile(join(lakeDir, invalidFilePath(HOUR_10, { partition: 0, firstOffset: 15, lastOffset: 15 })), INVALID_TABLE, [
    { kafka_partition: 0, kafka_offset: 15, record_timestamp: HOUR_10, reason_code: "not_json", reason: "not JSON: x", raw: new Uint8Array([0x78]), ingested_at: HOUR_10 },
  ]);
  await writeMarker(lakeDir, 0, 16);
  await writeOrders(lakeDir, HOUR_10, p1);
  await writeOrders(lakeDir, HOUR_10, range(4, 6).map((o) => order(1, o, HOUR_10)));
  await writeMarker(lakeDir, 1, 4);
  await writeOrders(lakeDir, HOUR_10, [order(2, 0, HOUR_10)]);
  await writeFile(temporaryPath(first, "dead-writer"), "half a file");
  const committed = [...p0, ...p1];
  const deduplicated = committed.filter((r) => !(r.order_id === "o-dup" && r.kafka_offset === 3));
  return { committed, deduplicated, first, compacted };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe("an empty lake", () => {
  it("has every view, typed, with no rows", async () => {
    const lake = await open(await tempDir("lake-empty-"));
    for (const view of LAKE_VIEWS) {
      const result = await lake.query(`SELECT * FROM ${view}`);
      expect(result.rows, view).toEqual([]);
      expect(result.columns.length, view).toBeGreaterThan(0);
    }
    const { rows } = await lake.query("SELECT count(*), sum(amount) FROM orders");
    expect(rows).toEqual([["0", null]]);
  });

  it("answers intervals as DuckDB prints them, also inside lists", async () => {
    const lake = await open(await tempDir("lake-interval-"));
    const { rows } = await lake.query("SELECT INTERVAL 90 MINUTE + INTERVAL '1.5 seconds' AS d, [INTERVAL 2 DAY] AS l, TIMESTAMP '2026-12-03 12:00:00' - TIMESTAMP '2026-12-03 11:27:02.582' AS delay");
    expect(rows).toEqual([["01:30:01.5", ["2 days"], "00:32:57.418"]]);
  });
});

describe("a lake with files", () => {
  let lakeDir: string;
  let lake: Lake;
  let fixture: Awaited<ReturnType<typeof buildLake>>;

  beforeAll(async () => {
    lakeDir = await tempDir("lake-query-");
    fixture = await buildLake(lakeDir);
    lake = await open(lakeDir);
  });

  it("reads every committed row once: compacted inputs, uncommitted flushes and temp files do not count", async () => {
    const { rows } = await lake.query("SELECT count(*), sum(amount), count(DISTINCT kafka_partition) FROM orders_raw");
    expect(rows).toEqual([[String(fixture.committed.length), formatCents(sum(fixture.committed.map((r) => r.amount_cents))), "2"]]);
    const files = await lake.query("SELECT kind, path FROM lake_files ORDER BY path");
    expect(files.rows.map(([, path]) => path)).toEqual([
      "orders/event_date=2026-11-20/event_hour=10/part-0-00000000000000000000-00000000000000000009.parquet",
      "orders/event_date=2026-11-20/event_hour=10/part-1-00000000000000000000-00000000000000000003.parquet",
      "orders/event_date=2026-11-20/event_hour=23/part-0-00000000000000000010-00000000000000000014.parquet",
      "orders_invalid/ingest_date=2026-11-20/part-0-00000000000000000015-00000000000000000015.parquet",
    ]);
  });

  it("has typed columns and the hive partition columns", async () => {
    const { columns, rows } = await lake.query(
      "SELECT event_time, event_date, event_hour, kafka_offset, amount, raw FROM orders_raw WHERE order_id = 'o-0-12'",
    );
    expect(columns).toEqual([
      { name: "event_time", type: "TIMESTAMP" },
      { name: "event_date", type: "DATE" },
      { name: "event_hour", type: "INTEGER" },
      { name: "kafka_offset", type: "BIGINT" },
      { name: "amount", type: "DECIMAL(18,2)" },
      { name: "raw", type: "VARCHAR" },
    ]);
    expect(rows).toEqual([["2026-11-20 23:30:12", "2026-11-20", 23, "12", "2.50", '{"order_id":"o-0-12"}']]);
  });

  it("has the same columns as an empty lake", async () => {
    const empty = await open(await tempDir("lake-empty-"));
    for (const view of LAKE_VIEWS) {
      const full = await lake.query(`DESCRIBE ${view}`);
      expect((await empty.query(`DESCRIBE ${view}`)).rows, view).toEqual(full.rows);
    }
  });

  it("de-duplicates orders: within a partition, the lowest offset wins", async () => {
    const { rows } = await lake.query("SELECT count(*), max(amount) FILTER (WHERE order_id = 'o-dup') FROM orders");
    expect(rows).toEqual([[String(fixture.deduplicated.length), "101.00"]]);
  });

  it("computes daily KPIs in UTC by default", async () => {
    const d = fixture.deduplicated;
    const revenueCents = sum(d.map((r) => r.amount_cents));
    const customers = new Set(d.map((r) => r.customer_id).filter((c) => c !== null)).size;
    const { columns, rows } = await lake.query("SELECT * FROM daily_kpis");
    expect(columns.map((c) => c.name)).toEqual(["date", "orders", "revenue", "aov", "customers", "items"]);
    expect(rows).toEqual([["2026-11-20", String(d.length), formatCents(revenueCents), formatCents(aovCents(revenueCents, d.length)), String(customers), String(sum(d.map((r) => r.quantity)))]]);
  });

  it("starts the business day at midnight in BUSINESS_TZ", async () => {
    const berlin = await open(lakeDir, { businessTz: "Europe/Berlin" });
    const { rows } = await berlin.query("SELECT date, orders FROM daily_kpis");
    expect(rows).toEqual([
      ["2026-11-20", String(fixture.deduplicated.length - 5)],
      ["2026-11-21", "5"],
    ]);
  });

  it("has the revenue_by_* aggregate views and the invalid messages", async () => {
    const { rows } = await lake.query("SELECT country, orders FROM revenue_by_country ORDER BY country");
    const expected = COUNTRIES.map((c) => [c, String(fixture.deduplicated.filter((r) => r.country === c).length)]).sort();
    expect(rows).toEqual(expected);
    expect((await lake.query("SELECT count(*) FROM revenue_by_category")).rows).toEqual([["2"]]);
    const invalid = await lake.query("SELECT kafka_partition, kafka_offset, reason_code, reason, hex(raw), ingest_date FROM orders_invalid");
    expect(invalid.rows).toEqual([[0, "15", "not_json", "not JSON: x", "78", "2026-11-20"]]);
  });

  it("stops at maxRows and says the result was truncated", async () => {
    const limited = await open(lakeDir, { maxRows: 100 });
    const started = Date.now();
    const huge = await limited.query("SELECT * FROM range(1000000000000)");
    expect(huge.rows).toHaveLength(100);
    expect(huge.truncated).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await limited.query("SELECT * FROM range(100)")).truncated).toBe(false);
    expect((await limited.query("SELECT * FROM range(101)")).truncated).toBe(true);
  });

  it("reports DuckDB's own message for a query it cannot run", async () => {
    const error = await lake.query("SELECT no_such_column FROM orders").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryFailedError);
    expect((error as QueryFailedError).duckdbMessage).toMatch(/no_such_column/);
  });

  it("answers concurrent queries", async () => {
    const results = await Promise.all(range(1, 6).map((n) => lake.query(`SELECT ${n} + count(*) FROM orders`)));
    expect(results.map((r) => r.rows[0]![0])).toEqual(range(1, 6).map((n) => String(n + fixture.deduplicated.length)));
  });
});

describe("freshness", () => {
  it("sees new flushes and compactions after a rescan, and never counts a row twice", async () => {
    const lakeDir = await tempDir("lake-fresh-");
    const lake = await open(lakeDir, { refreshIntervalMs: 3_600_000 });
    const count = async () => (await lake.query("SELECT count(*) FROM orders_raw")).rows[0]![0];
    expect(await count()).toBe("0");

    const a = await writeOrders(lakeDir, HOUR_10, range(0, 4).map((o) => order(0, o, HOUR_10)));
    const b = await writeOrders(lakeDir, HOUR_10, range(5, 9).map((o) => order(0, o, HOUR_10)));
    expect(await count()).toBe("0"); // not rescanned yet
    await lake.refresh();
    expect(await count()).toBe("0"); // written but not committed
    await writeMarker(lakeDir, 0, 10);
    await lake.refresh();
    expect(await count()).toBe("10");

    // Compaction: output first, inputs deleted after. The open snapshot still lists
    // the inputs, so the query finds them gone, rescans and retries.
    await writeOrders(lakeDir, HOUR_10, range(0, 9).map((o) => order(0, o, HOUR_10)));
    await rm(a);
    await rm(b);
    expect(await count()).toBe("10");
  });
});

describe("the time limit", () => {
  it("interrupts a runaway query, and the next query works", async () => {
    const lake = await open(await tempDir("lake-timeout-"), { timeoutMs: 300 });
    for (const sql of ["SELECT count(*) FROM range(1000000000000) a", "SELECT count(*) FROM range(1000000) a, range(1000000) b"]) {
      const started = Date.now();
      const error = await lake.query(sql).catch((e: unknown) => e);
      expect(error, sql).toBeInstanceOf(QueryTimeoutError);
      expect((error as Error).message).toMatch(/stopped after 300 ms/);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect((await lake.query("SELECT 42 AS answer")).rows).toEqual([[42]]);
    }
  });
});

describe("hostile SQL", () => {
  let lakeDir: string;
  let outside: string;
  let lake: Lake;
  let fixture: Awaited<ReturnType<typeof buildLake>>;

  beforeAll(async () => {
    lakeDir = await tempDir("lake-hostile-");
    outside = await tempDir("lake-outside-");
    await writeFile(join(outside, "secret.txt"), "TOP-SECRET\n");
    await writeFile(join(outside, "secret.csv"), "name\nTOP-SECRET\n");
    fixture = await buildLake(lakeDir);
    lake = await open(lakeDir, { timeoutMs: 2_000 });
  });

  async function snapshotOf(dir: string): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      files.set(path, createHash("sha256").update(await readFile(path)).digest("hex"));
    }
    return files;
  }

  const cases = (): [string, string, RegExp][] => {
    const secret = join(outside, "secret.txt");
    const secretCsv = join(outside, "secret.csv");
    const live = fixture.compacted;
    return [
      ["read_csv", "SELECT * FROM read_csv('/etc/passwd', sep = ':')", /table function read_csv is not allowed/],
      ["read_csv_auto", "SELECT * FROM read_csv_auto('/etc/passwd')", /table function read_csv_auto is not allowed/],
      ["read_text", "SELECT * FROM read_text('/etc/passwd')", /table function read_text is not allowed/],
      ["read_blob", "SELECT * FROM read_blob('/etc/passwd')", /table function read_blob is not allowed/],
      ["read_json", "SELECT * FROM read_json('/etc/passwd')", /table function read_json is not allowed/],
      ["read_parquet", "SELECT * FROM read_parquet('/etc/passwd')", /table function read_parquet is not allowed/],
      ["environment", "SELECT * FROM read_text('/proc/self/environ')", /table function read_text is not allowed/],
      ["qualified, upper case", "SELECT * FROM system.main.READ_TEXT('/etc/passwd')", /table function read_text is not allowed/],
      ["nested subquery", "SELECT (SELECT content FROM read_text('/etc/passwd')) AS x", /table function read_text is not allowed/],
      ["FROM-first", "FROM read_blob('/etc/passwd')", /table function read_blob is not allowed/],
      ["summarize", "SUMMARIZE SELECT * FROM read_text('/etc/passwd')", /table function read_text is not allowed/],
      ["glob", "SELECT * FROM glob('/etc/*')", /table function glob is not allowed/],
      ["glob everything", "SELECT * FROM glob('/**')", /table function glob is not allowed/],
      ["sniff_csv", "SELECT * FROM sniff_csv('/etc/passwd')", /table function sniff_csv is not allowed/],
      ["parquet_metadata", `SELECT * FROM parquet_metadata('${live}')`, /table function parquet_metadata is not allowed/],
      ["read_duckdb", `SELECT * FROM read_duckdb('${secret}')`, /table function read_duckdb is not allowed/],
      ["query()", "SELECT * FROM query('SELECT 1')", /table function query is not allowed/],
      ["query_table()", "SELECT * FROM query_table('orders')", /table function query_table is not allowed/],
      ["enable_logging to a file", `SELECT * FROM enable_logging(storage = 'file', storage_path = '${outside}')`, /table function enable_logging is not allowed/],
      ["enable_profiling", `SELECT * FROM enable_profiling(format := 'json', save_location := '${join(outside, "p.json")}')`, /table function enable_profiling is not allowed/],
      ["duckdb_settings", "SELECT * FROM duckdb_settings()", /table function duckdb_settings is not allowed/],
      ["getenv", "SELECT getenv('HOME')", /function getenv is not allowed/],
      ["write_log", "SELECT write_log('x')", /function write_log is not allowed/],
      ["sleep_ms", "SELECT sleep_ms(100000)", /function sleep_ms is not allowed/],
      // Layer 2: a file name in FROM is a replacement scan, not a function call; the engine refuses it.
      ["file outside the lake", `SELECT * FROM '${secretCsv}'`, /access denied/],
      ["describe a file outside", `DESCRIBE '${secretCsv}'`, /access denied/],
      [".. escape from the lake", `SELECT * FROM '${lakeDir}/orders/../../${basename(outside)}/secret.csv'`, /access denied/],
      ["relative escape", "SELECT * FROM 'lake/../../etc/passwd.csv'", /access denied/],
      ["glob over the lake", `SELECT count(*) FROM '${lakeDir}/**/*.parquet'`, /access denied/],
      ["glob from the root", "SELECT * FROM '/**/*.csv'", /access denied/],
      ["superseded lake file", `SELECT count(*) FROM '${fixture.first}'`, /access denied/],
      ["commit marker", `SELECT * FROM '${join(lakeDir, commitMarkerPath(0))}'`, /access denied/],
      // Statement kinds.
      ["COPY over a live lake file", `COPY (SELECT 1) TO '${live}' (USE_TMP_FILE false)`, /only SELECT/],
      ["COPY out", `COPY orders_raw TO '${join(outside, "out.csv")}'`, /only SELECT/],
      ["EXPORT", `EXPORT DATABASE '${join(outside, "export")}'`, /only SELECT/],
      ["ATTACH a file", `ATTACH '${join(outside, "evil.db")}' AS evil`, /only SELECT/],
      ["ATTACH memory", "ATTACH ':memory:' AS scratch", /only SELECT/],
      ["DETACH", "DETACH memory", /only SELECT/],
      ["USE", "USE system", /only SELECT/],
      ["SET", "SET enable_external_access = true", /only SELECT/],
      ["SET allowed_directories", "SET allowed_directories = ['/']", /only SELECT/],
      ["RESET", "RESET lock_configuration", /only SELECT/],
      ["SET VARIABLE", "SET VARIABLE x = 1", /only SELECT/],
      ["PRAGMA", "PRAGMA enable_profiling", /only SELECT/],
      ["PRAGMA rewritten to SELECT", "PRAGMA show_tables", /only SELECT/],
      ["INSTALL", "INSTALL httpfs", /only SELECT/],
      ["LOAD", "LOAD httpfs", /only SELECT/],
      ["CREATE TABLE", "CREATE TABLE t AS SELECT 1", /only SELECT/],
      ["CREATE VIEW over a view", "CREATE OR REPLACE VIEW orders AS SELECT 1 AS x", /only SELECT/],
      ["CREATE MACRO", "CREATE MACRO evil(x) AS x", /only SELECT/],
      ["INSERT", "INSERT INTO orders_raw SELECT * FROM orders_raw", /only SELECT/],
      ["UPDATE", "UPDATE orders_raw SET amount = 0", /only SELECT/],
      ["DELETE", "DELETE FROM orders_raw", /only SELECT/],
      ["DROP", "DROP VIEW orders", /only SELECT/],
      ["CALL", "CALL enable_logging()", /only SELECT/],
      ["PREPARE", "PREPARE p AS SELECT 1", /only SELECT/],
      ["transaction", "BEGIN TRANSACTION", /only SELECT/],
      ["CHECKPOINT", "CHECKPOINT", /only SELECT/],
      ["EXPLAIN ANALYZE runs its statement", `EXPLAIN ANALYZE COPY (SELECT 1) TO '${join(outside, "x.csv")}'`, /only SELECT/],
      ["two statements", "SELECT 1; SELECT 2", /one statement at a time, got 2/],
      ["a write after a select", `SELECT 1; COPY (SELECT 1) TO '${join(outside, "y.csv")}'`, /one statement at a time/],
      // A dynamic PIVOT is legitimate (its CREATE TYPE comes from DuckDB's parser); its contents pass the gate.
      ["PIVOT over a file reader", "PIVOT read_text('/etc/passwd') ON filename", /table function read_text is not allowed/],
      ["PIVOT with an effect", "PIVOT (SELECT 1 AS c) ON c USING sum(write_log('x'))", /function write_log is not allowed/],
      ["PIVOT with an environment read", "PIVOT (SELECT getenv('HOME') AS c) ON c", /function getenv is not allowed/],
      ["dynamic PIVOT nested in a SELECT", "SELECT * FROM (PIVOT orders ON country USING sum(amount))", /one statement at a time/],
      ["a PIVOT then a write", `PIVOT orders ON country USING sum(amount); COPY (SELECT 1) TO '${join(outside, "z.csv")}'`, /one statement at a time/],
      ["setting that names a path", "SELECT current_setting('allowed_paths')", /current_setting may read only/],
      ["setting by expression", "SELECT current_setting('allowed_' || 'paths')", /current_setting may read only/],
      ["home directory", "SELECT current_setting('home_directory')", /current_setting may read only/],
      ["a function not on the allow-list", "SELECT getvariable('x')", /function getvariable is not allowed/],
      ["no statement", "  -- nothing\n", /no statement to run/],
      ["very long", `SELECT 1 ${" ".repeat(20_000)}`, /limit is 20000/],
    ];
  };

  it("refuses at least 30 hostile statements with a reason, and reads or writes nothing", async () => {
    const before = await snapshotOf(lakeDir);
    const list = cases();
    expect(list.length).toBeGreaterThanOrEqual(30);
    for (const [name, sql, reason] of list) {
      const error = await lake.query(sql).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(QueryRejectedError);
      expect((error as QueryRejectedError).reason, name).toMatch(reason);
      expect((error as Error).message, name).not.toMatch(/root:|TOP-SECRET/);
    }
    expect(await snapshotOf(lakeDir)).toEqual(before);
    expect((await readdir(outside)).sort()).toEqual(["secret.csv", "secret.txt"]);
  });

  it("still answers legitimate queries afterwards, over intact views", async () => {
    expect((await lake.query("SELECT count(*) FROM orders")).rows).toEqual([[String(fixture.deduplicated.length)]]);
    expect((await lake.query("SELECT current_setting('enable_external_access') AS external")).rows).toEqual([[false]]);
    const tables = await lake.query("SHOW TABLES");
    expect(tables.rows.map(([name]) => name)).toEqual([...LAKE_VIEWS].sort());
    const recursive = await lake.query("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT list(i) FROM n");
    expect(recursive.rows).toEqual([[[1, 2, 3]]]);
    const pivot = await lake.query("PIVOT orders ON country USING count(*) ORDER BY ALL");
    expect(pivot.columns.map((c) => c.name).slice(-3)).toEqual(["DE", "FR", "US"]);
    const commented = await lake.query("-- a comment first\nPIVOT (SELECT 'x' AS k, 2 AS v) ON k USING sum(v)");
    expect(commented.rows).toEqual([["2"]]);
  });
});

describe("money in the lake", () => {
  // Each amount is rounded once, half away from zero on the value as written; a sum of the doubles drifts.
  const amounts = [1.005, 2.675, 0.125, 0.1, 1.005, 2.675, 0.1, 0.2, 1.015, 4.445];
  const expectedCents = amounts.map(amountToCents).reduce((a, b) => a + b, 0);
  /** The file schema before amount_cents existed (issue 9): such files must stay readable. */
  const LEGACY_ORDERS_TABLE = { ...ORDERS_TABLE, columns: ORDERS_TABLE.columns.filter((c) => c.name !== "amount_cents") };

  it("is exact to the cent in every view and ad-hoc sum, for files written with and without amount_cents, and after compaction", async () => {
    expect(expectedCents).toBe(101 + 268 + 13 + 10 + 101 + 268 + 10 + 20 + 102 + 445);
    // The input is one that drifts: the doubles' sum, rounded, is not the cents' sum.
    expect(Math.round(amounts.reduce((a, b) => a + b, 0) * 100)).not.toBe(expectedCents);
    const lakeDir = await tempDir("lake-money-");
    const rows = amounts.map((amount, offset) => order(0, offset, HOUR_10, { amount, country: offset % 2 ? "DE" : "US", customer_id: `c-${offset}` }));
    const legacy = rows.slice(0, 4).map(({ amount_cents: _dropped, ...row }) => row);
    const legacyPath = join(lakeDir, ordersFilePath(HOUR_10, { partition: 0, firstOffset: 0, lastOffset: 3 }));
    await writeParquetFile(legacyPath, LEGACY_ORDERS_TABLE, legacy);
    await writeOrders(lakeDir, HOUR_10, rows.slice(4));
    await writeMarker(lakeDir, 0, amounts.length);

    const figures = async () => {
      const lake = await open(lakeDir);
      await lake.refresh();
      const byCountry = (country: string) => rows.filter((r) => r.country === country).reduce((s, r) => s + amountToCents(r.amount), 0);
      return {
        adHoc: (await lake.query("SELECT sum(amount), sum(amount_cents), typeof(amount) FROM orders GROUP BY ALL")).rows,
        perRow: (await lake.query("SELECT amount FROM orders_raw ORDER BY kafka_offset")).rows.map(([a]) => a),
        daily: (await lake.query("SELECT revenue, aov FROM daily_kpis")).rows,
        dims: (await lake.query("SELECT country, revenue FROM revenue_by_country ORDER BY country")).rows,
        expected: {
          adHoc: [[formatCents(expectedCents), String(expectedCents), "DECIMAL(18,2)"]],
          perRow: amounts.map((a) => formatCents(amountToCents(a))),
          daily: [[formatCents(expectedCents), formatCents(aovCents(expectedCents, amounts.length))]],
          dims: [["DE", formatCents(byCountry("DE"))], ["US", formatCents(byCountry("US"))]],
        },
      };
    };
    const before = await figures();
    expect({ adHoc: before.adHoc, perRow: before.perRow, daily: before.daily, dims: before.dims }).toEqual(before.expected);
    expect(before.perRow.slice(0, 3)).toEqual(["1.01", "2.68", "0.13"]); // the legacy file's doubles, rounded as written

    // Compaction merges the legacy and the new file into one with amount_cents: the same figures.
    const compaction = await runScript("workers/cli/lake-compact.ts", ["--grace", "0s"], { LAKE_DIR: lakeDir });
    expect(compaction.code, compaction.stderr).toBe(0);
    expect(compaction.stdout).toMatch(/summary merges=1 inputs=2 rows=10/);
    const merged = join(lakeDir, ordersFilePath(HOUR_10, { partition: 0, firstOffset: 0, lastOffset: amounts.length - 1 }));
    const duck = await DuckDBInstance.create(":memory:");
    const db = await duck.connect();
    expect((await db.runAndReadAll(`SELECT sum(amount_cents), count(amount_cents) FROM read_parquet('${merged}')`)).getRowsJson()).toEqual([[String(expectedCents), String(amounts.length)]]);
    db.closeSync();
    duck.closeSync();
    const after = await figures();
    expect({ adHoc: after.adHoc, perRow: after.perRow, daily: after.daily, dims: after.dims }).toEqual(before.expected);
  });
});
