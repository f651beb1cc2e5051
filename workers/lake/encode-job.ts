/**
 * One Parquet file to write, in a form that crosses a thread boundary
 * (structured clone: plain rows, no class instances), and the code that writes
 * it, shared by the inline and the threaded encoder.
 */
import { INVALID_TABLE, ORDERS_TABLE, type LakeInvalidRow, type LakeOrderRow } from "../../lib/lake/schema.ts";
import { LakeWriteError, writeParquetFile } from "./parquet-file.ts";

export type EncodeJob =
  | { kind: "orders"; /** Absolute path. */ path: string; rows: LakeOrderRow[] }
  | { kind: "invalid"; path: string; rows: LakeInvalidRow[] };

export interface EncodeResult {
  rows: number;
  /** Wall time of the write where it ran: Parquet encoding, then fsync, rename and directory fsync. */
  writeMs: number;
}

export async function runEncodeJob(job: EncodeJob): Promise<EncodeResult> {
  const started = performance.now();
  const written = job.kind === "orders" ? await writeParquetFile(job.path, ORDERS_TABLE, job.rows) : await writeParquetFile(job.path, INVALID_TABLE, job.rows);
  return { rows: written.rows, writeMs: performance.now() - started };
}

export interface EncodeRequest {
  id: number;
  job: EncodeJob;
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
