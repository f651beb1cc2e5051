/**
 * Rewrites a range of InfluxDB from the lake's replay: first delete every
 * window and anomaly point in the range (points that should not exist, e.g. a
 * window the replay does not have or an anomaly with a stray timestamp, are
 * not overwritten by an upsert), then write the replay's points through
 * InfluxSink (windowPoints, anomalyPoint: the hot path's own mapping).
 *
 * Deleting: InfluxDB 1.x takes InfluxQL `DELETE FROM … WHERE time …` (POST
 * /query); 2.x refuses InfluxQL deletes and takes POST /api/v2/delete with a
 * `_measurement` predicate instead. The `pipeline` measurement is left alone.
 * Between the delete and the rewrite, dashboards see the range empty for a
 * moment; repair ranges the hot path has finished with (the metrics worker
 * never re-emits a final window, so it would not restore a deleted one).
 */
import type { InfluxConfig } from "../../lib/contract/config.ts";
import { anomalyPoint, MEASUREMENTS, WINDOW_MEASUREMENTS, windowPoints, type InfluxPoint } from "../../lib/hot/influx-points.ts";
import type { TimeRange } from "../../lib/batch/reconcile.ts";
import type { AnomalyRecord, WindowValue } from "../../lib/hot/window-engine.ts";
import { InfluxSink } from "../shared/influx-sink.ts";
import { Progress, type ProgressStream } from "./progress.ts";
import { influxCommand } from "../shared/influxql.ts";

/** Every measurement the replay writes; all of them are cleared before the rewrite. */
export const REPAIRED_MEASUREMENTS = [...WINDOW_MEASUREMENTS, MEASUREMENTS.anomaly] as const;

export class InfluxRepairError extends Error {
  constructor(
    message: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "InfluxRepairError";
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
/** The last nanosecond of the range: /api/v2/delete's stop may be inclusive. */
const lastNanosecond = (ms: number) => `${new Date(ms - 1).toISOString().slice(0, -1)}999999Z`;

async function check(response: Response, what: string, url: string): Promise<void> {
  const text = await response.text().catch(() => "");
  let error: string | undefined;
  try {
    const body = JSON.parse(text) as { error?: string; message?: string; results?: { error?: string }[] };
    error = body.error ?? body.results?.find((r) => r.error)?.error ?? (response.ok ? undefined : body.message);
  } catch {
    error = response.ok ? undefined : text.slice(0, 300);
  }
  if (!response.ok || error) throw new InfluxRepairError(`${what} failed at ${url}: ${error ?? `HTTP ${response.status}`}`, url);
}

/** Deletes every point of REPAIRED_MEASUREMENTS with a time in the range. */
export async function deleteRange(config: InfluxConfig, range: TimeRange, timeoutMs = 60_000): Promise<void> {
  try {
    if (config.version === 1) {
      const where = `time >= '${iso(range.fromMs)}' AND time < '${iso(range.toMs)}'`;
      await influxCommand(config, REPAIRED_MEASUREMENTS.map((m) => `DELETE FROM "${m}" WHERE ${where}`).join("; "), timeoutMs);
      return;
    }
    for (const measurement of REPAIRED_MEASUREMENTS) {
      const params = new URLSearchParams({ org: config.org, bucket: config.bucket });
      const response = await fetch(`${config.url}/api/v2/delete?${params}`, {
        method: "POST",
        headers: { Authorization: `Token ${config.token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ start: iso(range.fromMs), stop: lastNanosecond(range.toMs), predicate: `_measurement="${measurement}"` }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await check(response, `delete of ${measurement}`, config.url);
    }
  } catch (error) {
    if (error instanceof InfluxRepairError) throw error;
    throw new InfluxRepairError(`deleting ${iso(range.fromMs)}..${iso(range.toMs)} at ${config.url} failed: ${(error as Error).message}`, config.url, { cause: error });
  }
}

/** The points of the replay: one set per window value, one per anomaly. */
export function repairPoints(windows: readonly WindowValue[], anomalies: readonly AnomalyRecord[], windowSizeMs: number): InfluxPoint[] {
  return [...windows.flatMap(windowPoints), ...anomalies.map((a) => anomalyPoint(a, windowSizeMs))];
}

const CHUNK = 5_000;
const ATTEMPTS = 5;

/** Writes the points with a progress bar; a chunk InfluxDB refuses is retried a few times, then the repair fails. */
export async function writePoints(config: InfluxConfig, points: readonly InfluxPoint[], progressStream?: ProgressStream): Promise<void> {
  const sink = new InfluxSink(config, { maxBufferedPoints: CHUNK * 2, timeoutMs: 30_000 });
  const progress = new Progress("rewriting InfluxDB points", points.length, progressStream);
  try {
    await sink.init();
    for (let i = 0; i < points.length; i += CHUNK) {
      const chunk = points.slice(i, i + CHUNK);
      sink.enqueue(chunk);
      let attempt = 1;
      while (!(await sink.flush())) {
        if (attempt++ >= ATTEMPTS)
          throw new InfluxRepairError(`InfluxDB at ${config.url} refused ${sink.buffered} points ${ATTEMPTS} times; the range is partly rewritten: run the repair again`, config.url);
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
      progress.advance(chunk.length);
    }
    progress.finish();
  } finally {
    await sink.close().catch(() => undefined);
  }
}
