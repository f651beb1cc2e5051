/**
 * Compaction: merges the small files of each (directory, partition) into one
 * file per offset bucket, sorted by (event_time, kafka_offset) (invalid rows by
 * kafka_offset), named by the offset range it covers. planCompaction decides
 * what to merge (and why that is safe at any instant and alongside another
 * compactor); this module does the reading (DuckDB), the writing (the Parquet
 * encoder, atomically) and the deletes, strictly in that order.
 */
import { resolve } from "node:path";
import { stat } from "node:fs/promises";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type { Logger } from "pino";
import { planCompaction, type CompactionMerge } from "../../lib/lake/compaction.ts";
import { INVALID_TABLE, ORDERS_TABLE, type LakeInvalidRow, type LakeOrderRow } from "../../lib/lake/schema.ts";
import { ORDER_CENTS_SQL, parquetScan } from "../../lib/lake/views.ts";
import { listLakeFiles } from "../shared/lake-files.ts";
import { temporaryPartRange, temporaryWriterPid } from "../../lib/lake/recovery.ts";
import type { ParquetEncoder } from "./encoder.ts";
import { isProcessAlive, listTemporaryFiles, removeDurably, statLakeFiles } from "../shared/lake-files.ts";
import { sqlIdentifier as identifier } from "../../lib/lake/sql.ts";

/** Default offset bucket: a merged file holds at most this many offsets' rows of one partition (bounds a merge's memory). */
export const DEFAULT_OFFSETS_PER_FILE = 200_000;

export interface CompactLakeOptions {
  /** Leave a (directory, partition) alone while any of its files is younger than this. */
  quietMs: number;
  /** Offsets per merged file at most (plus the tail of its last input). */
  offsetsPerFile: number;
  minFiles?: number;
  /** Only these partitions (default all): a lake worker compacts the partitions it owns. */
  partitions?: ReadonlySet<number>;
  /**
   * A superseded file (a merge's input) is deleted once it has been superseded
   * this long (default 10 s): a query on a snapshot listed just before the merge
   * keeps its files. The run waits for it at the end, unless aborted.
   */
  graceMs?: number;
  /** A compaction's temporary file is removed once its writer is gone, or when older than this (default 1 h). */
  temporaryMaxAgeMs?: number;
  /** Stops between merges, and cuts the final grace wait short (what is not due yet is left for the next run). */
  signal?: AbortSignal;
}

export const DEFAULT_GRACE_MS = 10_000;

export interface CompactionSummary {
  merges: number;
  inputs: number;
  rows: number;
  /** Superseded files deleted: this run's inputs and what earlier runs left. */
  deleted: number;
  /** Of those, files earlier (killed or aborted) runs had left. */
  leftovers: number;
  temporaries: number;
  failed: number;
  anomalies: number;
  ms: number;
}

/** A merge's inputs did not read back as the rows their names promise. */
export class CompactionInputError extends Error {
  constructor(
    message: string,
    readonly context: { output: string; partition: number; inputs: string[]; offset?: number },
  ) {
    super(message);
    this.name = "CompactionInputError";
  }
}


/** The merge's rows, sorted, with timestamps and offsets as JS numbers, checked against the merge's range. */
async function readMergeRows(connection: DuckDBConnection, lakeDir: string, merge: CompactionMerge): Promise<LakeOrderRow[] | LakeInvalidRow[]> {
  const table = merge.kind === "orders" ? ORDERS_TABLE : INVALID_TABLE;
  const columns = table.columns.map((c) => {
    const id = identifier(c.name);
    // Files from before amount_cents existed get it computed, so the merged file is exact too.
    if (merge.kind === "orders" && c.name === "amount_cents") return `CAST(${ORDER_CENTS_SQL} AS DOUBLE) AS ${id}`;
    if (c.parquetType === "TIMESTAMP_MILLIS") return `CAST(epoch_ms(${id}) AS DOUBLE) AS ${id}`;
    if (c.parquetType === "INT64") return `CAST(${id} AS DOUBLE) AS ${id}`;
    return id;
  });
  const paths = merge.inputs.map((f) => resolve(lakeDir, f.path));
  const order = merge.kind === "orders" ? `"event_time", "kafka_offset"` : `"kafka_offset"`;
  const reader = await connection.runAndReadAll(`SELECT ${columns.join(", ")} FROM ${parquetScan(table, paths, "hive_partitioning = false")} ORDER BY ${order}`);
  const rows = reader.getRowObjectsJS() as unknown as (LakeOrderRow | LakeInvalidRow)[];
  const context = { output: merge.output, partition: merge.partition, inputs: merge.inputs.map((f) => f.path) };
  const seen = new Set<number>();
  for (const row of rows) {
    if (row.kafka_partition !== merge.partition || row.kafka_offset < merge.range.firstOffset || row.kafka_offset > merge.range.lastOffset || seen.has(row.kafka_offset))
      throw new CompactionInputError(`row of partition ${row.kafka_partition} at offset ${row.kafka_offset} does not belong in ${merge.output} (or appears twice)`, { ...context, offset: row.kafka_offset });
    seen.add(row.kafka_offset);
  }
  if (rows.length === 0) throw new CompactionInputError(`the inputs of ${merge.output} hold no rows`, context);
  return rows as LakeOrderRow[] | LakeInvalidRow[];
}

/** Removes temporary files of compactions (below their partition's marker) whose writer is gone. */
async function removeOrphanTemporaries(lakeDir: string, nextOffsets: ReadonlyMap<number, number>, options: CompactLakeOptions): Promise<number> {
  const orphans: string[] = [];
  for (const path of await listTemporaryFiles(lakeDir)) {
    const range = temporaryPartRange(path);
    if (range && options.partitions && !options.partitions.has(range.partition)) continue;
    const next = range && nextOffsets.get(range.partition);
    // At or past the marker it is a flush's: the lake worker's recovery owns it.
    if (!range || next === undefined || range.lastOffset >= next) continue;
    const pid = temporaryWriterPid(path);
    const gone = pid === undefined || pid === process.pid || !isProcessAlive(pid);
    const age = await stat(resolve(lakeDir, path)).then((s) => Date.now() - s.mtimeMs, () => undefined);
    if (age !== undefined && (gone || age >= (options.temporaryMaxAgeMs ?? 3_600_000))) orphans.push(path);
  }
  return orphans.length > 0 ? removeDurably(lakeDir, orphans) : 0;
}

/** Resolves at `time` (epoch ms), or early when `signal` aborts. */
function sleepUntil(time: number, signal: AbortSignal | undefined): Promise<void> {
  const ms = time - Date.now();
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done);
  });
}

export async function compactLake(
  lakeDir: string,
  options: CompactLakeOptions,
  deps: { encoder: ParquetEncoder; log: Logger },
): Promise<CompactionSummary> {
  const started = performance.now();
  const { log } = deps;
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const summary: CompactionSummary = { merges: 0, inputs: 0, rows: 0, deleted: 0, leftovers: 0, temporaries: 0, failed: 0, anomalies: 0, ms: 0 };
  const listing = await listLakeFiles(lakeDir);
  const nextOffsets = new Map([...listing.markers].map(([partition, marker]) => [partition, marker.nextOffset]));
  const plan = planCompaction(await statLakeFiles(lakeDir, listing.files), nextOffsets, { ...options, now: Date.now() });
  summary.anomalies = plan.anomalies.length;
  for (const anomaly of plan.anomalies) log.error(anomaly, "files overlap without one covering the other: not compacting them (not written by orderpulse?)");

  /** Superseded files, with since when: deleted once past the grace period. */
  const superseded = plan.superseded.map((file) => ({ path: file.path, since: file.coveredSince, leftover: true }));
  let instance: DuckDBInstance | undefined;
  let connection: DuckDBConnection | undefined;
  try {
    for (const merge of plan.merges) {
      if (options.signal?.aborted) break;
      const mergeStarted = performance.now();
      try {
        instance ??= await DuckDBInstance.create(":memory:", { threads: "1" });
        connection ??= await instance.connect();
        const rows = await readMergeRows(connection, lakeDir, merge);
        const path = resolve(lakeDir, merge.output);
        const written = merge.kind === "orders" ? await deps.encoder.write({ kind: "orders", path, rows: rows as LakeOrderRow[] }) : await deps.encoder.write({ kind: "invalid", path, rows: rows as LakeInvalidRow[] });
        // The output is durable and covers the inputs: from now on readers pick it, and the inputs are leftovers.
        const since = Date.now();
        for (const input of merge.inputs) superseded.push({ path: input.path, since, leftover: false });
        summary.merges++;
        summary.inputs += merge.inputs.length;
        summary.rows += written.rows;
        log.info({ output: merge.output, inputs: merge.inputs.length, rows: written.rows, ms: Math.round(performance.now() - mergeStarted) }, "merged");
      } catch (error) {
        // Typically a concurrent compactor deleted an input first; the next run plans again from what is there.
        summary.failed++;
        log.warn({ output: merge.output, partition: merge.partition, inputs: merge.inputs.map((f) => f.path), err: (error as Error).message }, "compaction of one group failed; left as it was");
      }
    }
  } finally {
    connection?.closeSync();
    instance?.closeSync();
  }

  if (superseded.length > 0) {
    await sleepUntil(Math.max(...superseded.map((s) => s.since)) + graceMs, options.signal);
    const due = superseded.filter((s) => Date.now() - s.since >= graceMs);
    summary.deleted = await removeDurably(lakeDir, due.map((s) => s.path));
    summary.leftovers = due.filter((s) => s.leftover).length;
    if (due.length > 0) log.info({ files: due.length, leftovers: summary.leftovers }, "deleted superseded files");
  }
  summary.temporaries = await removeOrphanTemporaries(lakeDir, nextOffsets, options);
  summary.ms = performance.now() - started;
  return summary;
}
