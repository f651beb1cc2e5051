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
 * One flush per partition at a time, so markers only move forward. The writer
 * is fenced (design.md, "Lake"): it holds the partition's lease
 * (lib/lake/lease.ts) from recovery on, renews it at every flush step, and
 * checks right before each marker write that it still holds it and that the
 * marker is still the one its flush started from. A new owner's recovery waits
 * for a live holder's lease, so it cannot delete a file a running flush has
 * just renamed into place. Its filesystem (LakeStore), encoder and clock come
 * in as arguments, so unit tests drive it with an in-memory lake.
 */
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { PartitionBuffer, rotationReason, type AddResult, type BufferStats, type FlushPlan, type LakeMessage, type RotationLimits, type RotationReason } from "../../lib/lake/buffer.ts";
import type { OffsetGap } from "../../lib/lake/offsets.ts";
import { checkLakeOrigin, recoveryPlan, temporaryMarkerPartition, temporaryPartRange, type LakeOrigin } from "../../lib/lake/recovery.ts";
import { LEASE_TTL_MS, leaseState, type PartitionLease } from "../../lib/lake/lease.ts";
import type { ParquetEncoder } from "./encoder.ts";
import type { LakeStore } from "./lake-store.ts";
import { settleWithin } from "../shared/settle-within.ts";

/** Wall clock (epoch ms: leases, deadlines) and a monotonic one (durations). */
export interface LakeClock {
  now(): number;
  monotonic(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: LakeClock = {
  now: Date.now,
  monotonic: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
};

export interface LakeWriterOptions {
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
  /** A renewal found the lease lapsed or taken: the partition was closed likewise; another writer may own it now. */
  onLeaseLost(partition: number, error: LeaseLostError): void;
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

/** The partition's lease is held by another writer, or this writer's lease lapsed and was taken: it no longer owns the partition. */
export class LeaseLostError extends Error {
  constructor(readonly context: { lakeDir: string; partition: number; holder: string | undefined }) {
    super(
      `partition ${context.partition} of ${context.lakeDir} is leased to ${context.holder ?? "nobody"}, not to this writer: ` +
        "another lake worker owns the partition now; this one stops writing it",
    );
    this.name = "LeaseLostError";
  }
}

/** Recovery stopped waiting for another writer's lease: the partition is no longer wanted here (a newer assignment, a stop). */
export class RecoveryAbandonedError extends Error {
  constructor(readonly partition: number) {
    super(`stopped waiting for partition ${partition}'s lease: it is no longer assigned to this worker`);
    this.name = "RecoveryAbandonedError";
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
  /** Partitions whose lease this writer holds. */
  private readonly leased = new Set<number>();
  private renewal: Promise<void> | undefined;
  /** This writer instance, as its leases name it. */
  readonly owner: string;

  constructor(
    private readonly options: LakeWriterOptions,
    private readonly encoder: ParquetEncoder,
    private readonly log: Logger,
    private readonly hooks: LakeWriterHooks,
    private readonly store: LakeStore,
    private readonly clock: LakeClock = systemClock,
    private readonly leaseTtlMs = LEASE_TTL_MS,
  ) {
    this.owner = `${store.host}:${store.pid}:${randomBytes(4).toString("hex")}`;
  }

  /**
   * With `wait` (recovery): takes the partition's lease, waiting while another live
   * writer holds it (until it releases it or it expires: at most one TTL after that
   * writer's last renewal) and while `stillWanted()` says the partition is still
   * ours to open (RecoveryAbandonedError otherwise). Without `wait` (a renewal):
   * renews this writer's live lease; anything else is LeaseLostError, since a
   * lease that lapsed or was released may have been taken and recovered meanwhile.
   */
  private async claim(partition: number, wait: boolean, stillWanted: () => boolean = () => true): Promise<void> {
    for (let logged = false; ; ) {
      // Checked before every write too, not only while waiting: a recovery that is no longer wanted (a newer
      // assignment, a stop) must not take a lease it would then leave behind.
      if (wait && !stillWanted()) throw new RecoveryAbandonedError(partition);
      const state = leaseState(await this.store.readLease(partition), this.owner, this.clock.now(), (l) => this.store.holderGone(l));
      if (!wait && state.kind !== "mine") throw new LeaseLostError({ lakeDir: this.store.lakeDir, partition, holder: state.kind === "held" ? state.lease.owner : undefined });
      if (state.kind === "held") {
        if (!logged) {
          this.log.warn({ partition, holder: state.lease.owner, until: new Date(state.lease.expiresAt).toISOString() }, "waiting for another lake worker to release the partition");
          logged = true;
        }
        await this.clock.sleep(Math.min(250, Math.max(10, state.lease.expiresAt - this.clock.now())));
        continue;
      }
      const lease: PartitionLease = { owner: this.owner, host: this.store.host, pid: this.store.pid, expiresAt: this.clock.now() + this.leaseTtlMs };
      await this.store.writeLease(partition, lease);
      // Two writers that both found it free both wrote: the last rename won, and the other waits (or stops) next round.
      if ((await this.store.readLease(partition))?.owner !== this.owner) continue;
      this.leased.add(partition);
      return;
    }
  }

  /**
   * Renews every lease this writer holds (call it well within the TTL, e.g. every
   * third of it). A lease that lapsed or was taken means the partition is no
   * longer this writer's: its buffer is dropped and onFlushFailed reports it, so
   * the worker recovers it like after a failed flush.
   */
  renewLeases(): Promise<void> {
    this.renewal ??= this.renewOpenLeases().finally(() => (this.renewal = undefined));
    return this.renewal;
  }

  private async renewOpenLeases(): Promise<void> {
    for (const partition of [...this.leased]) {
      const slot = this.slots.get(partition);
      // Closed partitions are being released; a running flush renews its own lease at every step.
      if (!slot || slot.flushing) continue;
      try {
        await this.claim(partition, false);
      } catch (error) {
        if (!(error instanceof LeaseLostError)) {
          this.log.warn({ partition, err: (error as Error).message }, "could not renew the partition's lease; retried next round");
          continue;
        }
        this.leased.delete(partition);
        if (this.slots.get(partition) !== slot) continue;
        this.slots.delete(partition);
        this.hooks.onLeaseLost(partition, error);
      }
    }
  }

  /** Throws LeaseLostError unless this writer's lease on the partition is live. */
  private async checkLease(partition: number): Promise<void> {
    const state = leaseState(await this.store.readLease(partition), this.owner, this.clock.now(), (l) => this.store.holderGone(l));
    if (state.kind !== "mine") throw new LeaseLostError({ lakeDir: this.store.lakeDir, partition, holder: state.kind === "held" ? state.lease.owner : undefined });
  }

  /**
   * Recovers and opens partitions: checks the lake's origin, deletes files and
   * temporary files a dead flush left at or past each marker, and returns each
   * partition's next offset (its marker, or 0). Call only while no flush of
   * these partitions runs (see closeAll).
   */
  async recoverAndOpen(partitions: readonly number[], stillWanted: () => boolean = () => true): Promise<Map<number, number>> {
    await this.store.prepare();
    checkLakeOrigin(this.store.lakeDir, (await this.store.list()).markers, this.options.origin);
    // Fence first: a previous owner's flush may still be writing; its files must not be deleted under it.
    for (const partition of partitions) await this.claim(partition, true, stillWanted);
    const listing = await this.store.list();
    const temporaries = await this.store.temporaries();
    const next = new Map<number, number>();
    for (const partition of partitions) {
      const nextOffset = listing.markers.get(partition)?.nextOffset ?? 0;
      const plan = recoveryPlan(partition, nextOffset, listing.files, temporaries, (path) => this.store.compactionWriterGone(path));
      const doomed = [...plan.files.map((f) => f.path), ...plan.temporaries];
      if (doomed.length > 0) {
        await this.store.remove(doomed);
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
        // What this flush wrote is past the marker: the next recoverAndOpen() deletes it, and Kafka delivers the offsets again.
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
    const { origin } = this.options;
    const { lakeDir } = this.store;
    const started = this.clock.monotonic();
    await this.claim(plan.partition, false);
    const onDisk = await this.store.readMarker(plan.partition);
    if ((onDisk?.nextOffset ?? 0) !== plan.fromOffset)
      throw new MarkerMovedError({ lakeDir, partition: plan.partition, expected: plan.fromOffset, found: onDisk?.nextOffset });
    let encodeMs = 0;
    let handoffMs = 0;
    const files: FlushReport["files"] = [];
    for (const file of plan.files) {
      await this.claim(plan.partition, false);
      const path = resolve(lakeDir, file.path);
      const result = file.kind === "orders" ? await this.encoder.write({ kind: "orders", path, rows: file.rows }) : await this.encoder.write({ kind: "invalid", path, rows: file.rows });
      encodeMs += result.writeMs;
      handoffMs += result.handoffMs;
      files.push({ path: file.path, kind: file.kind, rows: result.rows });
    }
    // Only now do these files count, and only if the partition is still ours.
    await this.checkLease(plan.partition);
    await this.store.writeMarker(plan.partition, { nextOffset: plan.nextOffset, ...origin });
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
      flushMs: this.clock.monotonic() - started,
    };
  }

  /** Flushes every partition's buffer (after its running flush), until done or `deadline` (epoch ms) passes. */
  async flushAll(deadline = Infinity): Promise<{ flushed: number; abandoned: number[] }> {
    let flushed = 0;
    const abandoned: number[] = [];
    for (const partition of this.partitions) {
      const remaining = deadline - this.clock.now();
      if (remaining <= 0) {
        abandoned.push(partition);
        continue;
      }
      const done = (async () => {
        await this.slots.get(partition)?.flushing;
        if (await this.flush(partition, "shutdown")) flushed++;
      })();
      if (!(await settleWithin(done, remaining))) abandoned.push(partition);
    }
    return { flushed, abandoned };
  }

  /**
   * Drops every buffer (unflushed messages are read again from the markers) and
   * waits for running flushes, so recoverAndOpen() can recover from a settled lake.
   */
  async closeAll(): Promise<void> {
    this.slots.clear();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.keys()]);
    await this.releaseLeases();
  }

  /**
   * Removes the temporary files (data, marker, lease) of this writer's leased partitions whose
   * writer process is gone: one that died mid-write after this writer's recovery had swept the
   * partition leaves them, and nothing else removes them before the partition's next recovery.
   * Never this process's own, nor a live or unknown writer's (LakeStore.compactionWriterGone).
   * Returns the lake-relative paths removed.
   */
  async sweepDeadTemporaries(): Promise<string[]> {
    if (this.leased.size === 0) return [];
    const doomed = (await this.store.temporaries()).filter((path) => {
      const partition = temporaryMarkerPartition(path) ?? temporaryPartRange(path)?.partition;
      return partition !== undefined && this.leased.has(partition) && this.store.compactionWriterGone(path);
    });
    if (doomed.length > 0) await this.store.remove(doomed);
    return doomed;
  }

  /** Gives up every lease this writer holds that is still its own, so a new owner need not wait for them to expire. */
  async releaseLeases(): Promise<void> {
    await this.renewal; // a renewal in flight must not re-create a lease released under it
    for (const partition of [...this.leased]) {
      this.leased.delete(partition);
      const state = leaseState(await this.store.readLease(partition), this.owner, this.clock.now(), () => false);
      if (state.kind === "mine") await this.store.removeLease(partition).catch((error: Error) => this.log.warn({ partition, err: error.message }, "could not release the partition's lease"));
    }
  }

  private slot(partition: number): Slot {
    const slot = this.slots.get(partition);
    if (!slot) throw new PartitionNotOpenError(partition);
    return slot;
  }
}
