/**
 * The Pipeline page's dead-letter rate: an average over a sliding window of the last few minutes,
 * counted from the dead-letter topic's own offsets, so it holds still between polls. (It was the
 * log-end growth between two 5 s polls: dead letters leave the metrics worker a batch at a time,
 * so a steady 20/min read as 48, 0, 15, 0.) Pure: offsets and the window come in.
 */
import type { PartitionOffsets } from "./pipeline.ts";

/** Length of the sliding window the dead-letter rate averages over, ms (5 minutes). */
export const DEAD_LETTER_RATE_WINDOW_MS = 5 * 60_000;

/** A partition's first offset whose record timestamp is at or after the window's start (Kafka ListOffsets by timestamp). */
export interface OffsetAtTime {
  partition: number;
  offset: number;
}

/**
 * Dead letters per minute over the window of `windowMs` ending now, rounded to 0.1: the records from
 * each partition's first offset at or after the window's start (`windowStart`; the log end where
 * none is that new) up to its log end (`ends`), summed over partitions and divided by the window's
 * minutes. A dead letter's timestamp is the time the metrics worker sent it (the broker's CreateTime).
 * An offset outside [log start, log end] (retention deleted the window's start; a record appended
 * between the two reads) is clamped into it. Null when a partition has no offset for the window's
 * start, or the window is not positive. On a topic younger than the window the figure is the
 * window's average, so it climbs for the first `windowMs` after dead letters begin.
 */
export function deadLettersPerMinute(ends: readonly PartitionOffsets[], windowStart: readonly OffsetAtTime[], windowMs: number): number | null {
  if (!(windowMs > 0)) return null;
  const starts = new Map(windowStart.map((s) => [s.partition, s.offset]));
  let count = 0;
  for (const end of ends) {
    const start = starts.get(end.partition);
    if (start === undefined || !Number.isFinite(start)) return null;
    count += end.logEnd - Math.min(end.logEnd, Math.max(end.logStart, start));
  }
  return Math.round((count / (windowMs / 60_000)) * 10) / 10;
}

/** The label of the figure: "per minute (last 5 min)". */
export function deadLetterRateLabel(windowMs: number): string {
  const minutes = windowMs / 60_000;
  return Number.isInteger(minutes) ? `per minute (last ${minutes} min)` : `per minute (last ${Math.round(windowMs / 1000)} s)`;
}
