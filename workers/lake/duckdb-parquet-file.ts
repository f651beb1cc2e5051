/**
 * The lake's alternative Parquet writer (LAKE_WRITER=duckdb; parquetjs-lite
 * stays the default, issue 13): a column batch goes into a DuckDB table through
 * the appender, in data chunks, and `COPY … TO` writes it as Parquet (SNAPPY,
 * the lake's row group size, each column cast to the lake's type) under a
 * temporary name, which replaceFiles fsyncs, renames into place and makes
 * durable: the same naming, fsync and marker protocol as writeParquetColumns,
 * whose caller writes the commit marker after.
 *
 * Timestamps are written as DuckDB TIMESTAMP (microseconds), which reads back as
 * the same TIMESTAMP as parquetjs-lite's TIMESTAMP_MILLIS.
 */
import { BLOB, blobValue, DOUBLE, DuckDBDataChunk, DuckDBInstance, VARCHAR, type DuckDBConnection, type DuckDBType, type DuckDBValue } from "@duckdb/node-api";
import { valueAt, type ColumnBatch, type ColumnValues } from "../../lib/lake/column-batch.ts";
import { PARQUET_COMPRESSION, ROW_GROUP_SIZE, type LakeColumn, type LakeTable } from "../../lib/lake/schema.ts";
import { sqlIdentifier as identifier, sqlLiteral } from "../../lib/lake/sql.ts";
import { replaceFiles } from "../shared/atomic-file.ts";
import { writeFailure } from "./parquet-file.ts";

/** DuckDB's data chunk size (STANDARD_VECTOR_SIZE). */
const CHUNK_ROWS = 2_048;

let connection: Promise<DuckDBConnection> | undefined;
let staging = 0;

/** One in-memory DuckDB per thread, one thread each: the encoder pool is the parallelism. */
function duckdb(): Promise<DuckDBConnection> {
  connection ??= DuckDBInstance.create(":memory:", { threads: "1" }).then((db) => db.connect());
  return connection;
}

const stagingType = (c: LakeColumn): DuckDBType => (c.parquetType === "UTF8" ? VARCHAR : c.parquetType === "BYTE_ARRAY" ? BLOB : DOUBLE);
const stagingSql = (c: LakeColumn) => (c.parquetType === "UTF8" ? "VARCHAR" : c.parquetType === "BYTE_ARRAY" ? "BLOB" : "DOUBLE");

/** The staged DOUBLE/VARCHAR/BLOB column as the lake's type. */
function outputSql(c: LakeColumn): string {
  const id = identifier(c.name);
  if (c.parquetType === "TIMESTAMP_MILLIS") return `epoch_ms(CAST(${id} AS BIGINT)) AS ${id}`;
  return `CAST(${id} AS ${c.sqlType}) AS ${id}`;
}

/** The checks parquetjs-lite makes per value (required present, numbers finite and whole where they must be), with the row they fail at. */
function checkColumn(c: LakeColumn, column: ColumnValues | undefined, rows: number): { row: number; message: string } | undefined {
  for (let row = 0; row < rows; row++) {
    const value = column ? valueAt(column, row) : null;
    if (value === null) {
      if (!c.optional) return { row, message: `missing required field: ${c.name}` };
      continue;
    }
    if (column?.kind === "number") {
      const n = value as number;
      if (Number.isNaN(n) || (c.parquetType !== "DOUBLE" && !Number.isInteger(n)) || (c.parquetType === "TIMESTAMP_MILLIS" && n < 0))
        return { row, message: `invalid value for ${c.parquetType}: ${n}` };
    } else if (column?.kind === "text" && typeof value !== "string") return { row, message: `invalid value for UTF8: ${String(value)}` };
  }
  return undefined;
}

function chunkValues(column: ColumnValues | undefined, from: number, to: number): DuckDBValue[] {
  const out: DuckDBValue[] = new Array<DuckDBValue>(to - from);
  for (let row = from; row < to; row++) {
    const value = column ? valueAt(column, row) : null;
    out[row - from] = value instanceof Uint8Array ? blobValue(value) : value;
  }
  return out;
}

/** Writes a column batch as a Parquet file at `path` with DuckDB, atomically and durably (see the module comment); LakeWriteError on failure, nothing left behind. */
export async function writeDuckDbParquet<Row extends object>(path: string, table: LakeTable<Row>, batch: ColumnBatch): Promise<{ path: string; rows: number }> {
  const fail = writeFailure(path, table, batch);
  for (const c of table.columns) {
    const bad = checkColumn(c, batch.columns[c.name], batch.rows);
    if (bad) throw fail(`cannot write row ${bad.row} of ${path}`, bad.message, bad.row);
  }
  const db = await duckdb();
  const name = `lake_staging_${++staging}`;
  try {
    await db.run(`CREATE TEMP TABLE ${name} (${table.columns.map((c) => `${identifier(c.name)} ${stagingSql(c)}`).join(", ")})`);
    const appender = await db.createAppender(name);
    const types = table.columns.map(stagingType);
    for (let from = 0; from < batch.rows; from += CHUNK_ROWS) {
      const to = Math.min(batch.rows, from + CHUNK_ROWS);
      const chunk = DuckDBDataChunk.create(types, to - from);
      table.columns.forEach((c, i) => chunk.setColumnValues(i, chunkValues(batch.columns[c.name], from, to)));
      appender.appendDataChunk(chunk);
    }
    appender.closeSync();
    await replaceFiles(async (staged) => {
      const temporary = await staged.stage(path);
      await db.run(
        `COPY (SELECT ${table.columns.map(outputSql).join(", ")} FROM ${name}) TO ${sqlLiteral(temporary)} (FORMAT parquet, COMPRESSION ${PARQUET_COMPRESSION.toLowerCase()}, ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`,
      );
    });
    return { path, rows: batch.rows };
  } catch (error) {
    throw fail(`cannot write ${path}`, error);
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${name}`).catch(() => undefined);
  }
}
