/**
 * The steps of `reconcile`: what InfluxDB should hold for a range (the lake
 * replayed through the hot path's WindowEngine, lib/lake-replay.ts), what it
 * holds (influx-minutes.ts), their differences (lib/reconcile.ts), and the
 * repair (influx-repair.ts).
 */
import type { InfluxConfig } from "../../lib/contract/config.ts";
import {
  compareMinutes,
  ExpectedCollector,
  summarize,
  type Mismatch,
  type MinuteTable,
  type ReconcileSummary,
  type TimeRange,
} from "../../lib/batch/reconcile.ts";
import type { AnomalyRecord, WindowEngineConfig, WindowValue } from "../../lib/hot/window-engine.ts";
import { deleteRange, repairPoints, writePoints } from "./influx-repair.ts";
import { readActualMinutes } from "./influx-minutes.ts";
import { withLakeReader } from "./lake-reader.ts";
import type { ProgressStream } from "./progress.ts";
import { replayLake } from "./replay-lake.ts";

export interface Expected {
  table: MinuteTable;
  /** Latest value per window and partition in the range. */
  windows: WindowValue[];
  anomalies: AnomalyRecord[];
  /** orders_invalid rows recording offsets the lake never received (Kafka retention): the replay misses those events. */
  offsetGaps: number;
  /** Partitions whose replay ended with a watermark before the range's end: their last windows are still open in the lake. */
  openPartitions: { partition: number; watermark: number | null }[];
}

export async function expectedFromLake(
  lakeDir: string,
  businessTz: string,
  window: WindowEngineConfig,
  range: TimeRange,
  progress?: ProgressStream,
): Promise<Expected> {
  return withLakeReader(lakeDir, { businessTz }, async (reader) => {
    const collector = new ExpectedCollector(range);
    const replay = await replayLake(reader, window, collector, progress);
    const openPartitions = [...replay.watermarks()]
      .filter(([, watermark]) => watermark === null || watermark < range.toMs)
      .map(([partition, watermark]) => ({ partition, watermark }));
    return { table: collector.table(), windows: collector.windows(), anomalies: collector.anomalies(), openPartitions, offsetGaps: await reader.offsetGaps() };
  });
}

export interface Check {
  mismatches: Mismatch[];
  summary: ReconcileSummary;
  /** What InfluxDB holds in the range. */
  actual: MinuteTable;
}

export async function checkInflux(influx: InfluxConfig, range: TimeRange, expected: MinuteTable, windowSizeMs: number): Promise<Check> {
  const actual = await readActualMinutes(influx, range, windowSizeMs);
  const mismatches = compareMinutes(expected, actual);
  return { mismatches, summary: summarize(range, expected, actual, mismatches), actual };
}

/** Deletes the range's window and anomaly points and writes the replay's. */
export async function repairInflux(influx: InfluxConfig, range: TimeRange, expected: Expected, windowSizeMs: number, progress?: ProgressStream): Promise<number> {
  const points = repairPoints(expected.windows, expected.anomalies, windowSizeMs);
  await deleteRange(influx, range);
  await writePoints(influx, points, progress);
  return points.length;
}
