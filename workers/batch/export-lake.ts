/**
 * The lake as one DuckDB database file plus CSVs, for sharing:
 *   <out>/orderpulse.duckdb  tables orders (de-duplicated), orders_invalid,
 *                            daily_kpis (the lake view, in BUSINESS_TZ) and,
 *                            when batch:daily has run, gold_daily_kpis and
 *                            gold_daily_country_category, gold_daily_segment_metrics,
 *                            gold_daily_premium_metrics (every day written), and
 *                            minute_metrics (the silver table, every day, with
 *                            its event_date)
 *   <out>/<table>.csv        one per table, with a header
 *   <out>/minute_metrics/<YYYY-MM-DD>.csv   the silver table, one CSV per day
 * Everything is written under temporary names and renamed into place at the
 * end (atomic-files.ts), so a reader sees the previous export or the new one.
 */
import { existsSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { GOLD_ROOT, GOLD_TABLES, goldDayFiles, type GoldTable } from "../../lib/batch/daily-kpis.ts";
import { MINUTE_METRICS_TABLE, minuteMetricsPath, SILVER_ROOT } from "../../lib/batch/minute-metrics.ts";
import { replaceFiles } from "../shared/atomic-file.ts";
import { LakeReadError, withLakeReader, type LakeReader } from "./lake-reader.ts";
import { sqlLiteral as literal } from "../../lib/lake/sql.ts";

export const EXPORT_DATABASE = "orderpulse.duckdb";

export interface ExportOptions {
  lakeDir: string;
  outDir: string;
  businessTz: string;
  progress?: { write(text: string): boolean };
}

export interface ExportedTable {
  name: string;
  rows: number;
  csv: string;
}

export interface ExportResult {
  database: string;
  tables: ExportedTable[];
}


/** Every gold day file of each table, by date. */
async function goldFiles(lakeDir: string): Promise<Map<GoldTable, string[]>> {
  const found = new Map<GoldTable, string[]>();
  for (const table of GOLD_TABLES) {
    let days: string[];
    try {
      days = (await readdir(join(lakeDir, GOLD_ROOT, table.name))).filter((name) => /^date=\d{4}-\d{2}-\d{2}$/.test(name)).sort();
    } catch {
      continue;
    }
    const files = days.map((dir) => join(lakeDir, goldDayFiles(table.name, dir.slice("date=".length)).parquet)).filter((path) => existsSync(path));
    if (files.length > 0) found.set(table, files);
  }
  return found;
}

/** The silver minute_metrics files by day (`YYYY-MM-DD` → path). */
async function minuteFiles(lakeDir: string): Promise<Map<string, string>> {
  let dirs: string[];
  try {
    dirs = await readdir(join(lakeDir, SILVER_ROOT, MINUTE_METRICS_TABLE.name));
  } catch {
    return new Map();
  }
  const days = dirs.filter((name) => /^event_date=\d{4}-\d{2}-\d{2}$/.test(name)).map((name) => name.slice("event_date=".length)).sort();
  return new Map(days.map((day) => [day, join(lakeDir, minuteMetricsPath(day))] as const).filter(([, path]) => existsSync(path)));
}

/** Table name → SELECT that fills it. */
async function exportSources(reader: LakeReader): Promise<[string, string][]> {
  const sources: [string, string][] = [
    ["orders", "SELECT * FROM orders ORDER BY kafka_partition, kafka_offset"],
    ["orders_invalid", "SELECT * FROM orders_invalid ORDER BY kafka_partition, kafka_offset"],
    ["daily_kpis", "SELECT * FROM daily_kpis ORDER BY date"],
  ];
  for (const [table, files] of await goldFiles(reader.lakeDir)) {
    // The date is a column of the files; the directory's date= must not be added again.
    sources.push([`gold_${table.name}`, `SELECT * FROM read_parquet([${files.map(literal).join(", ")}], hive_partitioning = false) ORDER BY ${table.orderBy}`]);
  }
  const minutes = await minuteFiles(reader.lakeDir);
  if (minutes.size > 0)
    sources.push([
      MINUTE_METRICS_TABLE.name,
      `SELECT * FROM read_parquet([${[...minutes.values()].map(literal).join(", ")}], hive_partitioning = true, hive_types = {'event_date': DATE}) ORDER BY event_date, ${MINUTE_METRICS_TABLE.orderBy}`,
    ]);
  return sources;
}

export async function exportLake(options: ExportOptions): Promise<ExportResult> {
  const outDir = resolve(options.outDir);
  const progress = options.progress ?? process.stderr;
  return withLakeReader(options.lakeDir, { businessTz: options.businessTz }, async (reader) => {
    const tables: ExportedTable[] = [];
    const database = join(outDir, EXPORT_DATABASE);
    await replaceFiles(async (staged) => {
      const tempDatabase = await staged.stage(database);
      await rm(tempDatabase, { force: true });
      const run = async (sql: string) => {
        try {
          await reader.connection.run(sql);
        } catch (error) {
          throw new LakeReadError(`export failed: ${(error as Error).message}`, { lakeDir: reader.lakeDir }, { cause: error });
        }
      };
      await run(`ATTACH ${literal(tempDatabase)} AS export_db`);
      try {
        for (const [name, select] of await exportSources(reader)) {
          progress.write(`export: table ${name}\n`);
          await run(`CREATE TABLE export_db.${name} AS ${select}`);
          const rows = await reader.number(`SELECT count(*) FROM export_db.${name}`);
          const csv = join(outDir, `${name}.csv`);
          await reader.copyTo(`SELECT * FROM export_db.${name}`, await staged.stage(csv), "csv");
          tables.push({ name, rows, csv });
          if (name === MINUTE_METRICS_TABLE.name)
            for (const day of (await minuteFiles(reader.lakeDir)).keys())
              await reader.copyTo(`SELECT * FROM export_db.${name} WHERE event_date = DATE ${literal(day)}`, await staged.stage(join(outDir, name, `${day}.csv`)), "csv");
        }
        await run("CHECKPOINT export_db");
      } finally {
        await run("DETACH export_db").catch(() => undefined);
      }
      await rm(`${tempDatabase}.wal`, { force: true });
    });
    return { database, tables };
  });
}
