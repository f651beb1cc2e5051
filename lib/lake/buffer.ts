/**
 * One partition's messages on their way into the lake: decoded, turned into
 * rows, and, at a flush, grouped into the files they belong in. Pure (time
 * comes in as arguments), so what a flush writes is decided here and only the
 * writing is left to the worker.
 *
 * A flush covers a contiguous run of offsets [fromOffset, nextOffset): every
 * offset in it is exactly one row (an order, an invalid message, or the first
 * offset of a gap record), in one of the flush's files. Files are named by the
 * lowest and highest offset of the rows they hold, so two flushes of one
 * partition never claim overlapping ranges in any directory.
 */
import { invalidDayDir, ordersHourDir, partFileName, type OffsetRange } from "./layout.ts";
import { gapRow, gapSize, offsetGap, type OffsetGap } from "./offsets.ts";
import { toLakeInvalidRow, toLakeOrderRow, type LakeInvalidRow, type LakeOrderRow } from "./schema.ts";
import { decodeOrder } from "../contract/order.ts";

/** A Kafka message as the lake sees it. */
export interface LakeMessage {
  offset: number;
  /** null for a tombstone. */
  value: Uint8Array | null;
  /** Kafka record timestamp, epoch ms. */
  timestamp: number;
}

export interface RotationLimits {
  /** LAKE_ROTATE_ROWS */
  rows: number;
  /** LAKE_ROTATE_BYTES: of buffered message payload (plus a fixed per-row overhead). */
  bytes: number;
  /** LAKE_ROTATE_AGE: since the first buffered row arrived. */
  ageMs: number;
}

export type RotationReason = "rows" | "bytes" | "age";

/** What a buffer holds, for rotation decisions. */
export interface BufferStats {
  rows: number;
  bytes: number;
  /** Wall-clock ms when the oldest buffered row arrived; undefined when empty. */
  openedAt: number | undefined;
}

/** Why a buffer should be flushed now, or undefined when it should keep filling. */
export function rotationReason(stats: BufferStats, limits: RotationLimits, now: number): RotationReason | undefined {
  if (stats.rows === 0 || stats.openedAt === undefined) return undefined;
  if (stats.rows >= limits.rows) return "rows";
  if (stats.bytes >= limits.bytes) return "bytes";
  if (now - stats.openedAt >= limits.ageMs) return "age";
  return undefined;
}

/** Decoded rows cost more than their payload: a rough per-row allowance for the other columns. */
export const ROW_OVERHEAD_BYTES = 64;

export type FlushFile =
  | { kind: "orders"; path: string; range: OffsetRange; rows: LakeOrderRow[] }
  | { kind: "invalid"; path: string; range: OffsetRange; rows: LakeInvalidRow[] };

/** One flush of one partition: the files to write, then the marker to write after them. */
export interface FlushPlan {
  partition: number;
  /** The marker this flush starts from: its first offset. */
  fromOffset: number;
  /** The marker to write once every file is durable. */
  nextOffset: number;
  /** Lake-relative paths, grouped by event hour (orders) and ingest day (invalid). */
  files: FlushFile[];
  orders: number;
  invalid: number;
  gaps: OffsetGap[];
}

export type AddResult =
  | { status: "order" }
  | { status: "invalid"; code: string }
  /** The offset is below the next expected one: already in the lake or in this buffer. */
  | { status: "skipped" };

export class PartitionBuffer {
  private orders: LakeOrderRow[] = [];
  private invalid: LakeInvalidRow[] = [];
  private gaps: OffsetGap[] = [];
  private bytes = 0;
  private openedAt: number | undefined;
  private from: number;
  private next: number;

  constructor(
    readonly partition: number,
    /** The partition's commit marker: the first offset this buffer expects. */
    startOffset: number,
    private readonly topic: string,
    private readonly maxEventSkewMs: number,
  ) {
    this.from = startOffset;
    this.next = startOffset;
  }

  /** The offset the next message should have: everything below is in the lake or in this buffer. */
  get nextOffset(): number {
    return this.next;
  }

  get stats(): BufferStats {
    return { rows: this.orders.length + this.invalid.length, bytes: this.bytes, openedAt: this.openedAt };
  }

  /**
   * Takes one message. Offsets must arrive in increasing order; one below the
   * next expected offset is skipped, one above it records a gap first.
   * `gap` is set when this message revealed one: only offsets below
   * `logStartOffset` (the partition's, read when the offsets jumped) are lost.
   */
  add(message: LakeMessage, ingestedAt: number, logStartOffset?: number): AddResult & { gap?: OffsetGap } {
    const { offset } = message;
    if (offset < this.next) return { status: "skipped" };
    this.openedAt ??= ingestedAt;
    const gap = offsetGap(this.partition, this.next, offset, logStartOffset);
    if (gap) {
      this.gaps.push(gap);
      this.invalid.push(gapRow(gap, this.topic, ingestedAt));
      this.bytes += ROW_OVERHEAD_BYTES;
    }
    this.next = offset + 1;
    this.bytes += (message.value?.length ?? 0) + ROW_OVERHEAD_BYTES;
    const source = { partition: this.partition, offset, ingestedAt };
    const decoded = decodeOrder(message.value, message.timestamp, this.maxEventSkewMs);
    if (decoded.ok) {
      this.orders.push(toLakeOrderRow(decoded.order, source, message.value!));
      return gap ? { status: "order", gap } : { status: "order" };
    }
    // A copy: the value may be a view into a much larger fetch buffer, which would stay alive with it
    // (and be cloned whole when the row crosses to the encoder thread).
    const raw = message.value === null ? null : new Uint8Array(message.value);
    this.invalid.push(toLakeInvalidRow(decoded.rejection, { ...source, recordTimestamp: message.timestamp }, raw));
    return gap ? { status: "invalid", code: decoded.rejection.code, gap } : { status: "invalid", code: decoded.rejection.code };
  }

  /** Everything buffered as one flush (undefined when empty); the buffer then starts at the flush's end. */
  take(): FlushPlan | undefined {
    if (this.orders.length + this.invalid.length === 0) return undefined;
    const plan: FlushPlan = {
      partition: this.partition,
      fromOffset: this.from,
      nextOffset: this.next,
      files: [
        ...groupByDir(this.orders, (row) => ordersHourDir(row.event_time), this.partition).map((f) => ({ kind: "orders" as const, ...f })),
        ...groupByDir(this.invalid, (row) => invalidDayDir(row.ingested_at), this.partition).map((f) => ({ kind: "invalid" as const, ...f })),
      ],
      orders: this.orders.length,
      invalid: this.invalid.length - this.gaps.length,
      gaps: this.gaps,
    };
    this.orders = [];
    this.invalid = [];
    this.gaps = [];
    this.bytes = 0;
    this.openedAt = undefined;
    this.from = this.next;
    return plan;
  }

  /** Messages lost to gaps in this buffer so far. */
  get missed(): number {
    return this.gaps.reduce((sum, gap) => sum + gapSize(gap), 0);
  }
}

/** Rows grouped by directory, in offset order; each group becomes one file named by its first and last offset. */
function groupByDir<Row extends { kafka_offset: number }>(rows: Row[], dirOf: (row: Row) => string, partition: number) {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const dir = dirOf(row);
    const group = groups.get(dir);
    if (group) group.push(row);
    else groups.set(dir, [row]);
  }
  return [...groups].map(([dir, grouped]) => {
    const range = { partition, firstOffset: grouped[0]!.kafka_offset, lastOffset: grouped.at(-1)!.kafka_offset };
    return { path: `${dir}/${partFileName(range)}`, range, rows: grouped };
  });
}
