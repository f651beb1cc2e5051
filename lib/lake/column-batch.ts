/**
 * A lake file's rows as columns: what crosses the thread boundary to a Parquet
 * encoder thread. Structured clone of one array per column (numbers in typed
 * arrays, copied as one block) costs a fraction of cloning one object per row,
 * and the encoder fills parquetjs-lite's column buffers from it directly,
 * without its per-row shredding (the profile's top entry: workers/lake/parquet-file.ts).
 * Pure.
 */
import type { LakeColumn, LakeTable } from "./schema.ts";

/**
 * One column's values, by row index. Numeric and timestamp columns are a
 * Float64Array (epoch ms for timestamps; every value here fits a double
 * exactly), with `nulls[i] === 1` marking a null (or a missing value); text and
 * byte columns are plain arrays with `null` for null.
 */
export type ColumnValues =
  | { kind: "number"; values: Float64Array; nulls: Uint8Array }
  | { kind: "text"; values: (string | null)[] }
  | { kind: "bytes"; values: (Uint8Array | null)[] };

export interface ColumnBatch {
  rows: number;
  /** By column name, in the table's column order. */
  columns: Record<string, ColumnValues>;
}

function isNumeric(column: LakeColumn): boolean {
  return column.parquetType === "INT32" || column.parquetType === "INT64" || column.parquetType === "DOUBLE" || column.parquetType === "TIMESTAMP_MILLIS";
}

/**
 * Rows to columns. A value of the wrong JavaScript type is kept as it is in a
 * text/bytes column and as NaN in a numeric one, so the encoder's check names
 * the row (see parquet-file.ts); the row objects are not kept.
 */
export function toColumnBatch<Row extends object>(table: LakeTable<Row>, rows: readonly Row[]): ColumnBatch {
  const columns: Record<string, ColumnValues> = {};
  for (const column of table.columns) {
    const name = column.name;
    if (isNumeric(column)) {
      const values = new Float64Array(rows.length);
      const nulls = new Uint8Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const v = (rows[i] as Record<string, unknown>)[name];
        if (v === null || v === undefined) nulls[i] = 1;
        else values[i] = typeof v === "number" ? v : NaN;
      }
      columns[name] = { kind: "number", values, nulls };
    } else if (column.parquetType === "UTF8") {
      columns[name] = { kind: "text", values: rows.map((r) => ((r as Record<string, unknown>)[name] ?? null) as string | null) };
    } else {
      columns[name] = { kind: "bytes", values: rows.map((r) => ((r as Record<string, unknown>)[name] ?? null) as Uint8Array | null) };
    }
  }
  return { rows: rows.length, columns };
}

/** The value at `row` as a row object would have it (null for null). */
export function valueAt(column: ColumnValues, row: number): number | string | Uint8Array | null {
  if (column.kind === "number") return column.nulls[row] === 1 ? null : column.values[row]!;
  return column.values[row] ?? null;
}

/** Row `row` as an object (for error context and parquetjs-lite's own appendRow). */
export function rowAt(table: LakeTable<unknown>, batch: ColumnBatch, row: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of table.columns) {
    const column = batch.columns[c.name];
    if (column) out[c.name] = valueAt(column, row);
  }
  return out;
}

/** Buffers that can be transferred (moved, not copied) with the batch. */
export function transferablesOf(batch: ColumnBatch): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const column of Object.values(batch.columns)) {
    if (column.kind !== "number") continue;
    out.push(column.values.buffer as ArrayBuffer, column.nulls.buffer as ArrayBuffer);
  }
  return out;
}
