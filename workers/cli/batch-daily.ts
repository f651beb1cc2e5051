/**
 * `npm run batch:daily -- --date YYYY-MM-DD`: the gold tables of one business
 * day (BUSINESS_TZ, default UTC) from the lake at LAKE_DIR:
 *   $LAKE_DIR/gold/daily_kpis/date=YYYY-MM-DD/daily_kpis.{parquet,csv}
 *   $LAKE_DIR/gold/daily_country_category/date=YYYY-MM-DD/daily_country_category.{parquet,csv}
 * Definitions: lib/daily-kpis.ts. Late events replay the hot path with
 * WINDOW_SIZE and WATERMARK_DELAY (lib/lake-replay.ts explains why idle
 * advances cannot be replayed). Rerunning replaces the day's files; on an
 * unchanged lake they come out byte-identical.
 *
 * stdout: the day's KPI row and the files written. stderr: progress.
 * Exit codes: 0 written; 1 quality check failed (nothing written) or the lake
 * could not be read or written; 2 bad arguments or configuration.
 */
import { Command, InvalidArgumentError } from "commander";
import { BusinessDayError, parseBusinessDate } from "../../lib/contract/business-day.ts";
import { lakeEnvSchema, windowEnvSchema } from "../../lib/contract/config.ts";
import { QualityCheckError } from "../../lib/batch/daily-kpis.ts";
import { formatCents } from "../../lib/contract/money.ts";
import { runDailyBatch } from "../batch/daily-batch.ts";
import { configOrExit, loadEnv } from "../shared/env.ts";

const dateArg = (text: string) => {
  try {
    return parseBusinessDate(text);
  } catch (error) {
    throw new InvalidArgumentError((error as BusinessDayError).message);
  }
};

const program = new Command("batch:daily")
  .description("Compute the gold daily_kpis and daily_country_category tables of one business day from the lake")
  .requiredOption("--date <YYYY-MM-DD>", "the business day, in BUSINESS_TZ", dateArg)
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .action(async (options: { date: string }) => {
    const env = loadEnv();
    const lake = configOrExit(lakeEnvSchema, env);
    const window = configOrExit(windowEnvSchema, env);
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
      console.log(`daily_country_category rows=${result.rows.length}`);
      for (const file of result.files) console.log(`wrote ${file}`);
    } catch (error) {
      if (error instanceof QualityCheckError) console.error(`batch:daily: ${error.message}`);
      else console.error(`batch:daily: failed: ${(error as Error).message}`);
      process.exitCode = 1;
    }
  });

await program.parseAsync();
