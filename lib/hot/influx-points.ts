import { UNKNOWN } from "../contract/order.ts";
import { WINDOW_DIMENSIONS } from "../contract/dimensions.ts";
import { type AnomalyRecord, type WindowValue } from "./window-engine.ts";
import { amountToCents, centsToUnits } from "../contract/money.ts";

/**
 * The window engine's outputs as InfluxDB points, as plain data. The IO sink turns them
 * into @influxdata/influxdb-client `Point`s and writes with nanosecond precision; the
 * line-protocol renderer here is the reference for tests. Field types are fixed once and
 * for all (InfluxDB rejects a type change): counts are integers, money is a float rounded
 * to the cent.
 */

export type InfluxField = { type: "int" | "float"; value: number } | { type: "string"; value: string };

export interface InfluxPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, InfluxField>;
  timestampNs: bigint;
}

/**
 * Every measurement orderpulse writes, named once (design.md, "InfluxDB"): the
 * per-dimension ones come from WINDOW_DIMENSIONS, keyed by their field
 * (`MEASUREMENTS.byCountry` = `order_window_by_country`).
 */
export const MEASUREMENTS = {
  window: "order_window",
  ...(Object.fromEntries(WINDOW_DIMENSIONS.map((d) => [d.field, d.measurement])) as { [D in (typeof WINDOW_DIMENSIONS)[number] as D["field"]]: D["measurement"] }),
  anomaly: "order_anomaly",
  pipeline: "pipeline",
  /** Alert state changes (workers/alerts.ts): tags `rule`, `group`; lib/ops/alert-rules.ts `alertPoint`. */
  alert: "alert",
} as const;

/** The measurements that carry window values (not anomalies or pipeline health). */
export const WINDOW_MEASUREMENTS = [MEASUREMENTS.window, ...WINDOW_DIMENSIONS.map((d) => d.measurement)] as const;

const NS_PER_MS = 1_000_000n;

const int = (value: number): InfluxField => ({ type: "int", value });
const money = (cents: number): InfluxField => ({ type: "float", value: centsToUnits(cents) });

/**
 * A tag value InfluxDB stores as is. Line protocol cannot carry control characters in a
 * tag, and a backslash has no reliable escape (before a separator it swallows it), so
 * both become U+FFFD; an empty value (not allowed in a tag) becomes UNKNOWN.
 */
export function safeTagValue(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what must go
  const cleaned = value.replace(/[\u0000-\u001f\u007f\\]/g, "\uFFFD");
  return cleaned === "" ? UNKNOWN : cleaned;
}

/** The `order_window` point and one point per key of each window dimension (WINDOW_DIMENSIONS); timestamp = window start. */
export function windowPoints(value: WindowValue): InfluxPoint[] {
  const partition = String(value.partition);
  const timestampNs = BigInt(value.windowStart) * NS_PER_MS;
  return [
    {
      measurement: MEASUREMENTS.window,
      tags: { partition },
      fields: {
        revenue: money(value.revenueCents),
        orders: int(value.orders),
        items: int(value.items),
        customers: int(value.customers),
        final: int(value.final ? 1 : 0),
        // The dim_customer version of the window's segment breakdown: what a replay uses for it.
        ...(value.dimsVersion === null ? {} : { dims_version: { type: "string", value: value.dimsVersion } as const }),
      },
      timestampNs,
    },
    ...WINDOW_DIMENSIONS.flatMap((d) =>
      value[d.field].map((total) => ({
        measurement: d.measurement,
        tags: { partition, [d.dimension]: safeTagValue(total.key) },
        fields: { revenue: money(total.revenueCents), orders: int(total.orders) },
        timestampNs,
      })),
    ),
  ];
}

/**
 * Timestamp of an anomaly point: its window start plus (Kafka offset mod the window
 * length in ns) nanoseconds. It stays inside the window, so `GROUP BY time(window)` puts
 * it in the right one, and a replayed record lands on the same point (an upsert). Two
 * anomalies of one partition, kind and window collide only if their offsets differ by a
 * multiple of the window length in ns: 10^9 records apart for 1 s windows, 6·10^10 for
 * 1 m ones.
 */
export function anomalyTimestampNs(windowStart: number, offset: number, windowSizeMs: number): bigint {
  const windowNs = BigInt(windowSizeMs) * NS_PER_MS;
  return BigInt(windowStart) * NS_PER_MS + (BigInt(offset) % windowNs);
}

/** One `order_anomaly` point per late or duplicate record. */
export function anomalyPoint(anomaly: AnomalyRecord, windowSizeMs: number): InfluxPoint {
  return {
    measurement: MEASUREMENTS.anomaly,
    tags: { partition: String(anomaly.partition), kind: anomaly.kind },
    fields: { orders: int(1), revenue: money(amountToCents(anomaly.amount)) },
    timestampNs: anomalyTimestampNs(anomaly.windowStart, anomaly.offset, windowSizeMs),
  };
}

/** Health of one worker's partition at a wall-clock instant: what Grafana and the dashboard chart. */
export interface PipelineSample {
  worker: string;
  partition: number;
  at: number;
  lag: number;
  /** Epoch ms; absent before the partition's first record. */
  watermark: number | null;
  consumed: number;
  invalid: number;
  late: number;
  duplicates: number;
  offsetGaps: number;
  /** Messages known lost to retention before they were read. */
  missedMessages: number;
  bufferedPoints: number;
  /** Points InfluxDB refused as malformed (e.g. a field-type conflict) since the worker started: dropped, never retried. */
  refusedPoints: number;
}

export function pipelinePoint(sample: PipelineSample): InfluxPoint {
  const fields: Record<string, InfluxField> = {
    lag: int(sample.lag),
    consumed: int(sample.consumed),
    invalid: int(sample.invalid),
    late: int(sample.late),
    duplicates: int(sample.duplicates),
    offset_gaps: int(sample.offsetGaps),
    missed_messages: int(sample.missedMessages),
    buffered_points: int(sample.bufferedPoints),
    refused_points: int(sample.refusedPoints),
  };
  if (sample.watermark !== null) fields.watermark = int(sample.watermark);
  return { measurement: MEASUREMENTS.pipeline, tags: { worker: sample.worker, partition: String(sample.partition) }, fields, timestampNs: BigInt(sample.at) * NS_PER_MS };
}

export class LineProtocolError extends Error {
  constructor(
    readonly measurement: string,
    readonly reason: string,
  ) {
    super(`cannot render ${JSON.stringify(measurement)} as line protocol: ${reason}`);
    this.name = "LineProtocolError";
  }
}

const byKey = ([a]: [string, unknown], [b]: [string, unknown]) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * One line of InfluxDB line protocol (no trailing newline): tags and fields sorted by key
 * as the client does; measurement escapes commas and spaces; tag keys, tag values and
 * field keys escape commas, equals signs and spaces; integers carry the `i` suffix.
 * Text line protocol cannot represent (empty names or tag values, line breaks,
 * backslashes) and non-finite or non-integer numbers are errors, not silent corruption.
 */
export function toLineProtocol(point: InfluxPoint): string {
  const fail = (reason: string): never => {
    throw new LineProtocolError(point.measurement, reason);
  };
  const text = (what: string, value: string, special: RegExp): string => {
    if (value === "") fail(`empty ${what}`);
    if (/[\n\r\\]/.test(value)) fail(`${what} ${JSON.stringify(value)} contains a line break or backslash`);
    return value.replace(special, "\\$&");
  };
  const measurement = text("measurement", point.measurement, /[, ]/g);
  const tags = Object.entries(point.tags)
    .sort(byKey)
    .map(([key, value]) => `,${text("tag key", key, /[,= ]/g)}=${text(`tag ${key}`, value, /[,= ]/g)}`)
    .join("");
  const fieldEntries = Object.entries(point.fields).sort(byKey);
  if (fieldEntries.length === 0) fail("a point needs at least one field");
  const fields = fieldEntries
    .map(([key, field]) => {
      const name = text("field key", key, /[,= ]/g);
      if (field.type === "string") return `${name}="${field.value.replace(/["\\]/g, "\\$&")}"`;
      if (field.type === "int") {
        if (!Number.isSafeInteger(field.value)) fail(`integer field ${key} = ${field.value}`);
        return `${name}=${field.value}i`;
      }
      if (!Number.isFinite(field.value)) fail(`float field ${key} = ${field.value}`);
      return `${name}=${String(field.value)}`;
    })
    .join(",");
  return `${measurement}${tags} ${fields} ${point.timestampNs}`;
}
