import { HttpError, InfluxDB, Point, setLogger, type SendOptions, type Transport, type WriteApi } from "@influxdata/influxdb-client";
import type { Logger } from "pino";
import type { InfluxConfig } from "../../lib/contract/config.ts";
import type { InfluxPoint } from "../../lib/hot/influx-points.ts";
import { influxCommand } from "./influxql.ts";

/** A point as lib/ maps it: plain data, typed fields, nanosecond timestamp. */
export type SinkPoint = InfluxPoint;

export class InfluxWriteError extends Error {
  override name = "InfluxWriteError";
  constructor(readonly url: string, readonly points: number, cause: unknown) {
    super(`writing ${points} points to InfluxDB at ${url} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

const V1_PRECISION: Record<string, string> = { ns: "n", us: "u", ms: "ms", s: "s" };

/**
 * The client's write path is fixed to /api/v2/write, which InfluxDB 1.x (before
 * 1.8) does not serve: this transport maps it to the 1.x /write endpoint and
 * leaves every other request as it is. One code path writes to both versions.
 */
export function v1Transport(base: Transport, database: string): Transport {
  const mapPath = (path: string) => {
    if (!path.startsWith("/api/v2/write?")) return path;
    const params = new URLSearchParams(path.slice("/api/v2/write?".length));
    const precision = V1_PRECISION[params.get("precision") ?? "ns"] ?? "n";
    return `/write?${new URLSearchParams({ db: database, precision })}`;
  };
  return {
    send: (path, body, options: SendOptions, callbacks) => base.send(mapPath(path), body, options, callbacks),
    request: (path, body, options, started) => base.request(mapPath(path), body, options, started),
    iterate: (path, body, options) => base.iterate(mapPath(path), body, options),
    chunkCombiner: base.chunkCombiner,
  };
}

export function toClientPoint(p: SinkPoint): Point {
  const point = new Point(p.measurement).timestamp(p.timestampNs.toString());
  for (const [key, value] of Object.entries(p.tags)) point.tag(key, value);
  for (const [key, field] of Object.entries(p.fields)) {
    if (field.type === "string") point.stringField(key, field.value);
    else if (field.type === "int") point.intField(key, field.value);
    else point.floatField(key, field.value);
  }
  return point;
}

const CHUNK = 5_000;

/** Errors that retrying cannot fix: the data itself (HTTP 400, 422), or a point the client cannot serialise. */
function isMalformed(error: unknown): boolean {
  if (error instanceof HttpError) return error.statusCode === 400 || error.statusCode === 422;
  // Point serialisation (e.g. "invalid integer value for field 'orders'").
  return error instanceof Error && /value for field/.test(error.message);
}

/**
 * Writes points to InfluxDB 1.x or 2.x through @influxdata/influxdb-client's line
 * protocol, with our own bounded buffer instead of the client's retry buffer
 * (which drops the oldest lines when full). Points stay buffered until a write
 * succeeds; `full` tells the caller to pause consumption. Writes are upserts
 * (same measurement, tags and timestamp overwrite), so a re-sent point is harmless.
 */
export class InfluxSink {
  private buffer: SinkPoint[] = [];
  private readonly writeApi: WriteApi;
  private flushing: Promise<boolean> | undefined;
  /** Points InfluxDB refused as malformed, per measurement, since start. */
  readonly refused = new Map<string, number>();
  /** Points refused as malformed since start, all measurements. */
  get rejectedPoints(): number {
    let total = 0;
    for (const count of this.refused.values()) total += count;
    return total;
  }
  /** The latest refusal, for health and logs. */
  lastRefusal: { measurement: string; field: string | undefined; message: string } | undefined;
  private generation = 0;
  writeErrors = 0;
  /** Points InfluxDB refused as malformed (HTTP 400/422): dropped one by one, loudly, so they cannot block the rest. */
  written = 0;

  constructor(private readonly config: InfluxConfig, private readonly options: { maxBufferedPoints: number; log?: Logger; timeoutMs?: number }) {
    const timeout = options.timeoutMs ?? 10_000;
    const token = config.version === 2 ? config.token : undefined;
    let client = new InfluxDB({ url: config.url, token, timeout });
    if (config.version === 1) client = new InfluxDB({ url: config.url, timeout, transport: v1Transport(client.transport, config.database) });
    const org = config.version === 2 ? config.org : "";
    this.writeApi = client.getWriteApi(org, config.version === 2 ? config.bucket : config.database, "ns", {
      batchSize: CHUNK + 1,
      flushInterval: 0,
      maxRetries: 0,
      gzipThreshold: 64 * 1024,
    });
    // The client logs failed writes to the console itself; ours are counted and logged once, here.
    setLogger({ error: () => undefined, warn: () => undefined });
  }

  /** Creates the 1.x database if missing (2.x buckets come from the operator). */
  async init(): Promise<void> {
    if (this.config.version !== 1) return;
    await influxCommand(this.config, `CREATE DATABASE "${this.config.database.replaceAll('"', '\\"')}"`);
  }

  enqueue(points: SinkPoint[]): void {
    for (const p of points) this.buffer.push(p);
  }

  get buffered(): number {
    return this.buffer.length;
  }

  get full(): boolean {
    return this.buffer.length >= this.options.maxBufferedPoints;
  }

  get maxBufferedPoints(): number {
    return this.options.maxBufferedPoints;
  }

  /** Drops everything buffered (their producer will regenerate them); returns how many. */
  discard(): number {
    const dropped = this.buffer.length;
    this.buffer = [];
    this.generation++;
    return dropped;
  }

  /**
   * Writes everything buffered; true when the buffer is empty after. Never throws;
   * concurrent calls share one flush (the first caller's `mayWrite` decides for it:
   * the metrics worker runs one emit cycle at a time). `mayWrite` is asked before each
   * chunk (the caller's ownership of what it buffered): when it says no, nothing more
   * is written.
   */
  flush(mayWrite: () => boolean = () => true): Promise<boolean> {
    this.flushing ??= this.writeBuffered(mayWrite).finally(() => (this.flushing = undefined));
    // A caller that joined late may have enqueued after the loop ended.
    return this.flushing.then((ok) => ok && this.buffer.length === 0);
  }

  private async writeBuffered(mayWrite: () => boolean): Promise<boolean> {
    let size = CHUNK;
    while (this.buffer.length > 0) {
      if (!mayWrite()) return false;
      const chunk = this.buffer.slice(0, size);
      const generation = this.generation;
      try {
        this.writeApi.writePoints(chunk.map(toClientPoint));
        await this.writeApi.flush();
      } catch (error) {
        if (isMalformed(error)) {
          // Halve until the culprit stands alone, then drop it: one bad point must not stop the stream.
          if (chunk.length > 1) {
            size = Math.ceil(chunk.length / 2);
            continue;
          }
          const point = chunk[0]!;
          this.refused.set(point.measurement, (this.refused.get(point.measurement) ?? 0) + 1);
          const message = (error as Error).message;
          // InfluxDB names the field in a type conflict: `input field "revenue" on measurement "order_window" is type integer, already exists as type float`.
          const field = /field \\?["']([^"'\\]+)\\?["']/.exec(message)?.[1];
          this.lastRefusal = { measurement: point.measurement, field, message };
          this.options.log?.error(
            { measurement: point.measurement, field, err: message, point: JSON.stringify(point, (_, v) => (typeof v === "bigint" ? String(v) : v)) },
            `InfluxDB refused a point of ${point.measurement}${field ? ` (field ${field})` : ""} as malformed; dropped`,
          );
          if (generation === this.generation) this.buffer.splice(0, 1);
          continue;
        }
        this.writeErrors++;
        this.options.log?.warn({ err: new InfluxWriteError(this.config.url, chunk.length, error).message, buffered: this.buffer.length }, "InfluxDB write failed; points kept for retry");
        return false;
      }
      if (generation !== this.generation) return false;
      this.buffer.splice(0, chunk.length);
      this.written += chunk.length;
      size = CHUNK;
    }
    return true;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.writeApi.close().catch(() => undefined);
  }
}
