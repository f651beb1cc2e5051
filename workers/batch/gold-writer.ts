/**
 * Writes the batch's tables as Parquet (and CSV) under LAKE_DIR, replacing
 * the previous files of the same day (workers/shared/atomic-file.ts): the gold
 * tables at `$LAKE_DIR/gold/<table>/date=YYYY-MM-DD/`, the silver
 * minute_metrics at `$LAKE_DIR/silver/minute_metrics/event_date=YYYY-MM-DD/`.
 * The rows go through a temporary DuckDB table in the batch's privileged
 * instance, which writes both formats; the same rows in the same order give
 * byte-identical files, so a rerun on an unchanged lake changes nothing.
 */
import { join } from "node:path";
import { goldDayFiles, type BatchTable, type GoldRow, type GoldTable } from "../../lib/batch/daily-kpis.ts";
import { replaceFiles } from "../shared/atomic-file.ts";
import { LakeReadError, type LakeReader } from "./lake-reader.ts";
import { sqlIdentifier as identifier } from "../../lib/lake/sql.ts";

export interface BatchOutput {
  table: BatchTable;
  rows: readonly GoldRow[];
  /** Lake-relative paths to write; no csv: Parquet only. */
  parquet: string;
  csv?: string;
}

async function loadTable(reader: LakeReader, output: BatchOutput): Promise<string> {
  const name = `batch_${output.table.name}`;
  const columns = output.table.columns.map((c) => `${identifier(c.name)} ${c.sqlType}`).join(", ");
  // Parameters are bound as text or numbers and cast by DuckDB: DATE and DECIMAL from text are exact.
  const values = output.table.columns.map((c, i) => `CAST($${i + 1} AS ${c.sqlType})`).join(", ");
  try {
    await reader.connection.run(`CREATE OR REPLACE TEMP TABLE ${name} (${columns})`);
    const insert = await reader.connection.prepare(`INSERT INTO ${name} VALUES (${values})`);
    for (const row of output.rows) {
      insert.bind(row.map((value) => (typeof value === "number" ? String(value) : value)));
      await insert.run();
    }
  } catch (error) {
    throw new LakeReadError(`cannot stage table ${output.table.name}: ${(error as Error).message}`, { lakeDir: reader.lakeDir }, { cause: error });
  }
  return name;
}

/** Replaces the files of every output together; returns the paths written. */
export async function writeBatchTables(reader: LakeReader, outputs: readonly BatchOutput[]): Promise<string[]> {
  const tables: { output: BatchOutput; name: string }[] = [];
  for (const output of outputs) tables.push({ output, name: await loadTable(reader, output) });
  return replaceFiles(async (staged) => {
    for (const { output, name } of tables) {
      const select = `SELECT * FROM ${name} ORDER BY ${output.table.orderBy}`;
      await reader.copyTo(select, await staged.stage(join(reader.lakeDir, output.parquet)), "parquet");
      if (output.csv) await reader.copyTo(select, await staged.stage(join(reader.lakeDir, output.csv)), "csv");
    }
  });
}

/** A gold table's day, as Parquet and CSV in goldDayDir. */
export const goldOutput = (table: GoldTable, date: string, rows: readonly GoldRow[]): BatchOutput => ({ table, rows, ...goldDayFiles(table.name, date) });
