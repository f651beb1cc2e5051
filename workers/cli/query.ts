/**
 * `npm run query -- "SELECT …"`: one SQL query over the lake at LAKE_DIR,
 * through the same read-only sandbox as the Lake page (workers/shared/lake-query.ts:
 * views orders_raw, orders, orders_invalid, daily_kpis, dim_*, lake_files).
 * `-` as the query reads it from stdin.
 *
 * stdout: an aligned table and a row count, or CSV with --csv. stderr: errors,
 * the truncation note, and a note when LAKE_DIR holds no lake (missing, or no
 * commit markers yet): the query then runs over empty views.
 * Exit codes: 0 ran; 1 the query was refused, failed or timed out; 2 bad
 * arguments or configuration (LAKE_DIR a file included).
 */
import { Option } from "commander";
import { lakeEnvSchema } from "../../lib/contract/config.ts";
import { openLake } from "../shared/lake-query.ts";
import { LAKE_VIEWS } from "../../lib/lake/views.ts";
import { formatCsv, formatTable } from "../../lib/cli/text-table.ts";
import { configOrExit, loadEnv } from "../shared/env.ts";
import { commandLine, durationArg, wholeNumberArg } from "../shared/cli-args.ts";
import { EXIT, exitWithError, prefixed } from "../shared/entry-point.ts";
import { noteOnLake } from "../shared/lake-state.ts";

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

const program = commandLine("query", `Run one read-only SQL query over the lake at LAKE_DIR (views: ${LAKE_VIEWS.join(", ")})`, {
  environment: ["LAKE_DIR", "BUSINESS_TZ"],
  exitCodes: "0 ran; 1 the query was refused, failed or timed out; 2 bad arguments or configuration.",
})
  .argument("<sql>", "the query (SELECT, WITH, FROM …, DESCRIBE, SHOW, SUMMARIZE); - reads it from stdin")
  .option("--csv", "print CSV instead of a table", false)
  .addOption(new Option("--max-rows <n>", "print at most this many rows").argParser(wholeNumberArg(1)).default(1_000))
  .addOption(new Option("--timeout <duration>", "stop the query after this long, with a unit: 500ms, 30s, 2m").argParser(durationArg(1)).default(30_000, "30s"))
  .action(async (sqlArgument: string, options: QueryOptions) => {
    const lakeConfig = configOrExit(lakeEnvSchema, loadEnv());
    try {
      const note = await noteOnLake(lakeConfig.lakeDir);
      if (note) console.error(prefixed("query", note));
    } catch (error) {
      exitWithError("query", error);
    }
    const sql = sqlArgument === "-" ? await readStdin() : sqlArgument;
    let lake;
    try {
      lake = await openLake(lakeConfig.lakeDir, { timeoutMs: options.timeout, maxRows: options.maxRows, businessTz: lakeConfig.businessTz });
    } catch (error) {
      console.error(`query: cannot open the lake at ${lakeConfig.lakeDir}: ${(error as Error).message}`);
      process.exitCode = EXIT.failure;
      return;
    }
    try {
      const result = await lake.query(sql);
      process.stdout.write(options.csv ? formatCsv(result.columns, result.rows) : formatTable(result.columns, result.rows));
      const count = `${result.rows.length} row${result.rows.length === 1 ? "" : "s"}`;
      if (!options.csv) process.stdout.write(`(${count}${result.truncated ? `; more were cut off by --max-rows ${options.maxRows}` : ""})\n`);
      else if (result.truncated) console.error(`query: output cut off after ${count} (--max-rows ${options.maxRows})`);
    } catch (error) {
      // The sandbox's errors say `query refused: …`, `query failed: …`, `query stopped …`: not prefixed twice.
      console.error(prefixed("query", (error as Error).message));
      process.exitCode = EXIT.failure;
    } finally {
      lake.close();
    }
  });

await program.parseAsync();
