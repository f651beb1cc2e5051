/**
 * The lake's Parquet tables: their columns (one table per file kind, shared
 * with the SQL layer so empty views have the same types as full ones) and the
 * mapping from decoded messages to rows. Pure: the writer that puts them on
 * disk is workers/lake/parquet-file.ts.
 */
import { amountToCents } from "../contract/money.ts";
import type { Order, RejectionCode } from "../contract/order.ts";

export const PARQUET_COMPRESSION = "SNAPPY";
export const ROW_GROUP_SIZE = 50_000;

export type ParquetType = "UTF8" | "BYTE_ARRAY" | "INT32" | "INT64" | "DOUBLE" | "TIMESTAMP_MILLIS";

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
  /** The amount as the message had it (a double: parquetjs-lite has no DECIMAL). */
  amount: number;
  /** The amount in whole cents, rounded once ({@link amountToCents}): the exact money every SQL figure sums. */
  amount_cents: number;
  event_time: number;
  kafka_partition: number;
  kafka_offset: number;
  ingested_at: number;
  /** The message value exactly as received (valid UTF-8, or decodeOrder would have refused it). */
  raw: string;
}

/** reason_code of an offset-gap row (lib/lake/offsets.ts), defined once. */
export const OFFSET_GAP_CODE = "offset_gap";
/**
 * Why a row is in `orders_invalid/`: a decoder rejection, or `offset_gap`, the
 * lake worker's record of offsets Kafka no longer had when it read the
 * partition (one row at the first missing offset; `reason` names the range).
 */
export type LakeInvalidCode = RejectionCode | typeof OFFSET_GAP_CODE;

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
    // Added in issue 9; files written before it lack the column and read it as NULL (lib/lake/views.ts).
    column("amount_cents", "INT64"),
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
    amount_cents: amountToCents(order.amount),
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
