/**
 * One business day of gold tables from the lake: compute (lib/daily-kpis.ts
 * has the definitions), check, then write. A failed check writes nothing, so
 * the day's previous outputs stay as they were.
 */
import { businessDay, describeBusinessDay, type BusinessDay } from "../../lib/contract/business-day.ts";
import {
  countryCategoryGoldRow,
  countryCategoryRows,
  DAILY_COUNTRY_CATEGORY_TABLE,
  DAILY_KPIS_TABLE,
  DailyAggregator,
  dailyKpis,
  dailyKpisGoldRow,
  QualityCheckError,
  qualityProblems,
  type CountryCategoryRow,
  type DailyCounts,
  type DailyKpis,
  type DailyTotals,
} from "../../lib/batch/daily-kpis.ts";
import type { WindowEngineConfig } from "../../lib/hot/window-engine.ts";
import { writeGoldDay } from "./gold-writer.ts";
import { LakeReadError, withLakeReader, type LakeReader } from "./lake-reader.ts";
import { OFFSET_GAP_CODE } from "../../lib/lake/schema.ts";
import { sqlLiteral } from "../../lib/lake/sql.ts";
import type { ProgressStream } from "./progress.ts";
import { replayLake } from "./replay-lake.ts";

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
  totals: DailyTotals;
  counts: DailyCounts;
}

export interface DailyBatchResult extends DailyComputation {
  files: string[];
}

/** `event_time` (a UTC TIMESTAMP) within the day. */
const onDay = (column: string, day: BusinessDay) => `${column} >= epoch_ms(${day.startMs}) AND ${column} < epoch_ms(${day.endMs})`;

async function dayTotals(reader: LakeReader, day: BusinessDay): Promise<DailyTotals> {
  const aggregator = new DailyAggregator();
  const sql = `SELECT customer_id, quantity, CAST(amount_cents AS DOUBLE) / 100 AS amount, country, category FROM orders WHERE ${onDay("event_time", day)}`;
  for await (const rows of reader.stream(sql)) {
    for (const [customerId, quantity, amount, country, category] of rows) {
      if (typeof quantity !== "number" || typeof amount !== "number" || typeof country !== "string" || typeof category !== "string")
        throw new LakeReadError(`an order of ${day.date} lacks quantity, amount, country or category`, { lakeDir: reader.lakeDir });
      aggregator.add({ customerId: typeof customerId === "string" ? customerId : null, quantity, amount, country, category });
    }
  }
  return aggregator.totals();
}

async function dayCounts(reader: LakeReader, day: BusinessDay, window: WindowEngineConfig, progress?: ProgressStream): Promise<DailyCounts> {
  // A copy after the first (lowest partition, offset) of its order_id is a duplicate, whatever its day.
  const [copies] = await reader.rows(`
    SELECT count(*) AS raw_rows, count(*) FILTER (WHERE copy > 1) AS duplicates
    FROM (SELECT event_time, row_number() OVER (PARTITION BY order_id ORDER BY kafka_partition, kafka_offset) AS copy FROM orders_raw)
    WHERE ${onDay("event_time", day)}`);
  const invalid = await reader.number(`SELECT count(*) FROM orders_invalid WHERE ${onDay("ingested_at", day)} AND reason_code <> ${sqlLiteral(OFFSET_GAP_CODE)}`);
  let late = 0;
  await replayLake(
    reader,
    window,
    {
      classified(record, classification) {
        if (classification === "late" && record.order.eventTime >= day.startMs && record.order.eventTime < day.endMs) late++;
      },
    },
    progress,
  );
  return { late, duplicates: Number(copies?.[1] ?? 0), invalid, rawRows: Number(copies?.[0] ?? 0) };
}

/** The day's numbers, from one consistent set of live lake files. */
export async function computeDaily(reader: LakeReader, day: BusinessDay, window: WindowEngineConfig, progress?: ProgressStream): Promise<DailyComputation> {
  progress?.write(`batch:daily: adding up the day's de-duplicated orders\n`);
  const totals = await dayTotals(reader, day);
  progress?.write(`batch:daily: counting duplicates and invalid messages, then replaying the lake for late events\n`);
  const counts = await dayCounts(reader, day, window, progress);
  const kpis = dailyKpis(day.date, day.timeZone, totals, counts);
  return { day, kpis, rows: countryCategoryRows(day.date, totals), totals, counts };
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
    const problems = qualityProblems(computed.kpis, computed.totals, computed.counts, computed.rows);
    if (problems.length > 0) throw new QualityCheckError(day.date, problems, describeBusinessDay(day));
    progress.write(`batch:daily: writing gold tables for ${day.date}\n`);
    const files = await writeGoldDay(reader, day.date, [
      { table: DAILY_KPIS_TABLE, rows: [dailyKpisGoldRow(computed.kpis)], orderBy: "date" },
      { table: DAILY_COUNTRY_CATEGORY_TABLE, rows: computed.rows.map(countryCategoryGoldRow), orderBy: "country, revenue_rank, category" },
    ]);
    return { ...computed, files };
  });
}
