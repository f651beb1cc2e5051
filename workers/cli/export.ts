/**
 * `npm run export [-- --out artifacts]`: the lake at LAKE_DIR as
 * `<out>/orderpulse.duckdb` (tables orders, orders_invalid, daily_kpis, and the
 * gold tables when batch:daily has run) plus one CSV per table, written
 * atomically (workers/batch/export-lake.ts).
 *
 * stdout: each table with its row count, and the files. stderr: progress.
 * Exit codes: 0 written; 1 the lake could not be read or the files written;
 * 2 bad arguments or configuration.
 */
import { Command } from "commander";
import { lakeEnvSchema } from "../../lib/contract/config.ts";
import { exportLake } from "../batch/export-lake.ts";
import { configOrExit, loadEnv } from "../shared/env.ts";

const program = new Command("export")
  .description("Export the lake as a DuckDB database file and CSVs")
  .option("--out <dir>", "directory to write into", "artifacts")
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .action(async (options: { out: string }) => {
    const lake = configOrExit(lakeEnvSchema, loadEnv());
    try {
      const result = await exportLake({ lakeDir: lake.lakeDir, outDir: options.out, businessTz: lake.businessTz });
      for (const table of result.tables) console.log(`table ${table.name} rows=${table.rows} csv=${table.csv}`);
      console.log(`wrote ${result.database}`);
    } catch (error) {
      console.error(`export: failed: ${(error as Error).message}`);
      process.exitCode = 1;
    }
  });

await program.parseAsync();
