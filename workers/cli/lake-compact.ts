/**
 * `npm run lake:compact -- [options]`: compacts the lake under LAKE_DIR once and
 * prints a `summary …` line. Safe at any time, also while the lake worker runs
 * (it compacts on its own schedule too) and while queries run; killed at any
 * instant, a rerun finishes the job.
 */
import { resolve } from "node:path";
import { Command } from "commander";
import { lakeEnvSchema } from "../../lib/contract/config.ts";
import { configOrExit, loadEnv } from "../shared/env.ts";
import { createLogger } from "../shared/log.ts";
import { compactLake, DEFAULT_GRACE_MS, DEFAULT_OFFSETS_PER_FILE } from "../lake/compactor.ts";
import { InlineEncoder } from "../lake/encoder.ts";
import { durationArg, wholeNumberArg } from "../shared/cli-args.ts";


const program = new Command("lake:compact")
  .description("Merge the lake's small files per (event hour, partition) into files sorted by (event_time, kafka_offset)")
  .option("--min-quiet <d>", "skip a (directory, partition) written to more recently than this, e.g. 5m", durationArg(), 0)
  .option("--offsets-per-file <n>", "at most this many offsets per merged file (bounds memory)", wholeNumberArg(1), DEFAULT_OFFSETS_PER_FILE)
  .option("--min-files <n>", "merge only runs of at least this many files", wholeNumberArg(2), 2)
  .option("--grace <d>", "delete merged inputs only once superseded this long, so running queries keep their files", durationArg(), DEFAULT_GRACE_MS)
  .showHelpAfterError();

async function main(): Promise<void> {
  const options = program.parse().opts<{ minQuiet: number; offsetsPerFile: number; minFiles: number; grace: number }>();
  const lake = configOrExit(lakeEnvSchema, loadEnv());
  const log = createLogger("lake-compact");
  const encoder = new InlineEncoder();
  log.info({ lakeDir: resolve(lake.lakeDir), ...options }, "compacting");
  const summary = await compactLake(lake.lakeDir, { quietMs: options.minQuiet, offsetsPerFile: options.offsetsPerFile, minFiles: options.minFiles, graceMs: options.grace }, { encoder, log });
  await encoder.close();
  const fields = Object.entries({ ...summary, ms: Math.round(summary.ms) }).map(([key, value]) => `${key}=${value}`);
  console.log(`summary ${fields.join(" ")}`);
  process.exit(summary.failed > 0 || summary.anomalies > 0 ? 1 : 0);
}

main().catch((error: Error) => {
  console.error(`lake:compact: ${error.message}`);
  process.exit(1);
});
