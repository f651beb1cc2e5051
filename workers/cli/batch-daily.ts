/**
 * `npm run batch:daily -- --date YYYY-MM-DD`: the gold tables of one business
 * day (BUSINESS_TZ, default UTC) from the lake at LAKE_DIR:
 *   $LAKE_DIR/gold/daily_kpis/date=YYYY-MM-DD/daily_kpis.{parquet,csv}
 *   $LAKE_DIR/gold/daily_country_category/date=YYYY-MM-DD/daily_country_category.{parquet,csv}
 *   $LAKE_DIR/gold/daily_segment_metrics/date=YYYY-MM-DD/daily_segment_metrics.{parquet,csv}
 *   $LAKE_DIR/gold/daily_premium_metrics/date=YYYY-MM-DD/daily_premium_metrics.{parquet,csv}
 *   $LAKE_DIR/silver/minute_metrics/event_date=YYYY-MM-DD/minute_metrics.parquet
 * Segments and the premium flag come from dim_customer's current version
 * (orders_enriched: UNKNOWN and not premium for a customer it lacks).
 * Definitions: lib/daily-kpis.ts. Late events replay the hot path with
 * WINDOW_SIZE and WATERMARK_DELAY (lib/lake-replay.ts explains why idle
 * advances cannot be replayed). Rerunning replaces the day's files; on an
 * unchanged lake they come out byte-identical.
 *
 * `invalid` counts the invalid messages that ARRIVED on the day (ingested_at):
 * an invalid message has no trustworthy event time. Every other count is by
 * event time, so it differs from a count of what was sent during the day.
 *
 * It writes gold files, so it refuses (exit 3, nothing written) when LAKE_DIR
 * holds no lake (missing, a file, or no commit markers).
 *
 * stdout: the day's KPI row, a note on `invalid`, and the files written.
 * stderr: progress.
 * Exit codes: 0 written; 1 quality check failed (nothing written) or the lake
 * could not be read or written; 2 bad arguments or configuration; 3 refused:
 * no lake at LAKE_DIR.
 */
import { InvalidArgumentError } from "commander";
import { BusinessDayError, parseBusinessDate } from "../../lib/contract/business-day.ts";
import { lakeEnvSchema, windowEnvSchema } from "../../lib/contract/config.ts";
import { QualityCheckError } from "../../lib/batch/daily-kpis.ts";
import { formatCents } from "../../lib/contract/money.ts";
import { runDailyBatch } from "../batch/daily-batch.ts";
import { configsOrExit, loadEnv } from "../shared/env.ts";
import { commandLine } from "../shared/cli-args.ts";
import { EXIT, exitWithError } from "../shared/entry-point.ts";
import { requireCommittedLake } from "../shared/lake-state.ts";

const dateArg = (text: string) => {
  try {
    return parseBusinessDate(text);
  } catch (error) {
    throw new InvalidArgumentError((error as BusinessDayError).message);
  }
};

const program = commandLine("batch:daily", "Compute the gold tables (daily_kpis, daily_country_category, daily_segment_metrics, daily_premium_metrics) and the silver minute_metrics of one business day from the lake at LAKE_DIR", {
  environment: ["LAKE_DIR", "BUSINESS_TZ", "WINDOW_SIZE", "WATERMARK_DELAY"],
  exitCodes: "0 written; 1 a quality check failed (nothing written) or the lake could not be read or written; 2 bad arguments or configuration; 3 refused: no lake at LAKE_DIR (missing, a file, or no commit markers).",
})
  .requiredOption("--date <YYYY-MM-DD>", "the business day, midnight to midnight in BUSINESS_TZ (default UTC)", dateArg)
  .addHelpText("after", "Counts are by event time, except invalid: by arrival day (an invalid message has no trustworthy event time).\n")
  .action(async (options: { date: string }) => {
    const { lake, window } = configsOrExit({ lake: lakeEnvSchema, window: windowEnvSchema }, loadEnv());
    try {
      await requireCommittedLake(lake.lakeDir, "compute the daily KPIs");
    } catch (error) {
      exitWithError("batch:daily", error);
    }
    try {
      const result = await runDailyBatch({
        lakeDir: lake.lakeDir,
        date: options.date,
        businessTz: lake.businessTz,
        window: { windowSizeMs: window.windowSizeMs, watermarkDelayMs: window.watermarkDelayMs },
      });
      const k = result.kpis;
      console.log(
        `daily_kpis date=${k.date} business_tz=${k.businessTz} orders=${k.orders} revenue=${formatCents(k.revenueCents)} aov=${formatCents(k.aovCents)} ` +
          `customers=${k.customers} items=${k.items} late=${k.late} duplicates=${k.duplicates} invalid=${k.invalid}`,
      );
      console.log(`note: invalid=${k.invalid} counts invalid messages by arrival day (the lake took them in on ${k.date} in ${k.businessTz}): an invalid message has no trustworthy event time; every other count is by event time`);
      console.log(`daily_country_category rows=${result.rows.length}`);
      console.log(`daily_segment_metrics rows=${result.segments.length}`);
      console.log(`daily_premium_metrics rows=${result.premium.length}`);
      console.log(`minute_metrics rows=${result.minutes.length}`);
      for (const file of result.files) console.log(`wrote ${file}`);
    } catch (error) {
      if (error instanceof QualityCheckError) console.error(`batch:daily: ${error.message}`);
      else console.error(`batch:daily: failed: ${(error as Error).message}`);
      process.exitCode = EXIT.failure;
    }
  });

await program.parseAsync();
