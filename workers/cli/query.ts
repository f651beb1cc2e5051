/**
 * `npm run query -- "SELECT …"`: one SQL query over the lake at LAKE_DIR,
 * through the same query runner as the Lake page (workers/shared/query-runner.ts:
 * a separate process bounded in time and memory, over the read-only sandbox of
 * workers/shared/lake-query.ts: views orders_raw, orders, orders_invalid,
 * daily_kpis, revenue_by_*, dim_customer, dim_product, orders_enriched, lake_files). `-` as the query reads it from stdin. SQL that
 * starts with a `-- comment` is the query, not an option.
 *
 * stdout: an aligned table and a row count, or CSV with --csv. stderr: errors,
 * the truncation note, and a note when LAKE_DIR holds no lake (missing, or no
 * commit markers yet): the query then runs over empty views. Ctrl-C kills the
 * query's process at once.
 * Exit codes: 0 ran; 1 the query was refused, failed or stopped at a limit;
 * 2 bad arguments or configuration (LAKE_DIR a file included); 130 interrupted.
 */
import { InvalidArgumentError, Option } from "commander";
import { lakeEnvSchema, queryEnvSchema } from "../../lib/contract/config.ts";
import { formatByteSize, parseByteSize } from "../../lib/contract/byte-size.ts";
import { formatDuration } from "../../lib/contract/duration.ts";
import { LAKE_VIEWS } from "../../lib/lake/views.ts";
import { formatCsv, formatTable } from "../../lib/cli/text-table.ts";
import { configOrExit, loadEnv } from "../shared/env.ts";
import { commandLine, durationArg, sqlAfterSeparator, wholeNumberArg } from "../shared/cli-args.ts";
import { EXIT, exitWithError, prefixed } from "../shared/entry-point.ts";
import { noteOnLake } from "../shared/lake-state.ts";
import { QueryCancelledError, QueryRunner } from "../shared/query-runner.ts";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const byteSizeArg = (text: string): number => {
  try {
    return parseByteSize(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};

interface QueryOptions {
  csv: boolean;
  maxRows: number;
  timeout: number;
  memoryLimit: number;
}

const env = loadEnv();
const limits = configOrExit(queryEnvSchema, env);

const program = commandLine("query", `Run one read-only SQL query over the lake at LAKE_DIR (views: ${LAKE_VIEWS.join(", ")})`, {
  environment: ["LAKE_DIR", "BUSINESS_TZ", "QUERY_TIMEOUT", "QUERY_MEMORY_LIMIT"],
  exitCodes: "0 ran; 1 the query was refused, failed or stopped at a limit; 2 bad arguments or configuration; 130 interrupted.",
})
  .argument("<sql>", "the query (SELECT, WITH, FROM …, PIVOT, DESCRIBE, SHOW, SUMMARIZE); - reads it from stdin")
  .option("--csv", "print CSV instead of a table", false)
  .addOption(new Option("--max-rows <n>", "print at most this many rows").argParser(wholeNumberArg(1)).default(1_000))
  .addOption(
    new Option("--timeout <duration>", "stop the query after this long, with a unit: 500ms, 30s, 2m (QUERY_TIMEOUT)")
      .argParser(durationArg(100))
      .default(limits.timeoutMs, formatDuration(limits.timeoutMs)),
  )
  .addOption(
    new Option("--memory-limit <size>", "stop the query when its process holds more, e.g. 2GB (QUERY_MEMORY_LIMIT)")
      .argParser(byteSizeArg)
      .default(limits.memoryLimitBytes, formatByteSize(limits.memoryLimitBytes).replace(" ", "")),
  )
  .action(async (sqlArgument: string, options: QueryOptions) => {
    const lakeConfig = configOrExit(lakeEnvSchema, env);
    try {
      const note = await noteOnLake(lakeConfig.lakeDir);
      if (note) console.error(prefixed("query", note));
    } catch (error) {
      exitWithError("query", error);
    }
    const sql = sqlArgument === "-" ? await readStdin() : sqlArgument;
    const runner = new QueryRunner({
      lakeDir: lakeConfig.lakeDir,
      businessTz: lakeConfig.businessTz,
      timeoutMs: options.timeout,
      memoryLimitBytes: options.memoryLimit,
      concurrency: 1,
      spares: 0,
    });
    const interrupt = new AbortController();
    const onSigint = () => interrupt.abort();
    process.once("SIGINT", onSigint);
    try {
      const result = await runner.query(sql, { maxRows: options.maxRows, signal: interrupt.signal });
      process.stdout.write(options.csv ? formatCsv(result.columns, result.rows) : formatTable(result.columns, result.rows));
      const count = `${result.rows.length} row${result.rows.length === 1 ? "" : "s"}`;
      if (!options.csv) process.stdout.write(`(${count}${result.truncated ? `; more were cut off by --max-rows ${options.maxRows}` : ""})\n`);
      else if (result.truncated) console.error(`query: output cut off after ${count} (--max-rows ${options.maxRows})`);
    } catch (error) {
      if (error instanceof QueryCancelledError) {
        console.error("query: interrupted; the query was stopped");
        process.exitCode = 130;
      } else {
        // The runner's errors say `query refused: …`, `query failed: …`, `query stopped …`: not prefixed twice.
        console.error(prefixed("query", (error as Error).message));
        process.exitCode = EXIT.failure;
      }
    } finally {
      process.off("SIGINT", onSigint);
      runner.close();
    }
  });

await program.parseAsync(sqlAfterSeparator(process.argv.slice(2)), { from: "user" });
