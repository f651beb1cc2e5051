import type { Order } from "../contract/order.ts";
import { amountToCents } from "../contract/money.ts";
import { perBreakdown, WINDOW_DIMENSIONS, windowDimensionKey, type PerBreakdown } from "../contract/dimensions.ts";
import { CustomerSegments } from "../contract/dims.ts";
import { windowStartOf } from "../contract/time.ts";
import { OrderIdHorizon } from "./order-id-horizon.ts";
import {
  CommitMetadataError,
  decodeCommitMetadata,
  encodeCommitMetadata,
  KAFKA_COMMIT_METADATA_MAX_BYTES,
  type IdleAdvance,
  type PinnedDimsVersion,
} from "./commit-metadata.ts";

export { CommitMetadataError, KAFKA_COMMIT_METADATA_MAX_BYTES };

/**
 * Per-partition tumbling windows on event time, with de-duplication, lateness and
 * exact recovery from a Kafka commit (offset + metadata). Pure and deterministic:
 * no IO, no clock; records, idle ticks and emits are explicit inputs.
 *
 * Definitions (the contract; see design.md "Windows (hot path)"):
 * - Window of an event: [s, s + windowSizeMs) with s = the UTC epoch multiple of
 *   windowSizeMs at or below its event time.
 * - maxEventTime: the largest event time of any record ingested so far (duplicates
 *   and late records included), raised further by idle advances.
 *   watermark = maxEventTime − watermarkDelayMs. A window [s, e) is final once watermark ≥ e.
 * - De-duplication horizon: a record that is not a duplicate makes its order id
 *   *remembered*, with seenAt = maxEventTime right after that record. The id is
 *   forgotten as soon as maxEventTime > seenAt + dedupHorizonMs. A record is a
 *   **duplicate** iff its id is remembered just before it is ingested. Duplicates do not
 *   refresh seenAt (the first one wins). The horizon runs on the partition's event-time
 *   clock at arrival, not on the order's own event time, so a re-sent *late* order is a
 *   duplicate too; and since dedupHorizonMs ≥ windowSizeMs + watermarkDelayMs, an
 *   on-time order stays remembered at least until its window is final.
 * - Otherwise a record whose window is already final is **late**; else it is **on-time**
 *   and only then counts in its window.
 *
 * Recovery: see {@link WindowEngine.emit} and {@link WindowEngine.resume}.
 */

export interface WindowEngineConfig {
  windowSizeMs: number;
  watermarkDelayMs: number;
  /** How long an order id is remembered; at least (and by default) windowSizeMs + watermarkDelayMs. */
  dedupHorizonMs?: number;
  /** Longest commit metadata to produce; default {@link KAFKA_COMMIT_METADATA_MAX_BYTES}. */
  maxCommitMetadataBytes?: number;
  /**
   * The dim_customer version a window's `segment` breakdown uses, asked once
   * when the window opens (its first on-time record) and kept for the window's
   * life, so one window never mixes two versions. The live worker answers with
   * the version loaded now; a replay with the version the window recorded.
   * Default: no dimension (every segment UNKNOWN).
   */
  segmentsFor?: (partition: number, windowStart: number) => CustomerSegments;
  /**
   * dim_customer at an exact version: for a window a resumed engine re-opens, whose
   * version came with the commit metadata (it was open at the commit). Undefined when
   * that version is not available (the caller logs it): the window then takes
   * `segmentsFor`'s, as it would without metadata. Default: nothing available.
   */
  segmentsAt?: (version: string) => CustomerSegments | undefined;
}

/** One valid Kafka record of the partition: offsets strictly increase, gaps allowed. */
export interface OrderRecord {
  offset: number;
  order: Order;
}

export type Classification = "on-time" | "late" | "duplicate";

/** A record that was not counted in any window: one InfluxDB point each. */
export interface AnomalyRecord {
  kind: "late" | "duplicate";
  partition: number;
  offset: number;
  /** Start (epoch ms) of the window the event's time falls in. */
  windowStart: number;
  /** The order's amount, as received. */
  amount: number;
}

export interface DimensionTotal {
  key: string;
  revenueCents: number;
  orders: number;
}

export interface WindowTotals {
  partition: number;
  windowStart: number;
  windowEnd: number;
  /** True exactly once per window, on its last emission. */
  final: boolean;
  /** Sum of the on-time orders' amounts, each rounded to the cent ({@link amountToCents}). */
  revenueCents: number;
  orders: number;
  /** Sum of quantities. */
  items: number;
  /** Distinct non-null customer ids. */
  customers: number;
  /** The dim_customer version of the `segment` breakdown (null: none loaded when the window opened). */
  dimsVersion: string | null;
}

/**
 * One window of one partition: its totals and, per window dimension
 * (WINDOW_DIMENSIONS: `byCountry`, `byCategory`, `bySegment`), its totals by key, sorted by key.
 */
export type WindowValue = WindowTotals & PerBreakdown<DimensionTotal[]>;

/** What to commit to Kafka for this partition: resume with {@link WindowEngine.resume}. */
export interface CommitPoint {
  /** The first offset to replay. */
  offset: number;
  metadata: string;
}

export interface EmitResult {
  /** Final values of windows that became final, and partial values of open windows that changed; by window start. */
  windows: WindowValue[];
  /** Late and duplicate records ingested since the last released emit, in offset order. */
  anomalies: AnomalyRecord[];
  /** Commit once `windows` and `anomalies` (and those of every earlier emit) are durably written. Null before any record. */
  commit: CommitPoint | null;
  /**
   * True when the commit metadata would exceed its size limit: then nothing is released
   * (empty windows and anomalies, `commit` unchanged) and everything is released by a
   * later emit that fits. Exactness over liveness; see {@link WindowEngine.emit}.
   */
  blocked: boolean;
}

export interface WindowEngineStats {
  openWindows: number;
  rememberedOrderIds: number;
  /** Duplicate records kept to describe the replay range in commit metadata. */
  duplicateRecords: number;
  /** Idle advances kept to describe the replay range in commit metadata (including ones still to replay). */
  idleAdvances: number;
  pendingAnomalies: number;
  maxEventTime: number | null;
  watermark: number | null;
  /** The lowest offset ingest() accepts next; null for a fresh engine before its first record. */
  nextOffset: number | null;
  blockedEmits: number;
}

export class WindowEngineConfigError extends Error {
  constructor(
    readonly setting: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`invalid window engine ${setting} ${String(value)}: ${reason}`);
    this.name = "WindowEngineConfigError";
  }
}

export class InvalidOffsetError extends Error {
  constructor(
    readonly partition: number,
    readonly offset: number,
    readonly previousOffset: number | null,
  ) {
    super(
      previousOffset !== null && Number.isSafeInteger(offset) && offset >= 0
        ? `partition ${partition}: offset ${offset} does not follow ${previousOffset} (offsets must strictly increase)`
        : `partition ${partition}: offset ${offset} is not a non-negative safe integer`,
    );
    this.name = "InvalidOffsetError";
  }
}

interface Totals {
  revenueCents: number;
  orders: number;
}

interface OpenWindow extends Totals {
  start: number;
  /** Offset of the first record counted in it, and maxEventTime just before that record. */
  firstOffset: number;
  maxEventTimeBefore: number;
  items: number;
  customers: Set<string>;
  segments: CustomerSegments;
  breakdowns: PerBreakdown<Map<string, Totals>>;
  changedSinceEmit: boolean;
}

/** A duplicate record and the offset of the record it duplicates (-1: before the offset this engine resumed at). */
interface DuplicateRecord {
  offset: number;
  originalOffset: number;
}

/** Array-backed FIFO with O(1) amortised shift. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }
}

function requireInteger(setting: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new WindowEngineConfigError(setting, value, `must be an integer ≥ ${min}`);
  return value;
}

function addTotals(map: Map<string, Totals>, key: string, cents: number): void {
  const totals = map.get(key);
  if (totals) {
    totals.revenueCents += cents;
    totals.orders++;
  } else {
    map.set(key, { revenueCents: cents, orders: 1 });
  }
}

function sortedTotals(map: Map<string, Totals>): DimensionTotal[] {
  return [...map]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, totals]) => ({ key, revenueCents: totals.revenueCents, orders: totals.orders }));
}

export class WindowEngine {
  readonly partition: number;
  readonly windowSizeMs: number;
  readonly watermarkDelayMs: number;
  readonly dedupHorizonMs: number;
  private readonly maxCommitMetadataBytes: number;
  private readonly segmentsFor: (partition: number, windowStart: number) => CustomerSegments;
  private readonly segmentsAt: (version: string) => CustomerSegments | undefined;

  private maxEventTime = -Infinity;
  /** maxEventTime right after the last ingested record: idle advances count from it. */
  private maxEventTimeAtLastRecord = -Infinity;
  private lastOffset: number | null = null;
  /** Windows ending at or before this were final at a released emit: never emit them again. */
  private finalThrough = -Infinity;
  private readonly windows = new Map<number, OpenWindow>();
  private readonly remembered = new OrderIdHorizon();
  private readonly duplicates = new Fifo<DuplicateRecord>();
  /** Sorted by afterOffset; entries before `appliedIdleAdvances` are applied, the rest come from resume metadata and wait for their record. */
  private idleAdvances: IdleAdvance[] = [];
  private appliedIdleAdvances = 0;
  /** From resume metadata: offsets that were duplicates of records before the resume offset. */
  private replayDuplicateOffsets: number[] = [];
  private replayDuplicateIndex = 0;
  /** From resume metadata: window start → the dim_customer version it was open with at the commit, until it re-opens. */
  private readonly pinnedVersions = new Map<number, string | null>();
  private anomalies: AnomalyRecord[] = [];
  private lastCommit: CommitPoint | null = null;
  private blockedEmits = 0;

  constructor(partition: number, config: WindowEngineConfig) {
    this.partition = requireInteger("partition", partition, 0);
    this.windowSizeMs = requireInteger("windowSizeMs", config.windowSizeMs, 1);
    this.watermarkDelayMs = requireInteger("watermarkDelayMs", config.watermarkDelayMs, 0);
    const minHorizon = this.windowSizeMs + this.watermarkDelayMs;
    this.dedupHorizonMs = requireInteger("dedupHorizonMs", config.dedupHorizonMs ?? minHorizon, minHorizon);
    this.maxCommitMetadataBytes = requireInteger(
      "maxCommitMetadataBytes",
      config.maxCommitMetadataBytes ?? KAFKA_COMMIT_METADATA_MAX_BYTES,
      1,
    );
    this.segmentsFor = config.segmentsFor ?? (() => CustomerSegments.NONE);
    this.segmentsAt = config.segmentsAt ?? (() => undefined);
  }

  /**
   * The dim_customer versions (non-null, distinct, sorted) the windows open at that commit
   * were opened with: what {@link WindowEngineConfig.segmentsAt} is asked for when
   * {@link resume} replays. Empty for metadata written before versions were pinned.
   * @throws CommitMetadataError as {@link resume} does for malformed metadata
   */
  static pinnedDimsVersions(partition: number, metadata: string): string[] {
    const versions = decodeCommitMetadata(partition, metadata).pinnedVersions.map((p) => p.version);
    return [...new Set(versions.filter((v): v is string => v !== null))].sort();
  }

  /**
   * An engine that continues exactly where the one that produced `metadata` (via
   * {@link emit}) stood. The caller then feeds every valid record from the committed
   * offset on, in order, exactly as the first run saw them. Guarantee: every replayed
   * record gets the classification (and anomaly record) the uninterrupted run gave it;
   * windows that were final at that emit are never emitted again, neither partial nor
   * final; every later window gets the same final value. Idle ticks that happened after
   * that emit are lost with the crash (nothing was released that depends on them).
   * A window open at that emit re-opens with the dim_customer version it was opened with
   * (carried in the metadata, looked up through `segmentsAt`), not today's: its segment
   * points written before the crash are then overwritten, never joined by a second set.
   * Metadata from before versions were pinned resumes as before (`segmentsFor`).
   *
   * @throws CommitMetadataError when the metadata is malformed, from another version, or
   *   was written for another partition or window configuration (resuming then is inexact:
   *   the caller decides whether to start fresh).
   */
  static resume(partition: number, config: WindowEngineConfig, metadata: string): WindowEngine {
    const engine = new WindowEngine(partition, config);
    const state = decodeCommitMetadata(partition, metadata);
    const mismatch = (what: string, theirs: number, ours: number) =>
      new CommitMetadataError(partition, metadata, `it was written with ${what} ${theirs}, this engine has ${ours}`);
    if (state.partition !== partition) throw mismatch("partition", state.partition, partition);
    if (state.windowSizeMs !== engine.windowSizeMs) throw mismatch("windowSizeMs", state.windowSizeMs, engine.windowSizeMs);
    if (state.watermarkDelayMs !== engine.watermarkDelayMs)
      throw mismatch("watermarkDelayMs", state.watermarkDelayMs, engine.watermarkDelayMs);
    if (state.dedupHorizonMs !== engine.dedupHorizonMs) throw mismatch("dedupHorizonMs", state.dedupHorizonMs, engine.dedupHorizonMs);
    engine.lastOffset = state.offset - 1;
    engine.maxEventTime = state.maxEventTimeBefore;
    engine.maxEventTimeAtLastRecord = state.maxEventTimeAtLastRecord;
    engine.finalThrough = state.finalThrough;
    engine.idleAdvances = state.idleAdvances;
    engine.replayDuplicateOffsets = state.duplicateOffsets;
    for (const { version, windowStarts } of state.pinnedVersions) for (const start of windowStarts) engine.pinnedVersions.set(start, version);
    engine.lastCommit = { offset: state.offset, metadata };
    return engine;
  }

  /** Classifies one record and, when on-time, adds it to its window. */
  ingest({ offset, order }: OrderRecord): Classification {
    if (!Number.isSafeInteger(offset) || offset < 0 || (this.lastOffset !== null && offset <= this.lastOffset)) {
      throw new InvalidOffsetError(this.partition, offset, this.lastOffset);
    }
    // Replay: idle time that originally passed before this record.
    this.applyRecordedIdleAdvances(offset - 1);
    const maxEventTimeBefore = this.maxEventTime;
    const windowStart = windowStartOf(order.eventTime, this.windowSizeMs);
    const classification = this.classify(offset, order.orderId, windowStart);

    this.maxEventTime = Math.max(this.maxEventTime, order.eventTime);
    this.maxEventTimeAtLastRecord = this.maxEventTime;
    this.lastOffset = offset;
    if (classification !== "duplicate") this.remembered.remember(order.orderId, offset, this.maxEventTime, maxEventTimeBefore);
    if (classification === "on-time") this.count(offset, maxEventTimeBefore, windowStart, order);
    else this.anomalies.push({ kind: classification, partition: this.partition, offset, windowStart, amount: order.amount });

    // Replay: idle time that originally passed right after this record.
    this.applyRecordedIdleAdvances(offset);
    this.forgetExpired();
    return classification;
  }

  /**
   * Idle tick: the partition is caught up, not paused, and has received nothing for a
   * while. The caller decides when that is (a resumed partition is not idle before
   * its replay has caught up with the log end: workers/metrics/metrics-worker.ts). Raises maxEventTime to (maxEventTime right after the last record) + elapsedMs,
   * so repeated ticks with the growing elapsed time are idempotent. Returns whether it
   * advanced. No effect before the first record.
   *
   * @param elapsedMs wall-clock time since the last record was received (whole ms are used).
   */
  idleAdvance(elapsedMs: number): boolean {
    if (!Number.isFinite(elapsedMs) || elapsedMs < 0) throw new RangeError(`elapsedMs must be a finite number ≥ 0, got ${elapsedMs}`);
    const target = this.maxEventTimeAtLastRecord + Math.floor(elapsedMs);
    if (!(target > this.maxEventTime) || this.lastOffset === null) return false;
    this.maxEventTime = target;
    // Recorded so that a replay from an earlier offset sees this advance at the same point.
    const previous = this.idleAdvances[this.appliedIdleAdvances - 1];
    if (previous && previous.afterOffset === this.lastOffset) {
      previous.maxEventTime = target;
    } else {
      this.idleAdvances.splice(this.appliedIdleAdvances, 0, { afterOffset: this.lastOffset, maxEventTime: target });
      this.appliedIdleAdvances++;
    }
    this.forgetExpired();
    return true;
  }

  /**
   * Idle time on a partition that has never had a record: raises maxEventTime to
   * `maxEventTime` (the caller's wall clock), so its watermark, and the windows
   * the feed and InfluxDB call final, mean the same here as everywhere: a later
   * event behind it is late. Only while this engine has ingested no record (a fresh
   * engine, or one resumed from a commit this made); returns whether it advanced.
   *
   * The advance decides how the partition's first records are classified, so it is
   * committed like an idle advance: from here {@link emit} gives a commit point at
   * `nextOffset` (the offset the first record will have, e.g. the log end) whose
   * metadata holds the advanced clock, and a resumed engine classifies the first
   * records as this one does. Without it a replay would count on time what this
   * engine counted late: twice in InfluxDB.
   *
   * @param nextOffset the partition's next offset; the first call fixes it.
   */
  advanceEmpty(maxEventTime: number, nextOffset: number): boolean {
    if (this.maxEventTimeAtLastRecord !== -Infinity || !Number.isSafeInteger(maxEventTime) || !(maxEventTime > this.maxEventTime)) return false;
    if (!Number.isSafeInteger(nextOffset) || nextOffset < 0) throw new RangeError(`nextOffset must be a whole number ≥ 0, got ${nextOffset}`);
    // As if the record before `nextOffset` had been read: emit's commit point is then `nextOffset`, its metadata
    // this clock and "no record yet" (maxEventTimeAtLastRecord stays -Infinity, so idleAdvance still refuses).
    if (this.lastOffset === null) this.lastOffset = nextOffset - 1;
    this.maxEventTime = maxEventTime;
    return true;
  }

  /**
   * Releases, as of now: a final value for every window that became final (then drops it),
   * a partial value for every open window that changed since its last release, and the
   * anomalies since the last release; plus the commit point describing the state right after.
   *
   * Commit point: offset C = the lowest offset that still feeds retained state (an open
   * window, a remembered order id), or the offset after the last record when nothing is
   * retained. Metadata = what the resumed engine cannot rebuild from records ≥ C:
   * maxEventTime just before C (idle advances included), the watermark now (windows
   * ending at or before it are never emitted again), maxEventTime at the last record
   * (idle base), the idle advances that happened after records ≥ C, and the offsets ≥ C
   * of duplicates whose original record is before C, and the dim_customer version of each
   * window still open. Replaying from C then reproduces every classification and every
   * open window's segments. See {@link encodeCommitMetadata} for the format.
   *
   * If that metadata would not fit `maxCommitMetadataBytes`, nothing is released and the
   * result is `blocked`: the last commit point stays valid because nothing released depends
   * on anything after it. The lists shrink as maxEventTime advances, so a later emit
   * releases everything; meanwhile retained state grows (watch `stats().blockedEmits`).
   */
  emit(): EmitResult {
    const watermark = this.maxEventTime - this.watermarkDelayMs;
    const finalThrough = Math.max(this.finalThrough, watermark);
    const commit = this.lastOffset === null ? null : this.commitAfterEmit(watermark, finalThrough);
    if (commit && commit.metadata.length > this.maxCommitMetadataBytes) {
      this.blockedEmits++;
      return { windows: [], anomalies: [], commit: this.lastCommit, blocked: true };
    }

    const windows: WindowValue[] = [];
    for (const start of [...this.windows.keys()].sort((a, b) => a - b)) {
      const window = this.windows.get(start)!;
      if (start + this.windowSizeMs <= watermark) {
        windows.push(this.valueOf(window, true));
        this.windows.delete(start);
      } else if (window.changedSinceEmit) {
        windows.push(this.valueOf(window, false));
        window.changedSinceEmit = false;
      }
    }
    const anomalies = this.anomalies;
    this.anomalies = [];
    this.finalThrough = finalThrough;
    if (commit) this.lastCommit = commit;
    return { windows, anomalies, commit: this.lastCommit, blocked: false };
  }

  /** The commit point of the last released emit (for a resumed engine before its first emit: the one it resumed from). */
  commitPoint(): CommitPoint | null {
    return this.lastCommit;
  }

  stats(): WindowEngineStats {
    const finite = (n: number) => (Number.isFinite(n) ? n : null);
    return {
      openWindows: this.windows.size,
      rememberedOrderIds: this.remembered.size,
      duplicateRecords: this.duplicates.length,
      idleAdvances: this.idleAdvances.length,
      pendingAnomalies: this.anomalies.length,
      maxEventTime: finite(this.maxEventTime),
      watermark: finite(this.maxEventTime - this.watermarkDelayMs),
      nextOffset: this.lastOffset === null ? null : this.lastOffset + 1,
      blockedEmits: this.blockedEmits,
    };
  }

  private classify(offset: number, orderId: string, windowStart: number): Classification {
    if (this.takeReplayDuplicate(offset)) {
      this.duplicates.push({ offset, originalOffset: -1 });
      return "duplicate";
    }
    const originalOffset = this.remembered.offsetOf(orderId);
    if (originalOffset !== undefined) {
      this.duplicates.push({ offset, originalOffset });
      return "duplicate";
    }
    return windowStart + this.windowSizeMs <= this.maxEventTime - this.watermarkDelayMs ? "late" : "on-time";
  }

  private takeReplayDuplicate(offset: number): boolean {
    const offsets = this.replayDuplicateOffsets;
    // An offset below this record was not replayed (removed by retention): nothing to apply.
    while (this.replayDuplicateIndex < offsets.length && offsets[this.replayDuplicateIndex]! < offset) this.replayDuplicateIndex++;
    if (offsets[this.replayDuplicateIndex] !== offset) return false;
    this.replayDuplicateIndex++;
    return true;
  }

  private count(offset: number, maxEventTimeBefore: number, start: number, order: Order): void {
    // A replayed window that was final before the crash is complete downstream already.
    if (start + this.windowSizeMs <= this.finalThrough) return;
    let window = this.windows.get(start);
    if (!window) {
      window = {
        start,
        firstOffset: offset,
        maxEventTimeBefore,
        revenueCents: 0,
        orders: 0,
        items: 0,
        customers: new Set(),
        segments: this.segmentsOfNewWindow(start),
        breakdowns: perBreakdown(() => new Map<string, Totals>()),
        changedSinceEmit: false,
      };
      this.windows.set(start, window);
    }
    const cents = amountToCents(order.amount);
    window.revenueCents += cents;
    window.orders++;
    window.items += order.quantity;
    if (order.customerId !== null) window.customers.add(order.customerId);
    for (const d of WINDOW_DIMENSIONS) addTotals(window.breakdowns[d.field], windowDimensionKey(d.dimension, order, window.segments), cents);
    window.changedSinceEmit = true;
  }

  /** A re-opened window's pinned version when there is one (and it is available), else the one in force now. */
  private segmentsOfNewWindow(start: number): CustomerSegments {
    const pinned = this.pinnedVersions.get(start);
    if (pinned === undefined) return this.segmentsFor(this.partition, start);
    this.pinnedVersions.delete(start);
    if (pinned === null) return CustomerSegments.NONE;
    return this.segmentsAt(pinned) ?? this.segmentsFor(this.partition, start);
  }

  /** Versions of windows still open after this emit (and of pinned ones not re-opened yet), grouped by version. */
  private openWindowVersions(finalThrough: number): PinnedDimsVersion[] {
    const starts = new Map<string | null, number[]>();
    const pin = (start: number, version: string | null) => {
      if (start + this.windowSizeMs <= finalThrough) return;
      const list = starts.get(version);
      if (list) list.push(start);
      else starts.set(version, [start]);
    };
    for (const window of this.windows.values()) pin(window.start, window.segments.version);
    for (const [start, version] of this.pinnedVersions) {
      if (start + this.windowSizeMs <= finalThrough) this.pinnedVersions.delete(start); // never re-opens
      else pin(start, version);
    }
    return [...starts]
      .sort(([a], [b]) => ((a ?? "") < (b ?? "") ? -1 : (a ?? "") > (b ?? "") ? 1 : 0))
      .map(([version, windowStarts]) => ({ version, windowStarts: windowStarts.sort((a, b) => a - b) }));
  }

  private applyRecordedIdleAdvances(throughOffset: number): void {
    let advanced = false;
    while (this.appliedIdleAdvances < this.idleAdvances.length) {
      const advance = this.idleAdvances[this.appliedIdleAdvances]!;
      if (advance.afterOffset > throughOffset) break;
      if (advance.maxEventTime > this.maxEventTime) {
        this.maxEventTime = advance.maxEventTime;
        advanced = true;
      }
      this.appliedIdleAdvances++;
    }
    if (advanced) this.forgetExpired();
  }

  private forgetExpired(): void {
    this.remembered.forgetSeenBefore(this.maxEventTime - this.dedupHorizonMs);
  }

  /** The commit point for the state right after an emit at `watermark`; prunes what no later commit needs. */
  private commitAfterEmit(watermark: number, finalThrough: number): CommitPoint {
    let offset = this.lastOffset! + 1;
    let maxEventTimeBefore = this.maxEventTime;
    const oldest = this.remembered.oldest();
    if (oldest && oldest.offset < offset) {
      offset = oldest.offset;
      maxEventTimeBefore = oldest.maxEventTimeBefore;
    }
    // Belt and braces: an open window's first record is remembered while the window is open.
    for (const window of this.windows.values()) {
      if (window.start + this.windowSizeMs > watermark && window.firstOffset < offset) {
        offset = window.firstOffset;
        maxEventTimeBefore = window.maxEventTimeBefore;
      }
    }

    // The commit offset never decreases, so what lies before it is needed by no later commit.
    let firstKept = 0;
    while (firstKept < this.appliedIdleAdvances && this.idleAdvances[firstKept]!.afterOffset < offset) firstKept++;
    if (firstKept > 0) {
      this.idleAdvances.splice(0, firstKept);
      this.appliedIdleAdvances -= firstKept;
    }
    for (let d = this.duplicates.peek(); d && d.offset < offset; d = this.duplicates.peek()) this.duplicates.shift();

    const duplicateOffsets: number[] = [];
    for (const d of this.duplicates) if (d.originalOffset < offset) duplicateOffsets.push(d.offset);
    for (let i = this.replayDuplicateIndex; i < this.replayDuplicateOffsets.length; i++) duplicateOffsets.push(this.replayDuplicateOffsets[i]!);

    const metadata = encodeCommitMetadata({
      partition: this.partition,
      windowSizeMs: this.windowSizeMs,
      watermarkDelayMs: this.watermarkDelayMs,
      dedupHorizonMs: this.dedupHorizonMs,
      offset,
      maxEventTimeBefore,
      finalThrough,
      maxEventTimeAtLastRecord: this.maxEventTimeAtLastRecord,
      idleAdvances: this.idleAdvances,
      duplicateOffsets,
      pinnedVersions: this.openWindowVersions(finalThrough),
      processedNext: this.lastOffset! + 1,
    });
    return { offset, metadata };
  }

  private valueOf(window: OpenWindow, final: boolean): WindowValue {
    return {
      partition: this.partition,
      windowStart: window.start,
      windowEnd: window.start + this.windowSizeMs,
      final,
      revenueCents: window.revenueCents,
      orders: window.orders,
      items: window.items,
      customers: window.customers.size,
      dimsVersion: window.segments.version,
      ...perBreakdown((d) => sortedTotals(window.breakdowns[d.field])),
    };
  }
}

