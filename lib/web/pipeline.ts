/**
 * The Pipeline page's rules: per-partition lag, seconds behind, idleness, and the InfluxQL
 * over the `pipeline` measurement. Pure: offsets, samples and `now` come in.
 */
import { MEASUREMENTS } from "../hot/influx-points.ts";

/** One partition of the orders topic as the broker reports it. */
export interface PartitionOffsets {
  partition: number;
  /** Oldest offset still in the log. */
  logStart: number;
  /** Offset the next produced message gets. */
  logEnd: number;
}

export interface GroupLag {
  partition: number;
  /** Committed offset (the next one the group reads), null if the group never committed here. */
  committed: number | null;
  /**
   * The processed position the commit's metadata records (the metrics worker's `n=`: its commit
   * trails it by the de-duplication horizon, lib/ops/consumer-lag.ts), null when it records none.
   */
  processed: number | null;
  /** Messages between the processed position (else the commit) and the log end (everything retained, if never committed). */
  lag: number;
  /** lag ÷ recent produce rate: about how far behind in seconds; 0 without lag, null without a rate to divide by. */
  secondsBehind: number | null;
}

/**
 * Lag of a group on one partition, from the processed position its commit records, else the
 * committed offset; a position below the log start counts from the log start (the rest is gone).
 */
export function lagOf(offsets: PartitionOffsets, committed: number | null, producedPerSecond: number, processed: number | null = null): GroupLag {
  const position = processed ?? committed;
  const from = position === null ? offsets.logStart : Math.max(position, offsets.logStart);
  const lag = Math.max(0, offsets.logEnd - from);
  const secondsBehind = lag === 0 ? 0 : producedPerSecond > 0 ? Math.round((lag / producedPerSecond) * 10) / 10 : null;
  return { partition: offsets.partition, committed, processed, lag, secondsBehind };
}

/** Messages per second between two log-end samples of one partition; null without an earlier sample. */
export function ratePerSecond(before: { at: number; offset: number } | undefined, after: { at: number; offset: number }): number | null {
  if (!before || after.at <= before.at) return null;
  return Math.max(0, (after.offset - before.offset) / ((after.at - before.at) / 1000));
}

/** A partition is idle when nothing was produced to it over the sampled interval and its consumer is caught up. */
export function isIdle(producedPerSecond: number | null, lag: number): boolean {
  return producedPerSecond === 0 && lag === 0;
}

/** Watermark delay behind wall-clock time, ms; null without a watermark. */
export function watermarkDelayMs(watermark: number | null, now: number): number | null {
  return watermark === null ? null : Math.max(0, now - watermark);
}

/** Latest watermark, offset-gap count and missed messages per partition reported by the metrics worker. */
export function latestPipelineQuery(worker: string): string {
  return `SELECT last("watermark") AS watermark, last("offset_gaps") AS offset_gaps, last("missed_messages") AS missed FROM "${MEASUREMENTS.pipeline}" WHERE "worker" = '${worker.replace(/'/g, "")}' AND time > now() - 1d GROUP BY "partition"`;
}

/** Max lag per partition per minute over the last hour: the sparkline. */
export function lagSparklineQuery(worker: string, fromMs: number, bucketMs = 60_000): string {
  return `SELECT max("lag") AS lag FROM "${MEASUREMENTS.pipeline}" WHERE "worker" = '${worker.replace(/'/g, "")}' AND time >= ${fromMs}ms GROUP BY time(${bucketMs}ms), "partition" fill(none)`;
}

/** Messages consumed per second by the metrics worker over the last minute, from its counters' growth. */
export function consumedRateQuery(worker: string, windowMs = 60_000): string {
  return `SELECT spread("consumed") AS consumed, spread("invalid") AS invalid FROM "${MEASUREMENTS.pipeline}" WHERE "worker" = '${worker.replace(/'/g, "")}' AND time > now() - ${windowMs}ms GROUP BY "partition"`;
}

/** A preview of a dead letter's bytes: printable UTF-8 as is, control bytes as `\xNN`, at most `max` characters. */
export function previewBytes(bytes: Uint8Array | null, max = 120): string {
  if (!bytes) return "(null)";
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes.subarray(0, max * 4));
  // eslint-disable-next-line no-control-regex -- control characters are what must be shown escaped
  const shown = text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return shown.length > max ? `${shown.slice(0, max)}…` : shown;
}
