import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import { writeLakeFixture, type FixtureMessage } from "./support/batch-lake.ts";
import { runScript, tempDir } from "./support/processes.ts";

/** Table → row count in a DuckDB file, and each CSV's row count as DuckDB reads it. */
async function inspect(database: string, outDir: string): Promise<{ tables: Record<string, number>; csv: Record<string, number> }> {
  const instance = await DuckDBInstance.create(database, { access_mode: "READ_ONLY" });
  const connection = await instance.connect();
  try {
    const names = (await connection.runAndReadAll("SELECT table_name FROM duckdb_tables() ORDER BY table_name")).getRows().map((r) => String(r[0]));
    const tables: Record<string, number> = {};
    const csv: Record<string, number> = {};
    for (const name of names) {
      tables[name] = Number((await connection.runAndReadAll(`SELECT count(*) FROM "${name}"`)).getRows()[0]![0]);
      const path = join(outDir, `${name}.csv`).replaceAll("'", "''");
      csv[name] = Number((await connection.runAndReadAll(`SELECT count(*) FROM read_csv('${path}', header = true, all_varchar = true)`)).getRows()[0]![0]);
    }
    return { tables, csv };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe("export", () => {
  let lakeDir: string;
  let outDir: string;
  let messages: FixtureMessage[];
  const env = () => ({ LAKE_DIR: lakeDir, BUSINESS_TZ: "UTC" });

  beforeAll(async () => {
    lakeDir = tempDir("export-lake");
    outDir = tempDir("export-out");
    messages = await writeLakeFixture({ lakeDir, seed: 3, count: 4_000, startMs: Date.parse("2026-11-20T23:20:00Z"), partitions: 3, ratePerSecond: 1 });
  });
  afterAll(async () => {
    for (const dir of [lakeDir, outDir]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  function truth() {
    const seen = new Set<string>();
    const days = new Set<string>();
    for (const m of [...messages].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
      if (!m.decoded.ok || seen.has(m.decoded.order.orderId)) continue;
      seen.add(m.decoded.order.orderId);
      days.add(new Date(m.decoded.order.eventTime).toISOString().slice(0, 10));
    }
    return { orders: seen.size, invalid: messages.filter((m) => !m.decoded.ok).length, days: days.size };
  }

  it("writes a DuckDB file and CSVs with the lake's tables and counts, atomically", async () => {
    const run = await runScript("workers/cli/export.ts", ["--out", outDir], env());
    expect(run.code, run.stderr).toBe(0);
    const expected = truth();
    expect(expected.days).toBe(2); // the data crosses midnight UTC
    const { tables, csv } = await inspect(join(outDir, "orderpulse.duckdb"), outDir);
    expect(tables).toEqual({ daily_kpis: expected.days, orders: expected.orders, orders_invalid: expected.invalid });
    expect(csv).toEqual(tables);
    expect(run.stdout).toContain(`table orders rows=${expected.orders}`);
    expect((await readdir(outDir)).sort()).toEqual(["daily_kpis.csv", "orderpulse.duckdb", "orders.csv", "orders_invalid.csv"]);
  });

  it("includes the gold tables once batch:daily has run, replacing the previous export", async () => {
    for (const date of ["2026-11-20", "2026-11-21"]) {
      const batch = await runScript("workers/cli/batch-daily.ts", ["--date", date], env());
      expect(batch.code, batch.stderr).toBe(0);
    }
    const run = await runScript("workers/cli/export.ts", ["--out", outDir], env());
    expect(run.code, run.stderr).toBe(0);
    const { tables, csv } = await inspect(join(outDir, "orderpulse.duckdb"), outDir);
    expect(Object.keys(tables)).toEqual([
      "daily_kpis",
      "gold_daily_country_category",
      "gold_daily_kpis",
      "gold_daily_premium_metrics",
      "gold_daily_segment_metrics",
      "minute_metrics",
      "orders",
      "orders_invalid",
    ]);
    expect(tables.gold_daily_kpis).toBe(2);
    expect(tables.gold_daily_country_category).toBeGreaterThan(20);
    // No dim_customer was loaded: every order is UNKNOWN and not premium, one row per country and day.
    expect(tables.gold_daily_segment_metrics).toBe(tables.gold_daily_premium_metrics);
    // The silver table: every minute of the data (4000 messages at 1/s, about 67 minutes), with a CSV per day.
    expect(tables.minute_metrics).toBeGreaterThan(60);
    const perDay = await readdir(join(outDir, "minute_metrics"));
    expect(perDay.sort()).toEqual(["2026-11-20.csv", "2026-11-21.csv"]);
    const dayRows = async (day: string) => (await readFile(join(outDir, "minute_metrics", `${day}.csv`), "utf8")).trimEnd().split("\n").length - 1;
    expect((await dayRows("2026-11-20")) + (await dayRows("2026-11-21"))).toBe(tables.minute_metrics);
    expect(tables.orders).toBe(truth().orders);
    expect(csv).toEqual(tables);
    expect((await readdir(outDir)).filter((name) => name.startsWith("."))).toEqual([]);

    // The gold KPIs agree with the lake's own daily view on the shared columns.
    const instance = await DuckDBInstance.create(join(outDir, "orderpulse.duckdb"), { access_mode: "READ_ONLY" });
    const connection = await instance.connect();
    const disagreements = await connection.runAndReadAll(
      `SELECT g.date FROM gold_daily_kpis g JOIN daily_kpis d USING (date) WHERE g.orders <> d.orders OR g.customers <> d.customers OR g.items <> d.items OR abs(g.revenue - d.revenue) > 0.01`,
    );
    expect(disagreements.getRows()).toEqual([]);
    connection.closeSync();
    instance.closeSync();
  });

  it("fails with a message and exit 1 when it cannot write", async () => {
    const notADirectory = join(outDir, "orders.csv"); // a file: nothing can be created under it
    const run = await runScript("workers/cli/export.ts", ["--out", join(notADirectory, "sub")], env());
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^export: failed: ENOTDIR: not a directory/m);
  });
});
