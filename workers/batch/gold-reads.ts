/**
 * Reads one business day of a gold table back (the Batch page's "daily_kpis of a day"),
 * from the Parquet file batch:daily wrote (gold-writer.ts), with when it was written:
 * the file's modification time is when the day's KPIs were computed, whoever ran the job.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { goldDayFiles, type GoldTable } from "../../lib/batch/daily-kpis.ts";
import { sqlIdentifier, sqlLiteral } from "../../lib/lake/sql.ts";
import { LakeReadError } from "./lake-reader.ts";

export interface GoldDay {
  table: GoldTable["name"];
  date: string;
  /** Epoch ms the day's file was written; null: the day was never computed (no file). */
  computedAt: number | null;
  columns: { name: string; type: string }[];
  /** Values as JSON: counts as numbers, money (DECIMAL) and dates as their exact text. */
  rows: (string | number | null)[][];
}

/** The day's rows of `table`, or no rows and `computedAt: null` when batch:daily has not written the day. Throws LakeReadError when the file cannot be read. */
export async function readGoldDay(lakeDir: string, table: GoldTable, date: string): Promise<GoldDay> {
  const file = join(lakeDir, goldDayFiles(table.name, date).parquet);
  const columns = table.columns.map((c) => ({ name: c.name, type: c.sqlType }));
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (!info) return { table: table.name, date, computedAt: null, columns, rows: [] };
  const select = table.columns
    .map((c) => `CAST(${sqlIdentifier(c.name)} AS ${c.sqlType === "BIGINT" ? "DOUBLE" : "VARCHAR"}) AS ${sqlIdentifier(c.name)}`)
    .join(", ");
  const instance = await DuckDBInstance.create(":memory:", { autoinstall_known_extensions: "false", autoload_known_extensions: "false", threads: "1" });
  try {
    const connection = await instance.connect();
    const rows = (await connection.runAndReadAll(`SELECT ${select} FROM read_parquet(${sqlLiteral(file)})`)).getRows() as (string | number | null)[][];
    connection.closeSync();
    return { table: table.name, date, computedAt: info.mtimeMs, columns, rows };
  } catch (error) {
    throw new LakeReadError(`cannot read gold ${table.name} for ${date}: ${(error as Error).message}`, { lakeDir }, { cause: error });
  } finally {
    instance.closeSync();
  }
}
