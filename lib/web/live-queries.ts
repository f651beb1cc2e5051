/**
 * The Live page's InfluxQL: which range, which buckets, which statements. Pure: `now` and the
 * window size come in. Measurement names come from lib/hot/influx-points.ts, never retyped.
 */
import { z } from "zod";
import { WINDOW_DIMENSIONS } from "../contract/dimensions.ts";
import { MEASUREMENTS } from "../hot/influx-points.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * The range picker's choices: how far back, and the bucket (InfluxQL `GROUP BY time(...)`);
 * bucket 0 = one window, so the short ranges show every window as the feed sends it.
 */
export const RANGES = {
  "15m": { spanMs: 15 * MINUTE, bucketMs: 0 },
  "1h": { spanMs: HOUR, bucketMs: 0 },
  "6h": { spanMs: 6 * HOUR, bucketMs: 10 * MINUTE },
  "24h": { spanMs: 24 * HOUR, bucketMs: 30 * MINUTE },
  "7d": { spanMs: 7 * 24 * HOUR, bucketMs: 3 * HOUR },
} as const;
export type RangeName = keyof typeof RANGES;
export const RANGE_NAMES = Object.keys(RANGES) as RangeName[];
export const rangeSchema = z.enum(RANGE_NAMES as [RangeName, ...RangeName[]]).default("1h");

/** A dimension the Live page breaks revenue down by: every window dimension (lib/contract/dimensions.ts). */
export type BreakdownDimension = (typeof WINDOW_DIMENSIONS)[number]["dimension"];

export interface Span {
  /** Inclusive start, epoch ms, aligned to the bucket. */
  fromMs: number;
  /** Exclusive end, epoch ms. */
  toMs: number;
  /** Bucket length in ms: never finer than one window. */
  bucketMs: number;
}

/**
 * The span a range covers at `now`: its bucket is the range's, but at least the window size and a
 * multiple of it (a bucket never splits a window); the start is aligned so the first bucket is whole.
 */
export function spanOf(range: RangeName, now: number, windowSizeMs: number): Span {
  const { spanMs, bucketMs } = RANGES[range];
  const bucket = Math.max(windowSizeMs, Math.ceil(bucketMs / windowSizeMs) * windowSizeMs);
  const fromMs = Math.floor((now - spanMs) / bucket) * bucket;
  return { fromMs, toMs: now + windowSizeMs, bucketMs: bucket };
}

const ns = (ms: number) => `${ms}ms`;
const timeRange = (span: Pick<Span, "fromMs" | "toMs">) => `time >= ${ns(span.fromMs)} AND time < ${ns(span.toMs)}`;
const bucket = (span: Span) => `time(${ns(span.bucketMs)})`;

/** Revenue, orders, customers and finality per bucket, summed over partitions (a bucket is final when every point in it is). */
export function windowSeriesQuery(span: Span): string {
  return `SELECT sum("revenue") AS revenue, sum("orders") AS orders, sum("customers") AS customers, min("final") AS final, count("final") AS points FROM "${MEASUREMENTS.window}" WHERE ${timeRange(span)} GROUP BY ${bucket(span)} fill(none)`;
}

/** Late orders and their revenue per bucket. */
export function lateSeriesQuery(span: Span): string {
  return `SELECT sum("orders") AS orders, sum("revenue") AS revenue FROM "${MEASUREMENTS.anomaly}" WHERE "kind" = 'late' AND ${timeRange(span)} GROUP BY ${bucket(span)} fill(none)`;
}

/** Revenue and orders per dimension value over the span. */
export function breakdownQuery(dimension: BreakdownDimension, span: Pick<Span, "fromMs" | "toMs">): string {
  const measurement = WINDOW_DIMENSIONS.find((d) => d.dimension === dimension)!.measurement;
  return `SELECT sum("revenue") AS revenue, sum("orders") AS orders FROM "${measurement}" WHERE ${timeRange(span)} GROUP BY "${dimension}"`;
}

/** On-time revenue and orders over a span (one row). */
export function windowTotalQuery(span: Pick<Span, "fromMs" | "toMs">): string {
  return `SELECT sum("revenue") AS revenue, sum("orders") AS orders FROM "${MEASUREMENTS.window}" WHERE ${timeRange(span)}`;
}

/** Late and duplicate orders and revenue over a span, per kind. */
export function anomalyTotalQuery(span: Pick<Span, "fromMs" | "toMs">): string {
  return `SELECT sum("orders") AS orders, sum("revenue") AS revenue FROM "${MEASUREMENTS.anomaly}" WHERE ${timeRange(span)} GROUP BY "kind"`;
}

/** Unique customers of the newest window at or before `toMs` (per-partition counts add up: customers are keyed to partitions). */
export function lastWindowCustomersQuery(span: Pick<Span, "fromMs" | "toMs">, windowSizeMs: number): string {
  return `SELECT sum("customers") AS customers FROM "${MEASUREMENTS.window}" WHERE ${timeRange(span)} GROUP BY time(${ns(windowSizeMs)}) fill(none) ORDER BY time DESC LIMIT 1`;
}

/** Messages consumed and rejected as invalid by the metrics worker over a span: counter growth per partition. */
export function invalidShareQuery(span: Pick<Span, "fromMs" | "toMs">): string {
  return `SELECT spread("consumed") AS consumed, spread("invalid") AS invalid FROM "${MEASUREMENTS.pipeline}" WHERE "worker" = 'metrics' AND ${timeRange(span)} GROUP BY "partition"`;
}
