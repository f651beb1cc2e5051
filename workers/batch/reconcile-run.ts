/**
 * The steps of `reconcile`: what InfluxDB should hold for a range (the lake
 * replayed through the hot path's WindowEngine, lib/batch/replay.ts), what it
 * holds (influx-windows.ts), their differences (lib/batch/reconcile.ts), and the
 * repair (influx-repair.ts).
 */
import type { InfluxConfig } from "../../lib/contract/config.ts";
import {
  compareBreakdowns,
  compareWindows,
  comparisonCells,
  type ComparisonCell,
  ExpectedCollector,
  sortMismatches,
  type BreakdownTable,
  summarize,
  type Mismatch,
  type WindowTable,
  type ReconcileSummary,
  type TimeRange,
} from "../../lib/batch/reconcile.ts";
import type { AnomalyRecord, WindowEngineConfig, WindowValue } from "../../lib/hot/window-engine.ts";
import { replaySegments } from "../dims/replay-segments.ts";
import { deleteRange, repairPoints, writePoints } from "./influx-repair.ts";
import { readActualWindows, readRecordedDimsVersions } from "./influx-windows.ts";
import { withLakeReader } from "./lake-reader.ts";
import type { ProgressStream } from "./progress.ts";
import { replayLake } from "./replay-lake.ts";

export interface Expected {
  table: WindowTable;
  /** Per window dimension and key (WINDOW_DIMENSIONS). */
  breakdowns: BreakdownTable;
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
    return { table: collector.table(), breakdowns: collector.breakdownTable(), windows: collector.windows(), anomalies: collector.anomalies(), openPartitions, offsetGaps: await reader.offsetGaps() };
  });
}

/**
 * The WindowEngine configuration a replay of `range` needs: each window's segment breakdown with the
 * dim_customer version InfluxDB recorded for it (workers/dims/replay-segments.ts), so a live window and its
 * replay agree. `missingDimsVersions`: recorded versions the lake no longer has (those windows get the version
 * current at their start).
 */
export async function replayWindowConfig(lakeDir: string, influx: InfluxConfig, range: TimeRange, engine: Pick<WindowEngineConfig, "windowSizeMs" | "watermarkDelayMs">): Promise<{ window: WindowEngineConfig; missingDimsVersions: string[] }> {
  const dims = await replaySegments(lakeDir, await readRecordedDimsVersions(influx, range));
  return { window: { windowSizeMs: engine.windowSizeMs, watermarkDelayMs: engine.watermarkDelayMs, segmentsFor: dims.segmentsFor }, missingDimsVersions: dims.missing };
}

export interface Check {
  mismatches: Mismatch[];
  summary: ReconcileSummary;
  /** What InfluxDB holds in the range: windows and anomalies, and window-dimension breakdowns. */
  actual: { table: WindowTable; breakdowns: BreakdownTable };
}

/** Compares every window, anomaly and window-dimension measure of the range. */
export async function checkInflux(influx: InfluxConfig, range: TimeRange, expected: Pick<Expected, "table" | "breakdowns">, windowSizeMs: number): Promise<Check> {
  const actual = await readActualWindows(influx, range, windowSizeMs);
  const mismatches = sortMismatches([...compareWindows(expected.table, actual.table), ...compareBreakdowns(expected.breakdowns, actual.breakdowns)]);
  return { mismatches, summary: summarize(range, expected.table, actual.table, mismatches), actual };
}

/** Deletes the range's window and anomaly points and writes the replay's. */
export async function repairInflux(influx: InfluxConfig, range: TimeRange, expected: Expected, windowSizeMs: number, progress?: ProgressStream): Promise<number> {
  const points = repairPoints(expected.windows, expected.anomalies, windowSizeMs);
  await deleteRange(influx, range);
  await writePoints(influx, points, progress);
  return points.length;
}

export interface RangeComparison {
  summary: ReconcileSummary;
  /** Every (window, partition) of the range, in order: lake replay against InfluxDB, with its mismatches. */
  cells: ComparisonCell[];
  offsetGaps: number;
  openPartitions: Expected["openPartitions"];
  /** dim_customer versions InfluxDB records for windows of the range that the lake no longer has. */
  missingDimsVersions: string[];
}

/** The reconciliation view of a range: what `reconcile` checks, cell by cell, without changing anything. */
export async function compareRange(lakeDir: string, businessTz: string, engine: Pick<WindowEngineConfig, "windowSizeMs" | "watermarkDelayMs">, influx: InfluxConfig, range: TimeRange): Promise<RangeComparison> {
  const { window, missingDimsVersions } = await replayWindowConfig(lakeDir, influx, range, engine);
  const expected = await expectedFromLake(lakeDir, businessTz, window, range, { write: () => true });
  const check = await checkInflux(influx, range, expected, window.windowSizeMs);
  return {
    summary: check.summary,
    cells: comparisonCells(expected.table, check.actual.table, check.mismatches),
    offsetGaps: expected.offsetGaps,
    openPartitions: expected.openPartitions,
    missingDimsVersions,
  };
}
