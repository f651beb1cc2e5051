/**
 * The one function that writes a lake Parquet file, atomically and durably.
 *
 * Writer settings, and why:
 * - SNAPPY compression: parquetjs-lite has SNAPPY and GZIP (LZO and BROTLI throw
 *   "Not Supported in Lite version"); DuckDB, Spark and pyarrow read both, and
 *   snappy is the ecosystem's default, cheap to decode.
 * - Data page v1 (parquetjs-lite defaults to v2): the most widely read page format.
 * - No page index: parquetjs-lite writes a ColumnIndex without its required
 *   null_pages/boundary_order fields.
 * - No min/max statistics on text and byte columns: parquetjs-lite computes them
 *   with JavaScript string order (UTF-16 code units), not the byte order the
 *   format specifies, so a reader that prunes row groups by them (DuckDB does)
 *   would silently skip matching rows (e.g. `'😀'` vs `'Ａ'`). Numeric and
 *   timestamp statistics are correct and kept: they make time filters cheap.
 * - One row group per ROW_GROUP_SIZE rows (parquetjs-lite defaults to 4096): few
 *   large row groups read faster; a file rotates at LAKE_ROTATE_ROWS anyway.
 */
import { createRequire } from "node:module";
import { PARQUET_COMPRESSION, ROW_GROUP_SIZE, type LakeTable, type ParquetType } from "../../lib/lake/schema.ts";
import { replaceFiles } from "../shared/atomic-file.ts";
import { rowAt, toColumnBatch, valueAt, type ColumnBatch } from "../../lib/lake/column-batch.ts";

export class LakeWriteError extends Error {
  constructor(
    message: string,
    readonly context: { path: string; row?: number; partition?: number; offset?: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "LakeWriteError";
  }
}

/** A flat column as parquetjs-lite's schema describes it. */
interface ParquetLiteField {
  name: string;
  path: string[];
  repetitionType: "REQUIRED" | "OPTIONAL" | "REPEATED";
  primitiveType: string;
  originalType?: string;
  dLevelMax: number;
  statistics?: false;
}

/** One column's buffered values, as parquetjs-lite's shredder leaves them (lib/shred.js). */
interface ParquetLiteColumnData {
  dlevels: number[];
  rlevels: number[];
  values: unknown[];
  distinct_values: Set<unknown>;
  count: number;
}

interface ParquetLiteRowBuffer {
  rowCount?: number;
  pageRowCount?: number;
  columnData?: Record<string, ParquetLiteColumnData>;
  pages?: Record<string, unknown[]>;
}

interface ParquetLiteWriter {
  rowBuffer: ParquetLiteRowBuffer;
  envelopeWriter: { pageSize: number };
  appendRow(row: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

/** The slice of parquetjs-lite used here (the package ships no types). */
interface ParquetLite {
  ParquetSchema: new (fields: Record<string, ParquetFieldSpec>) => { fieldList: ParquetLiteField[] };
  ParquetWriter: {
    openFile(schema: unknown, path: string, options: Record<string, unknown>): Promise<ParquetLiteWriter>;
  };
}

interface ParquetFieldSpec {
  type: ParquetType;
  optional: boolean;
  compression: string;
  statistics?: false;
}

let parquetLite: ParquetLite | undefined;
let toPrimitive: ((type: string, value: unknown) => unknown) | undefined;
const schemas = new Map<LakeTable<unknown>, { fieldList: ParquetLiteField[] }>();

/** Loaded on first write, so the query layer can import the columns without the writer. */
function parquetSchema(table: LakeTable<unknown>): { fieldList: ParquetLiteField[] } {
  const require = createRequire(import.meta.url);
  parquetLite ??= require("parquetjs-lite") as ParquetLite;
  toPrimitive ??= (require("parquetjs-lite/lib/types") as { toPrimitive: (type: string, value: unknown) => unknown }).toPrimitive;
  let schema = schemas.get(table);
  if (!schema) {
    const fields: Record<string, ParquetFieldSpec> = {};
    for (const c of table.columns)
      fields[c.name] = {
        type: c.parquetType,
        optional: c.optional,
        compression: PARQUET_COMPRESSION,
        ...(c.parquetType === "UTF8" || c.parquetType === "BYTE_ARRAY" ? { statistics: false as const } : {}),
      };
    schema = new parquetLite.ParquetSchema(fields);
    schemas.set(table, schema);
  }
  return schema;
}

/** parquetjs-lite throws plain strings; give them a shape. */
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Makes the LakeWriteError of a failed write of `batch` to `path`: the message, and the row's partition and offset when a row is named. */
export function writeFailure(path: string, table: LakeTable<object>, batch: ColumnBatch): (message: string, cause: unknown, row?: number) => LakeWriteError {
  return (message, cause, row) => {
    const record = row === undefined ? undefined : rowAt(table as LakeTable<unknown>, batch, row);
    const partition = typeof record?.kafka_partition === "number" ? record.kafka_partition : undefined;
    const offset = typeof record?.kafka_offset === "number" ? record.kafka_offset : undefined;
    return new LakeWriteError(`${message}: ${messageOf(cause)}`, { path, row, partition, offset }, { cause });
  };
}

class RowError extends Error {
  constructor(
    readonly row: number,
    cause: unknown,
  ) {
    super(messageOf(cause), { cause });
  }
}

/**
 * Appends rows [from, to) of `batch` to the writer's current row group the way
 * parquetjs-lite's shredder would (same levels, same primitive conversion and
 * checks, same statistics input), one column at a time. The writer's own
 * appendRow, called for the row after, then decides on pages and row groups.
 * Throws RowError naming the first bad row.
 */
function appendColumns(writer: ParquetLiteWriter, fields: readonly ParquetLiteField[], batch: ColumnBatch, from: number, to: number): void {
  const buffer = writer.rowBuffer;
  if (!buffer.columnData || buffer.rowCount === undefined) {
    buffer.rowCount = 0;
    buffer.pageRowCount = 0;
    buffer.columnData = {};
    buffer.pages = {};
    for (const field of fields) {
      buffer.columnData[String(field.path)] = { dlevels: [], rlevels: [], values: [], distinct_values: new Set(), count: 0 };
      buffer.pages[String(field.path)] = [];
    }
  }
  for (const field of fields) {
    const column = batch.columns[field.name];
    const data = buffer.columnData[String(field.path)]!;
    const type = field.originalType ?? field.primitiveType;
    const required = field.repetitionType === "REQUIRED";
    const statistics = field.statistics !== false;
    for (let row = from; row < to; row++) {
      const value = column ? valueAt(column, row) : null;
      if (value === null) {
        if (required) throw new RowError(row, `missing required field: ${field.name}`);
        data.rlevels.push(0);
        data.dlevels.push(0);
        data.count++;
        continue;
      }
      if (statistics) data.distinct_values.add(value);
      let primitive: unknown = value;
      // Text goes in as a string: the PLAIN encoder makes the UTF-8 bytes itself (toPrimitive would copy them twice).
      if (type !== "UTF8" || typeof value !== "string") {
        try {
          primitive = toPrimitive!(type, value);
        } catch (error) {
          throw new RowError(row, error);
        }
      }
      data.values.push(primitive);
      data.rlevels.push(0);
      data.dlevels.push(field.dLevelMax);
      data.count++;
    }
  }
  buffer.rowCount += to - from;
  buffer.pageRowCount = (buffer.pageRowCount ?? 0) + (to - from);
}

/**
 * Writes rows as a Parquet file at `path`, atomically and durably (see
 * writeParquetColumns). Rows are turned into columns first.
 */
export async function writeParquetFile<Row extends object>(
  path: string,
  table: LakeTable<Row>,
  rows: readonly Row[],
): Promise<{ path: string; rows: number }> {
  return writeParquetColumns(path, table, toColumnBatch(table, rows));
}

/**
 * Writes a column batch as a Parquet file at `path`, atomically and durably:
 * the rows go to a temporary name in the same directory, which is fsynced,
 * renamed over `path`, and the directory fsynced. So `path` either does not
 * exist or is complete, and once this resolves it survives a crash, which lets
 * the caller write its commit marker next. Creates missing directories. On
 * failure (LakeWriteError, naming the row, partition and offset of a bad
 * value), nothing is left behind.
 *
 * The file is the one parquetjs-lite's appendRow would write (same pages of
 * its page size, same row groups, same statistics), but its values go into the
 * column buffers directly: parquetjs-lite's per-row shredding (a Set and an
 * object per column per row) was most of the encoding time.
 */
export async function writeParquetColumns<Row extends object>(path: string, table: LakeTable<Row>, batch: ColumnBatch): Promise<{ path: string; rows: number }> {
  const schema = parquetSchema(table as LakeTable<unknown>);
  const fail = writeFailure(path, table, batch);
  try {
    await replaceFiles(async (staged) => {
      const writer = await parquetLite!.ParquetWriter.openFile(schema, await staged.stage(path), {
        useDataPageV2: false,
        pageIndex: false,
        rowGroupSize: ROW_GROUP_SIZE,
      });
      const pageSize = writer.envelopeWriter.pageSize;
      let row = 0;
      try {
        while (row < batch.rows) {
          // Up to the next page or row-group boundary; its last row goes through appendRow, which closes the page or group.
          const end = Math.min(batch.rows, row + pageSize - (writer.rowBuffer.pageRowCount ?? 0), row + ROW_GROUP_SIZE - (writer.rowBuffer.rowCount ?? 0));
          appendColumns(writer, schema.fieldList, batch, row, end - 1);
          row = end - 1;
          await writer.appendRow(rowAt(table as LakeTable<unknown>, batch, row));
          row = end;
        }
      } catch (error) {
        await writer.close().catch(() => undefined);
        if (error instanceof RowError) throw fail(`cannot write row ${error.row} of ${path}`, error.message, error.row);
        throw fail(`cannot write row ${row} of ${path}`, error, row);
      }
      await writer.close();
    });
    return { path, rows: batch.rows };
  } catch (error) {
    throw error instanceof LakeWriteError ? error : fail(`cannot write ${path}`, error);
  }
}
