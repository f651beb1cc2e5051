/**
 * GET /api/query.csv?sql=…[&id=…] streams the whole result as CSV (RFC 4180, a
 * header line; null is an empty field), up to QUERY_EXPORT_MAX_ROWS rows. When
 * the result has more, the last line says so: `# stopped at QUERY_EXPORT_MAX_ROWS
 * (N rows); the result has more`. Refused or failing SQL gets the JSON error
 * of POST /api/query with its status; a client that goes away kills the query.
 */
import { z } from "zod";
import { formatCsv } from "../../../lib/cli/text-table.ts";
import type { QueryColumn } from "../../../workers/shared/lake-query.ts";
import { cancellable, errorResponse, queryService, recordHistory } from "../../../workers/shared/query-service.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const csvRequestSchema = z.object({
  sql: z.string().min(1, "sql is empty").max(20_000, "sql is longer than 20000 characters"),
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
});

export async function GET(request: Request): Promise<Response> {
  const at = Date.now();
  const parsed = csvRequestSchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) {
    const { status, body } = errorResponse(parsed.error);
    return Response.json(body, { status });
  }
  const { sql, id } = parsed.data;
  const { runner, config } = queryService();
  const encoder = new TextEncoder();

  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let wantMore: (() => void) | undefined;
  const stream = new ReadableStream<Uint8Array>(
    {
      start: (c) => void (controller = c),
      pull: () => {
        wantMore?.();
        wantMore = undefined;
      },
      cancel: () => abort.abort(),
    },
    { highWaterMark: 4 },
  );
  const abort = new AbortController();
  request.signal.addEventListener("abort", () => abort.abort(), { once: true });
  /** Waits until the client has room (backpressure reaches the query process: the next page waits). */
  const room = () => ((controller.desiredSize ?? 1) > 0 ? Promise.resolve() : new Promise<void>((done) => (wantMore = done)));

  let started!: (columns: QueryColumn[]) => void;
  const header = new Promise<QueryColumn[]>((done) => (started = done));
  let columns: QueryColumn[] = [];
  const run = cancellable(id, abort.signal, (signal) =>
    runner.stream(sql, {
      maxRows: config.exportMaxRows,
      signal,
      onColumns: (c) => {
        columns = c;
        controller.enqueue(encoder.encode(formatCsv(c, [])));
        started(c);
      },
      onRows: async (rows) => {
        await room();
        controller.enqueue(encoder.encode(formatCsv(columns, rows).slice(formatCsv(columns, []).length)));
      },
    }),
  );
  run.then(
    (summary) => {
      if (summary.truncated) controller.enqueue(encoder.encode(`# stopped at QUERY_EXPORT_MAX_ROWS (${config.exportMaxRows} rows); the result has more\n`));
      controller.close();
      recordHistory({ sql, status: "ok", at, durationMs: Date.now() - at, rows: summary.rowCount, kind: "csv" });
    },
    (error: unknown) => {
      recordHistory({ sql, status: errorResponse(error).body.error.code, at, durationMs: Date.now() - at, rows: null, kind: "csv" });
      try {
        controller.error(error);
      } catch {
        // already closed by the client
      }
    },
  );
  // The status is known once the first line is: a refusal or failure before it answers as JSON.
  const first = await Promise.race([header.then(() => undefined), run.then(() => undefined, (error: unknown) => error)]);
  if (first !== undefined) {
    const { status, body, headers } = errorResponse(first);
    return Response.json(body, { status, headers });
  }
  return new Response(stream, {
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": 'attachment; filename="query.csv"',
      "X-Export-Max-Rows": String(config.exportMaxRows),
      "Cache-Control": "no-store",
    },
  });
}
