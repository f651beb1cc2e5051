/**
 * LakeWriter: the filesystem half of the lake worker. Per partition it buffers
 * messages (PartitionBuffer), flushes them as Parquet files plus a commit
 * marker, and, before a partition is written again, recovers it: deletes what
 * a flush that died left past the marker. It knows nothing about Kafka; the
 * worker feeds it messages and commits what it reports as flushed.
 *
 * Exactly once, per partition: a flush writes every file (each atomically and
 * durably, via a temporary name), and only then replaces the marker with the
 * flush's end. The marker is the only thing that makes files count: files at
 * or past it are not part of the lake (readers skip them; recovery deletes
 * them), files below it cover every offset exactly once. A restart deletes the
 * files past the marker, resumes there and writes those offsets again.
 *
 * One flush per partition at a time, so markers only move forward. Before
 * writing its marker a flush checks the marker on disk is still the one it
 * started from: if another process took the partition over and moved it, this
 * writer stops instead of overwriting it.
 */
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { PartitionBuffer, rotationReason, type AddResult, type BufferStats, type FlushPlan, type LakeMessage, type RotationLimits, type RotationReason } from "../../lib/lake/buffer.ts";
import type { OffsetGap } from "../../lib/lake/offsets.ts";
import { listLakeFiles } from "../shared/lake-query.ts";
import { checkLakeOrigin, recoveryPlan, temporaryWriterPid, type LakeOrigin } from "../../lib/lake/recovery.ts";
import type { ParquetEncoder } from "./encoder.ts";
import { isProcessAlive, listTemporaryFiles, removeDurably } from "./files.ts";
import { readMarker, writeMarker } from "./markers.ts";

/**
 * Whether the writer of a compaction's temporary file is gone. This process's
 * own compaction may be running, so its own files are never orphans here; a
 * writer on another host looks gone and its rename then fails, which that
 * compaction survives (it is retried).
 */
function compactionWriterGone(path: string): boolean {
  const pid = temporaryWriterPid(path);
  return pid !== undefined && pid !== process.pid && !isProcessAlive(pid);
}

export interface LakeWriterOptions {
  lakeDir: string;
  origin: LakeOrigin;
  limits: RotationLimits;
  maxEventSkewMs: number;
}

export interface FlushReport {
  partition: number;
  /** Rotation, shutdown, or "memory": the worker's bound on pending rows forced the biggest buffer out early. */
  reason: RotationReason | "shutdown" | "memory";
  fromOffset: number;
  nextOffset: number;
  files: { path: string; kind: "orders" | "invalid"; rows: number }[];
  orders: number;
  invalid: number;
  gaps: OffsetGap[];
  /** Summed write time of the files where they were encoded (encoder thread): encode + fsync + rename. */
  encodeMs: number;
  /** Time this thread spent handing rows to the encoder (structured clone). */
  handoffMs: number;
  /** From taking the buffer to the marker being durable. */
  flushMs: number;
}

export interface LakeWriterHooks {
  onFlushed(report: FlushReport): void;
  /** The partition was closed: its buffer is gone and it must be opened (recovered) again before more messages. */
  onFlushFailed(partition: number, error: Error): void;
}

/** Another writer moved this partition's marker: this one no longer owns the partition. */
export class MarkerMovedError extends Error {
  constructor(readonly context: { lakeDir: string; partition: number; expected: number; found: number | undefined }) {
    super(
      `the commit marker of partition ${context.partition} in ${context.lakeDir} is at ${context.found ?? "nothing"}, not at ${context.expected} where this writer left it: ` +
        "another lake worker has written the partition since; this one stops writing it",
    );
    this.name = "MarkerMovedError";
  }
}

export class PartitionNotOpenError extends Error {
  constructor(readonly partition: number) {
    super(`partition ${partition} is not open in the lake writer`);
    this.name = "PartitionNotOpenError";
  }
}

interface Slot {
  buffer: PartitionBuffer;
  flushing: Promise<FlushReport | undefined> | undefined;
}

interface InFlight {
  rows: number;
  bytes: number;
}

export class LakeWriter {
  private readonly slots = new Map<number, Slot>();
  private readonly inFlight = new Map<Promise<unknown>, InFlight>();

  constructor(
    private readonly options: LakeWriterOptions,
    private readonly encoder: ParquetEncoder,
    private readonly log: Logger,
    private readonly hooks: LakeWriterHooks,
  ) {}

  /**
   * Recovers and opens partitions: checks the lake's origin, deletes files and
   * temporary files a dead flush left at or past each marker, and returns each
   * partition's next offset (its marker, or 0). Call only while no flush of
   * these partitions runs (see closeAll).
   */
  async open(partitions: readonly number[]): Promise<Map<number, number>> {
    const { lakeDir } = this.options;
    await mkdir(lakeDir, { recursive: true });
    const listing = await listLakeFiles(lakeDir);
    checkLakeOrigin(resolve(lakeDir), listing.markers, this.options.origin);
    const temporaries = await listTemporaryFiles(lakeDir);
    const next = new Map<number, number>();
    for (const partition of partitions) {
      const nextOffset = listing.markers.get(partition)?.nextOffset ?? 0;
      const plan = recoveryPlan(partition, nextOffset, listing.files, temporaries, compactionWriterGone);
      const doomed = [...plan.files.map((f) => f.path), ...plan.temporaries];
      if (doomed.length > 0) {
        await removeDurably(lakeDir, doomed);
        this.log.warn({ partition, nextOffset, files: plan.files.map((f) => f.path), temporaries: plan.temporaries }, "recovered partition: deleted what a flush that died left past its commit marker");
      }
      this.slots.set(partition, { buffer: new PartitionBuffer(partition, nextOffset, this.options.origin.topic, this.options.maxEventSkewMs), flushing: undefined });
      next.set(partition, nextOffset);
    }
    return next;
  }

  isOpen(partition: number): boolean {
    return this.slots.has(partition);
  }

  get partitions(): number[] {
    return [...this.slots.keys()];
  }

  /** The offset the partition expects next. */
  nextOffset(partition: number): number {
    return this.slot(partition).buffer.nextOffset;
  }

  append(partition: number, message: LakeMessage, ingestedAt: number, logStartOffset?: number): AddResult & { gap?: OffsetGap } {
    return this.slot(partition).buffer.add(message, ingestedAt, logStartOffset);
  }

  stats(partition: number): BufferStats {
    return this.slot(partition).buffer.stats;
  }

  /** Rows and bytes held in memory across partitions: buffered, or taken by a flush that has not finished. */
  get pending(): { rows: number; bytes: number; bufferedRows: number } {
    let bufferedRows = 0;
    let bytes = 0;
    for (const slot of this.slots.values()) {
      bufferedRows += slot.buffer.stats.rows;
      bytes += slot.buffer.stats.bytes;
    }
    let rows = bufferedRows;
    for (const flight of this.inFlight.values()) {
      rows += flight.rows;
      bytes += flight.bytes;
    }
    return { rows, bytes, bufferedRows };
  }

  /** The oldest running flush, if any. */
  get oldestFlush(): Promise<unknown> | undefined {
    return this.inFlight.keys().next().value;
  }

  /** The open partition with the most buffered rows and no flush running, if any has rows. */
  largestIdleBuffer(): number | undefined {
    let largest: number | undefined;
    let most = 0;
    for (const [partition, slot] of this.slots) {
      const rows = slot.buffer.stats.rows;
      if (!slot.flushing && rows > most) {
        most = rows;
        largest = partition;
      }
    }
    return largest;
  }

  dueForFlush(partition: number, now: number): RotationReason | undefined {
    return rotationReason(this.slot(partition).buffer.stats, this.options.limits, now);
  }

  /** The partition's running flush, if any. */
  flushing(partition: number): Promise<unknown> | undefined {
    return this.slots.get(partition)?.flushing;
  }

  /**
   * Starts flushing what the partition has buffered, unless a flush of it is
   * already running (then that one is returned). Never rejects: a failure closes
   * the partition and is reported through onFlushFailed.
   */
  flush(partition: number, reason: FlushReport["reason"]): Promise<FlushReport | undefined> {
    const slot = this.slots.get(partition);
    if (!slot) return Promise.resolve(undefined);
    if (slot.flushing) return slot.flushing;
    const { bytes } = slot.buffer.stats;
    const plan = slot.buffer.take();
    if (!plan) return Promise.resolve(undefined);
    const flushing = this.writePlan(plan, reason).then(
      (report) => {
        this.hooks.onFlushed(report);
        return report;
      },
      (error: Error) => {
        // What this flush wrote is past the marker: the next open() deletes it, and Kafka delivers the offsets again.
        if (this.slots.get(partition) === slot) this.slots.delete(partition);
        this.hooks.onFlushFailed(partition, error);
        return undefined;
      },
    );
    slot.flushing = flushing;
    this.inFlight.set(flushing, { rows: plan.orders + plan.invalid + plan.gaps.length, bytes });
    void flushing.finally(() => {
      this.inFlight.delete(flushing);
      if (slot.flushing === flushing) slot.flushing = undefined;
    });
    return flushing;
  }

  private async writePlan(plan: FlushPlan, reason: FlushReport["reason"]): Promise<FlushReport> {
    const { lakeDir, origin } = this.options;
    const started = performance.now();
    const onDisk = await readMarker(lakeDir, plan.partition);
    if ((onDisk?.nextOffset ?? 0) !== plan.fromOffset)
      throw new MarkerMovedError({ lakeDir: resolve(lakeDir), partition: plan.partition, expected: plan.fromOffset, found: onDisk?.nextOffset });
    let encodeMs = 0;
    let handoffMs = 0;
    const files: FlushReport["files"] = [];
    for (const file of plan.files) {
      const path = resolve(lakeDir, file.path);
      const result = file.kind === "orders" ? await this.encoder.write({ kind: "orders", path, rows: file.rows }) : await this.encoder.write({ kind: "invalid", path, rows: file.rows });
      encodeMs += result.writeMs;
      handoffMs += result.handoffMs;
      files.push({ path: file.path, kind: file.kind, rows: result.rows });
    }
    // Only now do these files count.
    await writeMarker(lakeDir, plan.partition, { nextOffset: plan.nextOffset, ...origin });
    return {
      partition: plan.partition,
      reason,
      fromOffset: plan.fromOffset,
      nextOffset: plan.nextOffset,
      files,
      orders: plan.orders,
      invalid: plan.invalid,
      gaps: plan.gaps,
      encodeMs,
      handoffMs,
      flushMs: performance.now() - started,
    };
  }

  /** Flushes every partition's buffer (after its running flush), until done or `deadline` (epoch ms) passes. */
  async flushAll(deadline = Infinity): Promise<{ flushed: number; abandoned: number[] }> {
    let flushed = 0;
    const abandoned: number[] = [];
    for (const partition of this.partitions) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        abandoned.push(partition);
        continue;
      }
      const done = (async () => {
        await this.slots.get(partition)?.flushing;
        if (await this.flush(partition, "shutdown")) flushed++;
      })();
      const finished = await Promise.race([done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), remaining).unref())]);
      if (!finished) abandoned.push(partition);
    }
    return { flushed, abandoned };
  }

  /**
   * Drops every buffer (unflushed messages are read again from the markers) and
   * waits for running flushes, so open() can recover from a settled lake.
   */
  async closeAll(): Promise<void> {
    this.slots.clear();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.keys()]);
  }

  private slot(partition: number): Slot {
    const slot = this.slots.get(partition);
    if (!slot) throw new PartitionNotOpenError(partition);
    return slot;
  }
}
