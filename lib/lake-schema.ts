/**
 * The lake's Parquet files: their columns (one table per file kind, shared
 * with the SQL layer so empty views have the same types as full ones), the
 * mapping from decoded messages to rows, and the one function that writes a
 * file, atomically.
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
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { temporaryPath } from "./lake-layout.ts";
import type { Order, RejectionCode } from "./order.ts";

export const PARQUET_COMPRESSION = "SNAPPY";
export const ROW_GROUP_SIZE = 50_000;

type ParquetType = "UTF8" | "BYTE_ARRAY" | "INT32" | "INT64" | "DOUBLE" | "TIMESTAMP_MILLIS";

/** The DuckDB type each Parquet type reads as (checked by lake-schema.test.ts). */
const SQL_TYPE = {
  UTF8: "VARCHAR",
  BYTE_ARRAY: "BLOB",
  INT32: "INTEGER",
  INT64: "BIGINT",
  DOUBLE: "DOUBLE",
  TIMESTAMP_MILLIS: "TIMESTAMP",
} as const satisfies Record<ParquetType, string>;

export interface LakeColumn {
  name: string;
  parquetType: ParquetType;
  optional: boolean;
  sqlType: (typeof SQL_TYPE)[ParquetType];
}

const column = (name: string, parquetType: ParquetType, optional = false): LakeColumn => ({
  name,
  parquetType,
  optional,
  sqlType: SQL_TYPE[parquetType],
});

/** One row per valid order event, in `orders/…`. Timestamps are epoch milliseconds (UTC). */
export interface LakeOrderRow {
  order_id: string;
  customer_id: string | null;
  product_id: string;
  category: string;
  country: string;
  channel: string;
  quantity: number;
  unit_price: number | null;
  amount: number;
  event_time: number;
  kafka_partition: number;
  kafka_offset: number;
  ingested_at: number;
  /** The message value exactly as received (valid UTF-8, or decodeOrder would have refused it). */
  raw: string;
}

/**
 * Why a row is in `orders_invalid/`: a decoder rejection, or `offset_gap`, the
 * lake worker's record of offsets Kafka no longer had when it read the
 * partition (one row at the first missing offset; `reason` names the range).
 */
export type LakeInvalidCode = RejectionCode | "offset_gap";

/** One row per invalid message, in `orders_invalid/…`. */
export interface LakeInvalidRow {
  kafka_partition: number;
  kafka_offset: number;
  /** The Kafka record timestamp; null when the record has none (Kafka's -1). */
  record_timestamp: number | null;
  reason_code: LakeInvalidCode;
  reason: string;
  /** The message value, byte for byte (it may not be text); null for a tombstone. */
  raw: Uint8Array | null;
  ingested_at: number;
}

/** A file kind: its columns, in file order, typed against its row. */
export interface LakeTable<Row> {
  name: "orders" | "orders_invalid";
  columns: readonly LakeColumn[];
  /** Only for the type parameter: tables are values, rows are checked at compile time. */
  readonly _row?: Row;
}

export const ORDERS_TABLE: LakeTable<LakeOrderRow> = {
  name: "orders",
  columns: [
    column("order_id", "UTF8"),
    column("customer_id", "UTF8", true),
    column("product_id", "UTF8"),
    column("category", "UTF8"),
    column("country", "UTF8"),
    column("channel", "UTF8"),
    column("quantity", "INT32"),
    column("unit_price", "DOUBLE", true),
    column("amount", "DOUBLE"),
    column("event_time", "TIMESTAMP_MILLIS"),
    column("kafka_partition", "INT32"),
    column("kafka_offset", "INT64"),
    column("ingested_at", "TIMESTAMP_MILLIS"),
    column("raw", "UTF8"),
  ],
};

export const INVALID_TABLE: LakeTable<LakeInvalidRow> = {
  name: "orders_invalid",
  columns: [
    column("kafka_partition", "INT32"),
    column("kafka_offset", "INT64"),
    column("record_timestamp", "TIMESTAMP_MILLIS", true),
    column("reason_code", "UTF8"),
    column("reason", "UTF8"),
    column("raw", "BYTE_ARRAY", true),
    column("ingested_at", "TIMESTAMP_MILLIS"),
  ],
};

/** Where a message came from and when the lake took it in. */
export interface MessageSource {
  partition: number;
  offset: number;
  /** Epoch ms. */
  ingestedAt: number;
}

const utf8 = new TextDecoder("utf-8");

export function toLakeOrderRow(order: Order, source: MessageSource, raw: Uint8Array | string): LakeOrderRow {
  return {
    order_id: order.orderId,
    customer_id: order.customerId,
    product_id: order.productId,
    category: order.category,
    country: order.country,
    channel: order.channel,
    quantity: order.quantity,
    unit_price: order.unitPrice,
    amount: order.amount,
    event_time: order.eventTime,
    kafka_partition: source.partition,
    kafka_offset: source.offset,
    ingested_at: source.ingestedAt,
    raw: typeof raw === "string" ? raw : utf8.decode(raw),
  };
}

export function toLakeInvalidRow(
  rejection: { code: RejectionCode; reason: string },
  source: MessageSource & { recordTimestamp: number },
  raw: Uint8Array | null,
): LakeInvalidRow {
  return {
    kafka_partition: source.partition,
    kafka_offset: source.offset,
    record_timestamp: Number.isInteger(source.recordTimestamp) && source.recordTimestamp >= 0 ? source.recordTimestamp : null,
    reason_code: rejection.code,
    reason: rejection.reason,
    raw,
    ingested_at: source.ingestedAt,
  };
}

// ---------------------------------------------------------------- writing

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
const schemas = new Map<string, unknown>();

/** Loaded on first write, so the query layer can import the columns without the writer. */
function parquetSchema(table: LakeTable<unknown>): unknown {
  parquetLite ??= createRequire(import.meta.url)("parquetjs-lite") as ParquetLite;
  let schema = schemas.get(table.name);
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
    schemas.set(table.name, schema);
  }
  return schema;
}

/** parquetjs-lite throws plain strings; give them a shape. */
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** fsync a file (r+) or a directory (r): a rename is durable only once its directory is synced. */
export async function fsyncPath(path: string, flags: "r" | "r+"): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

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
  const temp = temporaryPath(path, `${process.pid}-${randomBytes(6).toString("hex")}`);
  const fail = (message: string, cause: unknown, row?: number): LakeWriteError => {
    const record = row === undefined ? undefined : (rows[row] as Record<string, unknown> | undefined);
    const partition = typeof record?.kafka_partition === "number" ? record.kafka_partition : undefined;
    const offset = typeof record?.kafka_offset === "number" ? record.kafka_offset : undefined;
    return new LakeWriteError(`${message}: ${messageOf(cause)}`, { path, row, partition, offset }, { cause });
  };
  try {
    await mkdir(dirname(path), { recursive: true });
    const writer = await parquetLite!.ParquetWriter.openFile(schema, temp, {
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
    await fsyncPath(temp, "r+");
    await rename(temp, path);
    await fsyncPath(dirname(path), "r");
    return { path, rows: rows.length };
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error instanceof LakeWriteError ? error : fail(`cannot write ${path}`, error);
  }
}
