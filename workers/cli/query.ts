/**
 * `npm run query -- "SELECT …"`: one SQL query over the lake at LAKE_DIR,
 * through the same read-only sandbox as the Lake page (lib/lake-query.ts:
 * views orders_raw, orders, orders_invalid, daily_kpis, dim_*, lake_files).
 * `-` as the query reads it from stdin.
 *
 * stdout: an aligned table and a row count, or CSV with --csv. stderr: errors
 * and the truncation note.
 * Exit codes: 0 ran; 1 the query was refused, failed or timed out; 2 bad
 * arguments or configuration.
 */
import { Command, Option } from "commander";
import { lakeEnvSchema } from "../../lib/contract/config.ts";
import { openLake, QueryFailedError, QueryTimeoutError } from "../shared/lake-query.ts";
import { LAKE_VIEWS } from "../../lib/lake/views.ts";
import { QueryRejectedError } from "../../lib/lake/statement-gate.ts";
import { formatCsv, formatTable } from "../../lib/cli/text-table.ts";
import { configOrExit, loadEnv } from "../shared/env.ts";
import { durationArg, wholeNumberArg } from "../shared/cli-args.ts";


async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

interface QueryOptions {
  csv: boolean;
  maxRows: number;
  timeout: number;
}

const program = new Command("query")
  .description(`Run one read-only SQL query over the lake (views: ${LAKE_VIEWS.join(", ")})`)
  .argument("<sql>", "the query (SELECT, WITH, FROM …, DESCRIBE, SHOW, SUMMARIZE); - reads it from stdin")
  .option("--csv", "print CSV instead of a table", false)
  .addOption(new Option("--max-rows <n>", "print at most this many rows").argParser(wholeNumberArg(1)).default(1_000))
  .addOption(new Option("--timeout <duration>", "stop the query after this long, e.g. 30s").argParser(durationArg(1)).default(30_000, "30s"))
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .action(async (sqlArgument: string, options: QueryOptions) => {
    const lakeConfig = configOrExit(lakeEnvSchema, loadEnv());
    const sql = sqlArgument === "-" ? await readStdin() : sqlArgument;
    let lake;
    try {
      lake = await openLake(lakeConfig.lakeDir, { timeoutMs: options.timeout, maxRows: options.maxRows, businessTz: lakeConfig.businessTz });
    } catch (error) {
      console.error(`query: cannot open the lake at ${lakeConfig.lakeDir}: ${(error as Error).message}`);
      process.exitCode = 1;
      return;
    }
    try {
      const result = await lake.query(sql);
      process.stdout.write(options.csv ? formatCsv(result.columns, result.rows) : formatTable(result.columns, result.rows));
      const count = `${result.rows.length} row${result.rows.length === 1 ? "" : "s"}`;
      if (!options.csv) process.stdout.write(`(${count}${result.truncated ? `; more were cut off by --max-rows ${options.maxRows}` : ""})\n`);
      else if (result.truncated) console.error(`query: output cut off after ${count} (--max-rows ${options.maxRows})`);
    } catch (error) {
      if (error instanceof QueryRejectedError || error instanceof QueryTimeoutError || error instanceof QueryFailedError) console.error(error.message);
      else console.error(`query: failed: ${(error as Error).message}`);
      process.exitCode = 1;
    } finally {
      lake.close();
    }
  });

await program.parseAsync();
