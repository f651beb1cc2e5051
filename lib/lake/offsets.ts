/**
 * Offset gaps: what is missing when Kafka delivers a partition's next message
 * at a higher offset than the lake expected. Pure.
 *
 * A gap is a range of offsets the worker expected but Kafka no longer had
 * (retention removed them before the lake read them). It is a product event,
 * not an error: the lake records it as one `orders_invalid` row with reason
 * code `offset_gap` at the first missing offset, committed by the same marker
 * as the rows around it, so a replay writes the same record again.
 */
import { OFFSET_GAP_CODE, type LakeInvalidRow } from "./schema.ts";

/** Offsets of one partition that were expected but never read; both ends inclusive. */
export interface OffsetGap {
  partition: number;
  firstMissing: number;
  lastMissing: number;
}

export const gapSize = (gap: OffsetGap): number => gap.lastMissing - gap.firstMissing + 1;

/**
 * The offsets the lake expected but Kafka no longer has: from `expected` up to
 * the delivered offset or the partition's log-start offset, whichever is lower.
 * Offsets skipped at or above the log start are not losses: transaction control
 * records, aborted transactional records (read_committed) and compacted-away
 * records leave such holes. `logStartOffset` undefined = unknown: the whole jump
 * counts (better a false alarm than a silent loss).
 */
export function offsetGap(partition: number, expected: number, received: number, logStartOffset?: number): OffsetGap | undefined {
  const end = Math.min(received, logStartOffset ?? received);
  return end > expected ? { partition, firstMissing: expected, lastMissing: end - 1 } : undefined;
}

/** The lake's record of a gap: an `orders_invalid` row at the first missing offset, with no payload. */
export function gapRow(gap: OffsetGap, topic: string, detectedAt: number): LakeInvalidRow {
  const missed = gapSize(gap);
  return {
    kafka_partition: gap.partition,
    kafka_offset: gap.firstMissing,
    record_timestamp: null,
    reason_code: OFFSET_GAP_CODE,
    reason: `offsets ${gap.firstMissing}..${gap.lastMissing} of ${topic}/${gap.partition} (${missed} message${missed === 1 ? "" : "s"}) were removed from Kafka before the lake read them`,
    raw: null,
    ingested_at: detectedAt,
  };
}
