/**
 * One query process of the query runner (query-runner.ts): a sandboxed lake
 * snapshot (lake-query.ts) that runs one query at a time on request over the
 * IPC channel and sends its rows back in pages, each acknowledged before the
 * next (backpressure: the runner holds at most one page per query in flight).
 *
 * The runner bounds this process from outside (address space via RLIMIT_DATA,
 * resident memory watched, a wall-clock kill), so nothing here has to be
 * trusted to stop a runaway query. It exits when the runner goes away.
 *
 * The working directory is the lake (when it exists), so the sandbox names
 * files relative to it and no query can learn the server's paths.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { QueryRejectedError } from "../../lib/lake/statement-gate.ts";
import { openLake, QueryFailedError, QueryTimeoutError, type Lake } from "./lake-query.ts";
import type { ChildMessage, ParentMessage } from "./query-protocol.ts";

const lakeDir = resolve(process.env.QUERY_LAKE_DIR ?? "lake");
const businessTz = process.env.QUERY_BUSINESS_TZ ?? "UTC";
const timeoutMs = Number(process.env.QUERY_TIMEOUT_MS ?? 30_000);
const duckdbMemory = process.env.QUERY_DUCKDB_MEMORY ?? "1GB";

const send = (message: ChildMessage): Promise<void> =>
  new Promise((done, fail) => process.send!(message, undefined, {}, (error) => (error ? fail(error) : done())));

/** Acknowledgements of pages, by query id. */
const acks = new Map<number, () => void>();

// The runner is our only reason to exist.
process.on("disconnect", () => process.exit(0));

// A lake folder that does not exist yet is an empty lake; chdir once it appears.
if (existsSync(lakeDir)) process.chdir(lakeDir);

let lake: Lake;
try {
  lake = await openLake(lakeDir, { timeoutMs, maxRows: 0, businessTz, memoryLimit: duckdbMemory, threads: 2, lakeRelativePaths: true, refreshIntervalMs: 1_000 });
} catch (error) {
  await send({ type: "fatal", message: `cannot open the lake: ${(error as Error).message.replaceAll(`${lakeDir}/`, "")}` });
  process.exit(1);
}

async function run(message: Extract<ParentMessage, { type: "run" }>): Promise<void> {
  const { id } = message;
  try {
    if (existsSync(lakeDir) && process.cwd() !== lakeDir) {
      process.chdir(lakeDir);
      await lake.refresh();
    }
    const summary = await lake.stream(message.sql, {
      maxRows: message.maxRows,
      pageRows: message.pageRows,
      countForMs: message.countForMs,
      onColumns: (columns) => send({ type: "columns", id, columns }),
      onRows: async (rows) => {
        const acked = new Promise<void>((done) => acks.set(id, done));
        await send({ type: "rows", id, rows });
        await acked;
      },
    });
    await send({ type: "done", id, rowCount: summary.rowCount, rowCountExact: summary.rowCountExact, truncated: summary.truncated });
  } catch (error) {
    const kind =
      error instanceof QueryRejectedError
        ? "refused"
        : error instanceof QueryTimeoutError
          ? "time"
          : error instanceof QueryFailedError && /out of memory|bad allocation|failed to allocate/i.test(error.duckdbMessage)
            ? "memory"
            : error instanceof QueryFailedError
              ? "failed"
              : "internal";
    const text = error instanceof QueryRejectedError ? error.reason : error instanceof QueryFailedError ? error.duckdbMessage : (error as Error).message;
    await send({ type: "error", id, kind, message: text });
  } finally {
    acks.delete(id);
  }
}

process.on("message", (message: ParentMessage) => {
  if (message.type === "run") void run(message);
  else if (message.type === "ack") acks.get(message.id)?.();
});
await send({ type: "ready" });
