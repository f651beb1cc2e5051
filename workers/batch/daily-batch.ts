/**
 * One business day of gold tables and the silver minute_metrics from the lake:
 * compute (lib/batch/daily-kpis.ts and lib/batch/minute-metrics.ts have the
 * definitions), check, then write. A failed check writes nothing, so
 * the day's previous outputs stay as they were.
 */
import { businessDay, describeBusinessDay, type BusinessDay } from "../../lib/contract/business-day.ts";
import {
  countryCategoryGoldRow,
  countryCategoryRows,
  DAILY_COUNTRY_CATEGORY_TABLE,
  DAILY_KPIS_TABLE,
  DAILY_PREMIUM_METRICS_TABLE,
  DAILY_SEGMENT_METRICS_TABLE,
  DailyAggregator,
  dailyKpis,
  dailyKpisGoldRow,
  QualityCheckError,
  premiumGoldRow,
  premiumRows,
  qualityProblems,
  segmentGoldRow,
  segmentRows,
  type CountryCategoryRow,
  type PremiumRow,
  type SegmentRow,
  type DailyCounts,
  type DailyKpis,
  type DailyTotals,
} from "../../lib/batch/daily-kpis.ts";
import type { WindowEngineConfig } from "../../lib/hot/window-engine.ts";
import { goldOutput, writeBatchTables } from "./gold-writer.ts";
import { MINUTE_METRICS_TABLE, MinuteMetrics, minuteGoldRow, minuteMetricsPath, type MinuteRow } from "../../lib/batch/minute-metrics.ts";
import { LakeReadError, withLakeReader, type LakeReader } from "./lake-reader.ts";
import { OFFSET_GAP_CODE } from "../../lib/lake/schema.ts";
import { sqlLiteral } from "../../lib/lake/sql.ts";
import { ORDERS_DUPLICATES_TABLE } from "../../lib/lake/views.ts";
import type { ProgressStream } from "./progress.ts";
import { replayLake } from "./replay-lake.ts";
import { windowStartOf } from "../../lib/contract/time.ts";
import type { CustomerSegments } from "../../lib/contract/dims.ts";
import { replaySegments } from "../dims/replay-segments.ts";

export interface DailyBatchOptions {
  lakeDir: string;
  /** `YYYY-MM-DD`. */
  date: string;
  businessTz: string;
  window: WindowEngineConfig;
  /** Progress and step messages; default stderr. */
  progress?: ProgressStream;
}

export interface DailyComputation {
  day: BusinessDay;
  kpis: DailyKpis;
  rows: CountryCategoryRow[];
  segments: SegmentRow[];
  premium: PremiumRow[];
  totals: DailyTotals;
  counts: DailyCounts;
  /** The silver minute_metrics rows: the replay's windows that start on the day. */
  minutes: MinuteRow[];
}

export interface DailyBatchResult extends DailyComputation {
  files: string[];
}

/** `event_time` (a UTC TIMESTAMP) within the day. */
const onDay = (column: string, day: BusinessDay) => `${column} >= epoch_ms(${day.startMs}) AND ${column} < epoch_ms(${day.endMs})`;

/**
 * The day's de-duplicated orders added up. An order's segment is dim_customer's at the
 * version in force when its window started, by load time (workers/dims/replay-segments.ts:
 * the rule reconcile uses for a window InfluxDB has no version for), so rerunning a past
 * day after a dims:load does not rewrite it with today's segments. The premium flag is
 * still the current version's (orders_enriched).
 */
async function dayTotals(reader: LakeReader, day: BusinessDay, windowSizeMs: number): Promise<DailyTotals> {
  const aggregator = new DailyAggregator();
  const { segmentsFor } = await replaySegments(reader.lakeDir, new Map());
  const byWindow = new Map<number, CustomerSegments>(); // one version lookup per window, not per order
  const sql = `SELECT customer_id, quantity, CAST(amount_cents AS DOUBLE) / 100 AS amount, country, category, CAST(epoch_ms(event_time) AS DOUBLE) AS event_ms, is_premium FROM orders_enriched WHERE ${onDay("event_time", day)}`;
  for await (const rows of reader.stream(sql)) {
    for (const [customerId, quantity, amount, country, category, eventMs, isPremium] of rows) {
      if (typeof quantity !== "number" || typeof amount !== "number" || typeof country !== "string" || typeof category !== "string" || typeof eventMs !== "number" || typeof isPremium !== "boolean")
        throw new LakeReadError(`an order of ${day.date} lacks quantity, amount, country, category, event_time or is_premium`, { lakeDir: reader.lakeDir });
      const customer = typeof customerId === "string" ? customerId : null;
      // The partition does not choose the version (only a recorded one would, and gold has none).
      const start = windowStartOf(eventMs, windowSizeMs);
      const segments = byWindow.get(start) ?? byWindow.set(start, segmentsFor(0, start)).get(start)!;
      const segment = segments.segmentOf(customer);
      aggregator.add({ customerId: customer, quantity, amount, country, category, segment, isPremium });
    }
  }
  return aggregator.totals();
}

async function dayCounts(reader: LakeReader, day: BusinessDay, window: WindowEngineConfig, progress?: ProgressStream): Promise<{ counts: DailyCounts; minutes: MinuteRow[] }> {
  // A later copy of an order (orders_duplicates: lib/lake/first-copies.ts) is a duplicate, whatever its first copy's day.
  const [copies] = await reader.rows(`
    SELECT count(*) AS raw_rows, count(d.kafka_offset) AS duplicates
    FROM orders_raw r LEFT JOIN ${ORDERS_DUPLICATES_TABLE} d ON d.kafka_partition = r.kafka_partition AND d.kafka_offset = r.kafka_offset
    WHERE ${onDay("r.event_time", day)}`);
  const invalid = await reader.number(`SELECT count(*) FROM orders_invalid WHERE ${onDay("ingested_at", day)} AND reason_code <> ${sqlLiteral(OFFSET_GAP_CODE)}`);
  let late = 0;
  // One replay gives both the late count and the silver minutes (the same engine replay as reconcile).
  const minutes = new MinuteMetrics(day.startMs, day.endMs);
  await replayLake(
    reader,
    window,
    {
      classified(record, classification) {
        if (classification === "late" && record.order.eventTime >= day.startMs && record.order.eventTime < day.endMs) late++;
      },
      window: (value) => minutes.window(value),
      anomaly: (anomaly) => minutes.anomaly(anomaly),
    },
    progress,
  );
  return { counts: { late, duplicates: Number(copies?.[1] ?? 0), invalid, rawRows: Number(copies?.[0] ?? 0) }, minutes: minutes.rows() };
}

/** The day's numbers, from one consistent set of live lake files. */
export async function computeDaily(reader: LakeReader, day: BusinessDay, window: WindowEngineConfig, progress?: ProgressStream): Promise<DailyComputation> {
  progress?.write(`batch:daily: adding up the day's de-duplicated orders\n`);
  const totals = await dayTotals(reader, day, window.windowSizeMs);
  progress?.write(`batch:daily: counting duplicates and invalid messages, then replaying the lake for late events\n`);
  const { counts, minutes } = await dayCounts(reader, day, window, progress);
  const kpis = dailyKpis(day.date, day.timeZone, totals, counts);
  return { day, kpis, minutes, rows: countryCategoryRows(day.date, totals), segments: segmentRows(day.date, totals), premium: premiumRows(day.date, totals), totals, counts };
}

/**
 * Computes, checks and writes one day.
 * @throws QualityCheckError when the numbers are impossible or the day is empty (nothing written)
 * @throws LakeReadError when the lake cannot be read or the files cannot be written
 */
export async function runDailyBatch(options: DailyBatchOptions): Promise<DailyBatchResult> {
  const day = businessDay(options.date, options.businessTz);
  const progress = options.progress ?? process.stderr;
  progress.write(`batch:daily: ${describeBusinessDay(day)}\n`);
  return withLakeReader(options.lakeDir, { businessTz: options.businessTz }, async (reader) => {
    progress.write(`batch:daily: reading ${reader.files.length} live lake files\n`);
    const gaps = await reader.offsetGaps();
    if (gaps > 0)
      progress.write(`batch:daily: warning: the lake records ${gaps} offset gap(s) (events Kafka removed before the lake read them; see orders_invalid): the day may miss orders\n`);
    const computed = await computeDaily(reader, day, options.window, progress);
    const problems = qualityProblems(computed.kpis, computed.totals, computed.counts, computed.rows, computed);
    if (problems.length > 0) throw new QualityCheckError(day.date, problems, describeBusinessDay(day));
    progress.write(`batch:daily: writing gold tables for ${day.date}\n`);
    const files = await writeBatchTables(reader, [
      goldOutput(DAILY_KPIS_TABLE, day.date, [dailyKpisGoldRow(computed.kpis)]),
      goldOutput(DAILY_COUNTRY_CATEGORY_TABLE, day.date, computed.rows.map(countryCategoryGoldRow)),
      goldOutput(DAILY_SEGMENT_METRICS_TABLE, day.date, computed.segments.map(segmentGoldRow)),
      goldOutput(DAILY_PREMIUM_METRICS_TABLE, day.date, computed.premium.map(premiumGoldRow)),
      { table: MINUTE_METRICS_TABLE, rows: computed.minutes.map(minuteGoldRow), parquet: minuteMetricsPath(day.date) },
    ]);
    return { ...computed, files };
  });
}
