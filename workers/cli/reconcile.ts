/**
 * `npm run reconcile -- --from ISO --to ISO [--repair]`: checks InfluxDB
 * against the lake, window by window and partition by partition.
 *
 * Expected values: every valid lake row (LAKE_DIR), per partition in offset
 * order, through the hot path's WindowEngine (WINDOW_SIZE, WATERMARK_DELAY);
 * the latest value of each window, and every late or duplicate event. Actual
 * values: InfluxDB (INFLUX_*) via InfluxQL. Compared: order_window revenue,
 * orders, items, customers; order_anomaly count and revenue per kind. The range
 * is widened to whole windows. Idle advances of the hot path are not in the
 * lake (lib/lake-replay.ts), so a partition that went quiet and then received
 * an old event can legitimately differ; and windows still open at the end of
 * the lake are compared with their partial values.
 *
 * --repair deletes the range's window and anomaly points and rewrites them
 * from the lake (workers/batch/influx-repair.ts), then checks again.
 *
 * stdout: the mismatches (window_start, partition, measure, expected, actual)
 * and a `summary status=equal|mismatched …` line (with --repair, one before
 * and one after). stderr: progress and notes.
 * Exit codes: 0 InfluxDB equals the lake (after the repair, with --repair);
 * 1 mismatches remain; 2 bad arguments or configuration; 3 the lake or
 * InfluxDB could not be read or written.
 */
import { Command, Option } from "commander";
import { influxEnvSchema, lakeEnvSchema, windowEnvSchema } from "../../lib/contract/config.ts";
import { alignRange, MISMATCH_COLUMNS, mismatchRows, ReconcileRangeError, summaryLine, type TimeRange } from "../../lib/batch/reconcile.ts";
import { formatTable } from "../../lib/cli/text-table.ts";
import { checkInflux, expectedFromLake, repairInflux, type Check } from "../batch/reconcile-run.ts";
import { configOrExit, loadEnv } from "../shared/env.ts";
import { InfluxSink } from "../shared/influx-sink.ts";
import { instantArg, wholeNumberArg } from "../shared/cli-args.ts";

const EXIT_EQUAL = 0;
const EXIT_MISMATCHED = 1;
const EXIT_USAGE = 2;
const EXIT_FAILED = 3;


interface Options {
  from: number;
  to: number;
  repair: boolean;
  maxReportRows: number;
}

function printReport(phase: string, check: Check, maxRows: number): void {
  const { mismatches } = check;
  if (mismatches.length === 0) {
    console.log(`${phase}: no mismatches`);
  } else {
    console.log(`${phase}: ${mismatches.length} mismatch${mismatches.length === 1 ? "" : "es"}`);
    process.stdout.write(formatTable(MISMATCH_COLUMNS.map((name) => ({ name })), mismatchRows(mismatches.slice(0, maxRows))));
    if (mismatches.length > maxRows) console.log(`… and ${mismatches.length - maxRows} more (--max-report-rows ${maxRows})`);
  }
  console.log(summaryLine(check.summary).replace(/^summary /, `summary phase=${phase} `));
}

async function reconcile(options: Options): Promise<number> {
  const env = loadEnv();
  const lake = configOrExit(lakeEnvSchema, env);
  const window = configOrExit(windowEnvSchema, env);
  const influx = configOrExit(influxEnvSchema, env);
  let range: TimeRange;
  try {
    range = alignRange(options.from, options.to, window.windowSizeMs);
  } catch (error) {
    if (!(error instanceof ReconcileRangeError)) throw error;
    console.error(`reconcile: ${error.message}`);
    return EXIT_USAGE;
  }
  const engine = { windowSizeMs: window.windowSizeMs, watermarkDelayMs: window.watermarkDelayMs };
  console.error(`reconcile: windows starting in [${new Date(range.fromMs).toISOString()}, ${new Date(range.toMs).toISOString()}) against ${influx.url} (${influx.database})`);

  const expected = await expectedFromLake(lake.lakeDir, lake.businessTz, engine, range);
  if (expected.offsetGaps > 0)
    console.error(`reconcile: warning: the lake records ${expected.offsetGaps} offset gap(s) (events Kafka removed before the lake read them): windows around them may differ`);
  if (expected.openPartitions.length > 0) {
    const list = expected.openPartitions.map(({ partition, watermark }) => `${partition} (${watermark === null ? "no data" : new Date(watermark).toISOString()})`);
    console.error(
      `reconcile: note: the lake's watermark is before the range end for partitions ${list.join(", ")}: their windows ending after it are still open in the lake and compared with their partial values`,
    );
  }

  if (options.repair) {
    // A fresh 1.x database is created, so the check before the repair reads an empty one instead of failing.
    const sink = new InfluxSink(influx, { maxBufferedPoints: 1 });
    await sink.init();
    await sink.close();
  }
  const before = await checkInflux(influx, range, expected, window.windowSizeMs);
  printReport(options.repair ? "before-repair" : "check", before, options.maxReportRows);
  if (!options.repair) return before.mismatches.length === 0 ? EXIT_EQUAL : EXIT_MISMATCHED;

  const written = await repairInflux(influx, range, expected, window.windowSizeMs);
  console.error(`reconcile: rewrote ${written} points`);
  const after = await checkInflux(influx, range, expected, window.windowSizeMs);
  printReport("after-repair", after, options.maxReportRows);
  return after.mismatches.length === 0 ? EXIT_EQUAL : EXIT_MISMATCHED;
}

const program = new Command("reconcile")
  .description("Compare InfluxDB with the lake window by window and partition by partition; --repair rewrites InfluxDB from the lake")
  .requiredOption("--from <instant>", "first instant of the range (ISO-8601 or epoch ms)", instantArg)
  .requiredOption("--to <instant>", "end of the range, exclusive (ISO-8601 or epoch ms)", instantArg)
  .option("--repair", "delete and rewrite the range's points from the lake, then check again", false)
  .addOption(new Option("--max-report-rows <n>", "print at most this many mismatches").argParser(wholeNumberArg(0)).default(200))
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE))
  .action(async (options: Options) => {
    try {
      process.exitCode = await reconcile(options);
    } catch (error) {
      console.error(`reconcile: failed: ${(error as Error).message}`);
      process.exitCode = EXIT_FAILED;
    }
  });

await program.parseAsync();
