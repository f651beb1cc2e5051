/**
 * Compaction: merges the small files of each (directory, partition) into one
 * file per offset bucket, sorted by (event_time, kafka_offset) (invalid rows by
 * kafka_offset), named by the offset range it covers. planCompaction decides
 * what to merge (and why that is safe at any instant and alongside another
 * compactor); this module does the merge (DuckDB: `COPY … ORDER BY … TO`
 * Parquet, zstd, large row groups, written atomically) and then the deletes,
 * strictly in that order.
 */
import { resolve } from "node:path";
import { stat } from "node:fs/promises";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type { Logger } from "pino";
import { planCompaction, type CompactionMerge } from "../../lib/lake/compaction.ts";
import { INVALID_TABLE, ORDERS_TABLE } from "../../lib/lake/schema.ts";
import { ORDER_CENTS_SQL, parquetScan } from "../../lib/lake/views.ts";
import { listLakeFiles } from "../shared/lake-files.ts";
import { temporaryPartRange, temporaryWriterPid } from "../../lib/lake/recovery.ts";
import { replaceFiles } from "../shared/atomic-file.ts";
import { isProcessAlive, listTemporaryFiles, removeDurably, statLakeFiles } from "../shared/lake-files.ts";
import { sqlIdentifier as identifier, sqlLiteral } from "../../lib/lake/sql.ts";

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


/** ROW_GROUP_SIZE of a merged file: DuckDB's default row group, large enough that a scan skips whole groups by their statistics. */
export const COMPACTED_ROW_GROUP_SIZE = 122_880;

/**
 * Writes one merge with DuckDB: checks that the inputs hold exactly the rows
 * their names promise (each offset of the merge's partition and range at most
 * once, at least one row), then `COPY … ORDER BY … TO` a temporary name next to
 * the output (zstd, large row groups, each column cast to the lake's type), which
 * replaceFiles fsyncs, renames into place and makes durable. Killed midway, it
 * leaves at most that temporary file, which recovery and the next compaction remove.
 */
async function writeMerge(connection: DuckDBConnection, lakeDir: string, merge: CompactionMerge): Promise<number> {
  const table = merge.kind === "orders" ? ORDERS_TABLE : INVALID_TABLE;
  const columns = table.columns.map((c) => {
    const id = identifier(c.name);
    // Files from before amount_cents existed get it computed, so the merged file is exact too.
    if (merge.kind === "orders" && c.name === "amount_cents") return `CAST(${ORDER_CENTS_SQL} AS BIGINT) AS ${id}`;
    return `CAST(${id} AS ${c.sqlType}) AS ${id}`;
  });
  const paths = merge.inputs.map((f) => resolve(lakeDir, f.path));
  const source = parquetScan(table, paths, "hive_partitioning = false");
  const context = { output: merge.output, partition: merge.partition, inputs: merge.inputs.map((f) => f.path) };
  const check = await connection.runAndReadAll(
    `SELECT count(*)::DOUBLE, count(DISTINCT kafka_offset)::DOUBLE, min(kafka_offset)::DOUBLE, max(kafka_offset)::DOUBLE, count(*) FILTER (WHERE kafka_partition IS DISTINCT FROM ${merge.partition})::DOUBLE FROM ${source}`,
  );
  const [rows, distinct, first, last, foreign] = check.getRowsJS()[0] as (number | null)[];
  if (!rows) throw new CompactionInputError(`the inputs of ${merge.output} hold no rows`, context);
  if (foreign || distinct !== rows || first! < merge.range.firstOffset || last! > merge.range.lastOffset)
    throw new CompactionInputError(`the inputs of ${merge.output} hold rows of another partition, outside offsets ${merge.range.firstOffset}..${merge.range.lastOffset}, or twice`, {
      ...context,
      offset: first! < merge.range.firstOffset ? first! : last! > merge.range.lastOffset ? last! : undefined,
    });
  const order = merge.kind === "orders" ? `"event_time", "kafka_offset"` : `"kafka_offset"`;
  await replaceFiles(async (staged) => {
    const temporary = await staged.stage(resolve(lakeDir, merge.output));
    await connection.run(
      `COPY (SELECT ${columns.join(", ")} FROM ${source} ORDER BY ${order}) TO ${sqlLiteral(temporary)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${COMPACTED_ROW_GROUP_SIZE})`,
    );
  });
  return rows;
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
  deps: { log: Logger },
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
        // One thread: compaction runs beside the lake worker's flushes, which it must not starve.
        instance ??= await DuckDBInstance.create(":memory:", { threads: "1", preserve_insertion_order: "false" });
        connection ??= await instance.connect();
        const rows = await writeMerge(connection, lakeDir, merge);
        // The output is durable and covers the inputs: from now on readers pick it, and the inputs are leftovers.
        const since = Date.now();
        for (const input of merge.inputs) superseded.push({ path: input.path, since, leftover: false });
        summary.merges++;
        summary.inputs += merge.inputs.length;
        summary.rows += rows;
        log.info({ output: merge.output, inputs: merge.inputs.length, rows, ms: Math.round(performance.now() - mergeStarted) }, "merged");
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
