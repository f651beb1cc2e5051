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

/** The slice of parquetjs-lite used here (the package ships no types). */
interface ParquetLite {
  ParquetSchema: new (fields: Record<string, ParquetFieldSpec>) => unknown;
  ParquetWriter: {
    openFile(schema: unknown, path: string, options: Record<string, unknown>): Promise<{
      appendRow(row: Record<string, unknown>): Promise<void>;
      close(): Promise<void>;
    }>;
  };
}

interface ParquetFieldSpec {
  type: ParquetType;
  optional: boolean;
  compression: string;
  statistics?: false;
}

let parquetLite: ParquetLite | undefined;
const schemas = new Map<LakeTable<unknown>, unknown>();

/** Loaded on first write, so the query layer can import the columns without the writer. */
function parquetSchema(table: LakeTable<unknown>): unknown {
  parquetLite ??= createRequire(import.meta.url)("parquetjs-lite") as ParquetLite;
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

/**
 * Writes `rows` as a Parquet file at `path`, atomically and durably: the rows go
 * to a temporary name in the same directory, which is fsynced, renamed over
 * `path`, and the directory fsynced. So `path` either does not exist or is
 * complete, and once this resolves it survives a crash, which lets the caller
 * write its commit marker next. Creates missing directories. On failure,
 * nothing is left behind.
 */
export async function writeParquetFile<Row extends object>(
  path: string,
  table: LakeTable<Row>,
  rows: readonly Row[],
): Promise<{ path: string; rows: number }> {
  const schema = parquetSchema(table as LakeTable<unknown>);
  const fail = (message: string, cause: unknown, row?: number): LakeWriteError => {
    const record = row === undefined ? undefined : (rows[row] as Record<string, unknown> | undefined);
    const partition = typeof record?.kafka_partition === "number" ? record.kafka_partition : undefined;
    const offset = typeof record?.kafka_offset === "number" ? record.kafka_offset : undefined;
    return new LakeWriteError(`${message}: ${messageOf(cause)}`, { path, row, partition, offset }, { cause });
  };
  try {
    await replaceFiles(async (staged) => {
      const writer = await parquetLite!.ParquetWriter.openFile(schema, await staged.stage(path), {
        useDataPageV2: false,
        pageIndex: false,
        rowGroupSize: ROW_GROUP_SIZE,
      });
      let index = 0;
      try {
        for (; index < rows.length; index++) await writer.appendRow(rows[index] as Record<string, unknown>);
      } catch (error) {
        await writer.close().catch(() => undefined);
        throw fail(`cannot write row ${index} of ${path}`, error, index);
      }
      await writer.close();
    });
    return { path, rows: rows.length };
  } catch (error) {
    throw error instanceof LakeWriteError ? error : fail(`cannot write ${path}`, error);
  }
}
