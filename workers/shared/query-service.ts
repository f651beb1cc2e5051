/**
 * The web's side of the query runner: one QueryRunner per server process (from
 * LAKE_DIR, BUSINESS_TZ, QUERY_TIMEOUT, QUERY_MEMORY_LIMIT), cancellation by a
 * client-chosen query id, the query history (QueryHistory: on disk beside the
 * audit log, the newest HISTORY_SIZE), and the mapping of every query error to an HTTP
 * status and `{ error: { code, message } }` (design.md, "HTTP API").
 */
import { z } from "zod";
import { lakeEnvSchema, queryEnvSchema, readConfig, type QueryConfig } from "../../lib/contract/config.ts";
import { QueryRejectedError } from "../../lib/lake/statement-gate.ts";
import { loadEnv } from "./env.ts";
import { QueryFailedError } from "./lake-query.ts";
import { QueryBusyError, QueryCancelledError, QueryLimitError, QueryProcessError, QueryRunner } from "./query-runner.ts";
import { QUERY_HISTORY_FILE, QueryHistory, type HistoryEntry } from "./query-history.ts";

export const HISTORY_SIZE = 200;
export type { HistoryEntry } from "./query-history.ts";

interface QueryService {
  runner: QueryRunner;
  config: QueryConfig;
  running: Map<string, AbortController>;
  history: QueryHistory;
}

const GLOBAL_KEY = Symbol.for("orderpulse.query-service");

/** The server's one query service; created on first use (Next.js may load this module more than once: the instance lives on globalThis). */
export function queryService(): QueryService {
  const holder = globalThis as unknown as Record<symbol, QueryService | undefined>;
  const existing = holder[GLOBAL_KEY];
  if (existing) return existing;
  const env = loadEnv();
  const lake = readConfig(lakeEnvSchema, env);
  const config = readConfig(queryEnvSchema, env);
  const service: QueryService = {
    runner: new QueryRunner({ lakeDir: lake.lakeDir, businessTz: lake.businessTz, timeoutMs: config.timeoutMs, memoryLimitBytes: config.memoryLimitBytes }),
    config,
    running: new Map(),
    history: new QueryHistory(QUERY_HISTORY_FILE, HISTORY_SIZE, (error) => console.error(`query history: ${error.message}`)),
  };
  holder[GLOBAL_KEY] = service;
  return service;
}

export function recordHistory(entry: HistoryEntry): void {
  queryService().history.record(entry);
}

/** Runs `body` with an AbortSignal that fires on `outer` (the request's) or on a cancel of `id`. */
export async function cancellable<T>(id: string | undefined, outer: AbortSignal, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const { running } = queryService();
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  outer.addEventListener("abort", onAbort, { once: true });
  if (outer.aborted) controller.abort();
  if (id) running.get(id)?.abort();
  if (id) running.set(id, controller);
  try {
    return await body(controller.signal);
  } finally {
    outer.removeEventListener("abort", onAbort);
    if (id && running.get(id) === controller) running.delete(id);
  }
}

/** Cancels the query the client named `id`; false when none runs under that id. */
export function cancelQuery(id: string): boolean {
  const controller = queryService().running.get(id);
  controller?.abort();
  return controller !== undefined;
}

export const queryRequestSchema = z.object({
  sql: z.string().min(1, "sql is empty").max(20_000, "sql is longer than 20000 characters"),
  /** Rows to return; default 1000. */
  limit: z.number().int().min(0).max(100_000).default(1_000),
  /** A client-chosen id that POST /api/query/cancel can name. */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
});

export interface ErrorBody {
  error: { code: string; message: string };
}

/** HTTP status and body for an error a query ended with. Unknown errors are 500 `internal` with their message. */
export function errorResponse(error: unknown): { status: number; body: ErrorBody; headers?: Record<string, string> } {
  const body = (code: string, message: string) => ({ error: { code, message } });
  if (error instanceof QueryRejectedError) return { status: 400, body: body("refused", error.message) };
  if (error instanceof QueryFailedError) return { status: 400, body: body("failed", error.message) };
  if (error instanceof z.ZodError) return { status: 400, body: body("bad_request", error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")) };
  if (error instanceof QueryLimitError) return { status: 422, body: body(error.limit === "time" ? "time_limit" : "memory_limit", error.message) };
  if (error instanceof QueryBusyError) return { status: 429, body: body("busy", error.message), headers: { "Retry-After": "1" } };
  if (error instanceof QueryCancelledError) return { status: 499, body: body("cancelled", error.message) };
  if (error instanceof QueryProcessError) return { status: 503, body: body("unavailable", error.message) };
  return { status: 500, body: body("internal", error instanceof Error ? error.message : String(error)) };
}
