/**
 * One Parquet file to write, and the code that writes it, shared by the inline
 * and the threaded encoder. Callers hand over rows; what crosses a thread
 * boundary is the same rows as a column batch (lib/lake/column-batch.ts): a
 * few arrays, numeric ones transferred rather than copied, instead of one
 * cloned object per row.
 */
import { toColumnBatch, type ColumnBatch } from "../../lib/lake/column-batch.ts";
import { INVALID_TABLE, ORDERS_TABLE, type LakeInvalidRow, type LakeOrderRow, type LakeTable } from "../../lib/lake/schema.ts";
import { LakeWriteError, writeParquetColumns } from "./parquet-file.ts";

export type EncodeJob =
  | { kind: "orders"; /** Absolute path. */ path: string; rows: LakeOrderRow[] }
  | { kind: "invalid"; path: string; rows: LakeInvalidRow[] };

/** LAKE_WRITER: parquetjs-lite (the default) or DuckDB (workers/lake/duckdb-parquet-file.ts). */
export type LakeWriterKind = "parquetjs" | "duckdb";

/** An EncodeJob as it travels to an encoder thread. */
export interface ColumnarJob {
  kind: EncodeJob["kind"];
  path: string;
  batch: ColumnBatch;
  writer: LakeWriterKind;
}

export interface EncodeResult {
  rows: number;
  /** Wall time of the write where it ran: Parquet encoding, then fsync, rename and directory fsync. */
  writeMs: number;
}

export function toColumnarJob(job: EncodeJob, writer: LakeWriterKind): ColumnarJob {
  const batch = job.kind === "orders" ? toColumnBatch(ORDERS_TABLE, job.rows) : toColumnBatch(INVALID_TABLE, job.rows);
  return { kind: job.kind, path: job.path, batch, writer };
}

export async function runEncodeJob(job: ColumnarJob): Promise<EncodeResult> {
  const started = performance.now();
  const table = job.kind === "orders" ? ORDERS_TABLE : INVALID_TABLE;
  // DuckDB is loaded only by a thread that uses it.
  const write = job.writer === "duckdb" ? (await import("./duckdb-parquet-file.ts")).writeDuckDbParquet : writeParquetColumns;
  const written = await write(job.path, table as LakeTable<object>, job.batch);
  return { rows: written.rows, writeMs: performance.now() - started };
}

export interface EncodeRequest {
  id: number;
  job: ColumnarJob;
}

export type EncodeReply =
  | ({ id: number; ok: true } & EncodeResult)
  | { id: number; ok: false; message: string; context: LakeWriteError["context"] | undefined };

/** A failure as it crosses back to the main thread: LakeWriteError keeps its context. */
export function replyOf(id: number, error: unknown): EncodeReply {
  return {
    id,
    ok: false,
    message: error instanceof Error ? error.message : String(error),
    context: error instanceof LakeWriteError ? error.context : undefined,
  };
}
