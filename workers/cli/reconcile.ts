/**
 * `npm run reconcile -- --from ISO --to ISO [--repair]`: checks InfluxDB
 * against the lake, window by window and partition by partition.
 *
 * Expected values: every valid lake row (LAKE_DIR), per partition in offset
 * order, through the hot path's WindowEngine (WINDOW_SIZE, WATERMARK_DELAY);
 * the latest value of each window, and every late or duplicate event. Actual
 * values: InfluxDB (INFLUX_*) via InfluxQL. Compared: order_window revenue,
 * orders, items, customers; order_anomaly count and revenue per kind; every
 * window dimension (country, category, segment) per key. A window's segments
 * are replayed with the dim_customer version it recorded (dims_version;
 * workers/dims/replay-segments.ts), so a repair keeps the live run's. The range
 * is widened to whole windows. Idle advances of the hot path are not in the
 * lake (lib/lake-replay.ts), so a partition that went quiet and then received
 * an old event can legitimately differ; and windows still open at the end of
 * the lake are compared with their partial values.
 *
 * --repair deletes the range's window and anomaly points and rewrites them
 * from the lake (workers/batch/influx-repair.ts), then checks again. Because it
 * deletes, it refuses (exit 3, InfluxDB untouched) when LAKE_DIR holds no lake
 * (missing, a file, or no commit markers), and when InfluxDB has windows in the
 * range for a partition the lake has no row for there (a partial or wrong
 * lake): `--allow-empty` deletes those anyway. Without --repair, a missing or
 * empty lake is said in a note and every InfluxDB window shows as a mismatch.
 *
 * stdout: the mismatches (window_start, partition, measure, expected, actual)
 * and a `summary status=equal|mismatched …` line (with --repair, one before
 * and one after). stderr: progress and notes.
 * Exit codes: 0 InfluxDB equals the lake (after the repair, with --repair);
 * 1 mismatches remain, or the lake or InfluxDB could not be read or written
 * (InfluxDB unreachable for CONNECT_TIMEOUT included); 2 bad arguments or
 * configuration; 3 the repair was refused for safety.
 */
import { resolve } from "node:path";
import { Option } from "commander";
import { connectEnvSchema, influxEnvSchema, lakeEnvSchema, windowEnvSchema } from "../../lib/contract/config.ts";
import { alignRange, MISMATCH_COLUMNS, mismatchRows, partitionsMissingFromLake, ReconcileRangeError, summaryLine, type TimeRange } from "../../lib/batch/reconcile.ts";
import { formatTable } from "../../lib/cli/text-table.ts";
import { checkInflux, expectedFromLake, repairInflux, replayWindowConfig, type Check } from "../batch/reconcile-run.ts";
import { configsOrExit, loadEnv } from "../shared/env.ts";
import { InfluxSink } from "../shared/influx-sink.ts";
import { commandLine, instantArg, wholeNumberArg } from "../shared/cli-args.ts";
import { CommandError, EXIT, exitWithError } from "../shared/entry-point.ts";
import { noteOnLake, requireCommittedLake } from "../shared/lake-state.ts";
import { waitForInflux } from "../shared/startup.ts";

interface Options {
  from: number;
  to: number;
  repair: boolean;
  allowEmpty: boolean;
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
  const { lake, window, influx, connect } = configsOrExit({ lake: lakeEnvSchema, window: windowEnvSchema, influx: influxEnvSchema, connect: connectEnvSchema }, loadEnv());
  let range: TimeRange;
  try {
    range = alignRange(options.from, options.to, window.windowSizeMs);
  } catch (error) {
    if (!(error instanceof ReconcileRangeError)) throw error;
    console.error(`reconcile: ${error.message}`);
    return EXIT.usage;
  }
  // A repair deletes: never from a lake that is not there. A check only reads: say so and go on.
  if (options.repair) await requireCommittedLake(lake.lakeDir, "repair InfluxDB from the lake");
  else {
    const note = await noteOnLake(lake.lakeDir);
    if (note) console.error(`reconcile: ${note}: every window InfluxDB holds in the range will show as a mismatch`);
  }
  await waitForInflux(influx, { name: "reconcile", timeoutMs: connect.connectTimeoutMs });
  const engine = { windowSizeMs: window.windowSizeMs, watermarkDelayMs: window.watermarkDelayMs };
  console.error(`reconcile: windows starting in [${new Date(range.fromMs).toISOString()}, ${new Date(range.toMs).toISOString()}) against ${influx.url} (${influx.database})`);

  if (options.repair) {
    // A fresh 1.x database is created, so the reads before the repair see an empty one instead of failing.
    const sink = new InfluxSink(influx, { maxBufferedPoints: 1 });
    await sink.init();
    await sink.close();
  }
  // The segment breakdown of each window is replayed with the dim_customer version it recorded.
  const { window: replayWindow, missingDimsVersions } = await replayWindowConfig(lake.lakeDir, influx, range, engine);
  if (missingDimsVersions.length > 0)
    console.error(`reconcile: warning: InfluxDB records dim_customer version(s) ${missingDimsVersions.join(", ")} that the lake no longer has: their windows' segments are replayed with the version current at the window's start`);
  const expected = await expectedFromLake(lake.lakeDir, lake.businessTz, replayWindow, range);
  if (expected.offsetGaps > 0)
    console.error(`reconcile: warning: the lake records ${expected.offsetGaps} offset gap(s) (events Kafka removed before the lake read them): windows around them may differ`);
  if (expected.openPartitions.length > 0) {
    const list = expected.openPartitions.map(({ partition, watermark }) => `${partition} (${watermark === null ? "no data" : new Date(watermark).toISOString()})`);
    console.error(
      `reconcile: note: the lake's watermark is before the range end for partitions ${list.join(", ")}: their windows ending after it are still open in the lake and compared with their partial values`,
    );
  }

  const before = await checkInflux(influx, range, expected, window.windowSizeMs);
  printReport(options.repair ? "before-repair" : "check", before, options.maxReportRows);
  if (!options.repair) return before.mismatches.length === 0 ? EXIT.ok : EXIT.failure;

  // Every measurement the repair deletes counts: a partition with only breakdown points is deleted too.
  const cells = (...tables: ReadonlyMap<string, { partition: number }>[]) => new Map<string, { partition: number }>(tables.flatMap((t) => [...t]));
  const orphans = partitionsMissingFromLake(cells(expected.table, expected.breakdowns), cells(before.actual.table, before.actual.breakdowns));
  if (orphans.length > 0 && !options.allowEmpty) {
    throw new CommandError(
      `refusing to repair: InfluxDB has windows in the range for partition${orphans.length === 1 ? "" : "s"} ${orphans.join(", ")}, but the lake has no row for ${orphans.length === 1 ? "it" : "them"} there ` +
        `(LAKE_DIR=${lake.lakeDir === resolve(lake.lakeDir) ? lake.lakeDir : `${lake.lakeDir} (${resolve(lake.lakeDir)})`}); the repair would delete them and write nothing back. ` +
        "Check LAKE_DIR and the range, or pass --allow-empty to delete them anyway",
      EXIT.refused,
    );
  }

  const written = await repairInflux(influx, range, expected, window.windowSizeMs);
  console.error(`reconcile: rewrote ${written} points`);
  const after = await checkInflux(influx, range, expected, window.windowSizeMs);
  printReport("after-repair", after, options.maxReportRows);
  return after.mismatches.length === 0 ? EXIT.ok : EXIT.failure;
}

const program = commandLine("reconcile", "Compare InfluxDB with the lake window by window and partition by partition; --repair rewrites InfluxDB from the lake", {
  environment: ["LAKE_DIR", "BUSINESS_TZ", "WINDOW_SIZE", "WATERMARK_DELAY", "INFLUX_URL", "INFLUX_DB or INFLUX_TOKEN + INFLUX_ORG + INFLUX_BUCKET", "CONNECT_TIMEOUT"],
  exitCodes: "0 InfluxDB equals the lake; 1 mismatches remain, or the lake or InfluxDB could not be read or written; 2 bad arguments or configuration; 3 the repair was refused for safety (InfluxDB untouched).",
})
  .requiredOption("--from <instant>", "first instant of the range (ISO-8601, e.g. 2026-11-20T00:00:00Z, or epoch ms)", instantArg)
  .requiredOption("--to <instant>", "end of the range, exclusive (ISO-8601 or epoch ms)", instantArg)
  .option("--repair", "delete and rewrite the range's points from the lake, then check again (refused without a lake)", false)
  .option("--allow-empty", "with --repair: also delete windows of partitions the lake has no row for in the range", false)
  .addOption(new Option("--max-report-rows <n>", "print at most this many mismatches").argParser(wholeNumberArg(0)).default(200))
  .action(async (options: Options) => {
    try {
      process.exitCode = await reconcile(options);
    } catch (error) {
      exitWithError("reconcile", error);
    }
  });

await program.parseAsync();
