/**
 * Writes one business day of the gold tables as Parquet and CSV under
 * `$LAKE_DIR/gold/<table>/date=YYYY-MM-DD/`, replacing that day's previous
 * files (atomic-files.ts). The rows go through a temporary DuckDB table in the
 * batch's privileged instance, which writes both formats; the same rows in the
 * same order give byte-identical files, so a rerun on an unchanged lake changes
 * nothing.
 */
import { join } from "node:path";
import { goldDayFiles, type GoldRow, type GoldTable } from "../../lib/batch/daily-kpis.ts";
import { replaceFiles } from "../shared/atomic-file.ts";
import { LakeReadError, type LakeReader } from "./lake-reader.ts";
import { sqlIdentifier as identifier } from "../../lib/lake/sql.ts";

export interface GoldOutput {
  table: GoldTable;
  rows: readonly GoldRow[];
  /** ORDER BY of the written files, e.g. `country, revenue_rank, category`. */
  orderBy: string;
}


async function loadTable(reader: LakeReader, output: GoldOutput): Promise<string> {
  const name = `gold_${output.table.name}`;
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
    throw new LakeReadError(`cannot stage gold table ${output.table.name}: ${(error as Error).message}`, { lakeDir: reader.lakeDir }, { cause: error });
  }
  return name;
}

/** Replaces the day's files of every output; returns the paths written. */
export async function writeGoldDay(reader: LakeReader, date: string, outputs: readonly GoldOutput[]): Promise<string[]> {
  const tables: { output: GoldOutput; name: string }[] = [];
  for (const output of outputs) tables.push({ output, name: await loadTable(reader, output) });
  return replaceFiles(async (staged) => {
    for (const { output, name } of tables) {
      const files = goldDayFiles(output.table.name, date);
      const select = `SELECT * FROM ${name} ORDER BY ${output.orderBy}`;
      await reader.copyTo(select, await staged.stage(join(reader.lakeDir, files.parquet)), "parquet");
      await reader.copyTo(select, await staged.stage(join(reader.lakeDir, files.csv)), "csv");
    }
  });
}
