/**
 * `npm run export [-- --out artifacts]`: the lake at LAKE_DIR as
 * `<out>/orderpulse.duckdb` (tables orders, orders_invalid, daily_kpis, and the
 * gold tables when batch:daily has run) plus one CSV per table, written
 * atomically (workers/batch/export-lake.ts). It replaces the previous export, so
 * it refuses (exit 3, nothing written) when LAKE_DIR holds no lake: an empty
 * export over a good one would look like data loss.
 *
 * stdout: each table with its row count, and the files. stderr: progress.
 * Exit codes: 0 written; 1 the lake could not be read or the files written;
 * 2 bad arguments or configuration; 3 refused: no lake at LAKE_DIR.
 */
import { lakeEnvSchema } from "../../lib/contract/config.ts";
import { exportLake } from "../batch/export-lake.ts";
import { configOrExit, loadEnv } from "../shared/env.ts";
import { commandLine } from "../shared/cli-args.ts";
import { EXIT, exitWithError } from "../shared/entry-point.ts";
import { requireCommittedLake } from "../shared/lake-state.ts";

const program = commandLine("export", "Export the lake at LAKE_DIR as a DuckDB database file and CSVs", {
  environment: ["LAKE_DIR", "BUSINESS_TZ"],
  exitCodes: "0 written; 1 the lake could not be read or the files written; 2 bad arguments or configuration; 3 refused: no lake at LAKE_DIR (missing, a file, or no commit markers).",
})
  .option("--out <dir>", "directory to write orderpulse.duckdb and the CSVs into", "artifacts")
  .action(async (options: { out: string }) => {
    const lake = configOrExit(lakeEnvSchema, loadEnv());
    try {
      await requireCommittedLake(lake.lakeDir, "export");
    } catch (error) {
      exitWithError("export", error);
    }
    try {
      const result = await exportLake({ lakeDir: lake.lakeDir, outDir: options.out, businessTz: lake.businessTz });
      for (const table of result.tables) console.log(`table ${table.name} rows=${table.rows} csv=${table.csv}`);
      console.log(`wrote ${result.database}`);
    } catch (error) {
      console.error(`export: failed: ${(error as Error).message}`);
      process.exitCode = EXIT.failure;
    }
  });

await program.parseAsync();
