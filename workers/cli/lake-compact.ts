/**
 * `npm run lake:compact -- [options]`: compacts the lake under LAKE_DIR once and
 * prints a `summary …` line. Safe at any time, also while the lake worker runs
 * (it compacts on its own schedule too) and while queries run; killed at any
 * instant, a rerun finishes the job. It rewrites files, so it refuses (exit 3)
 * when LAKE_DIR holds no lake.
 *
 * Exit codes: 0 done; 1 a merge failed or an anomaly was found; 2 bad arguments
 * or configuration; 3 refused: no lake at LAKE_DIR.
 */
import { Option } from "commander";
import { lakeEnvSchema } from "../../lib/contract/config.ts";
import { configOrExit, loadEnv } from "../shared/env.ts";
import { createLogger } from "../shared/log.ts";
import { compactLake, DEFAULT_GRACE_MS, DEFAULT_OFFSETS_PER_FILE } from "../lake/compactor.ts";
import { commandLine, durationArg, wholeNumberArg } from "../shared/cli-args.ts";
import { formatDuration } from "../../lib/contract/duration.ts";
import { EXIT, runMain } from "../shared/entry-point.ts";
import { requireCommittedLake } from "../shared/lake-state.ts";

const program = commandLine("lake:compact", "Merge the lake's small files per (event hour, partition) into files sorted by (event_time, kafka_offset)", {
  environment: ["LAKE_DIR", "LOG_LEVEL"],
  exitCodes: "0 done; 1 a merge failed or an anomaly was found; 2 bad arguments or configuration; 3 refused: no lake at LAKE_DIR (missing, a file, or no commit markers).",
})
  .addOption(new Option("--min-quiet <duration>", "skip a (directory, partition) written to more recently than this, with a unit: 30s, 5m").argParser(durationArg()).default(0, "0 = none"))
  .option("--offsets-per-file <n>", "at most this many offsets per merged file (bounds memory)", wholeNumberArg(1), DEFAULT_OFFSETS_PER_FILE)
  .option("--min-files <n>", "merge only runs of at least this many files", wholeNumberArg(2), 2)
  .addOption(
    new Option("--grace <duration>", "delete merged inputs only once superseded this long, so running queries keep their files; with a unit: 30s, 5m")
      .argParser(durationArg())
      .default(DEFAULT_GRACE_MS, formatDuration(DEFAULT_GRACE_MS)),
  );

async function main(): Promise<void> {
  const options = program.parse().opts<{ minQuiet: number; offsetsPerFile: number; minFiles: number; grace: number }>();
  const lake = configOrExit(lakeEnvSchema, loadEnv());
  const { path } = await requireCommittedLake(lake.lakeDir, "compact");
  const log = createLogger("lake-compact");
  log.info({ lakeDir: path, ...options }, "compacting");
  const summary = await compactLake(lake.lakeDir, { quietMs: options.minQuiet, offsetsPerFile: options.offsetsPerFile, minFiles: options.minFiles, graceMs: options.grace }, { log });
  const fields = Object.entries({ ...summary, ms: Math.round(summary.ms) }).map(([key, value]) => `${key}=${value}`);
  console.log(`summary ${fields.join(" ")}`);
  process.exit(summary.failed > 0 || summary.anomalies > 0 ? EXIT.failure : EXIT.ok);
}

runMain("lake:compact", main);
