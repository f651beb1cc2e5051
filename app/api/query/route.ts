/**
 * POST /api/query `{ sql, limit?, id? }` → `{ columns: [{ name, type }], rows, rowCount,
 * rowCountExact, truncated, elapsedMs }`, or 4xx/5xx `{ error: { code, message } }`
 * (design.md, "HTTP API"). The query runs in a bounded process (query-runner.ts);
 * a client that goes away, or POST /api/query/cancel with the same id, kills it.
 */
import { cancellable, errorResponse, queryRequestSchema, queryService, recordHistory } from "../../../workers/shared/query-service.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** After `limit` rows, how long the rest of the result is counted for "1,000 of 48,112 rows". */
const COUNT_FOR_MS = 2_000;

export async function POST(request: Request): Promise<Response> {
  const at = Date.now();
  let sql = "";
  try {
    const body = queryRequestSchema.parse(await request.json().catch(() => ({})));
    sql = body.sql;
    const answer = await cancellable(body.id, request.signal, (signal) =>
      queryService().runner.query(body.sql, { maxRows: body.limit, signal, countForMs: COUNT_FOR_MS }),
    );
    recordHistory({ sql, status: "ok", at, durationMs: Date.now() - at, rows: answer.rowCount, kind: "json" });
    return Response.json({
      columns: answer.columns,
      rows: answer.rows,
      rowCount: answer.rowCount,
      rowCountExact: answer.rowCountExact,
      truncated: answer.truncated,
      elapsedMs: answer.elapsedMs,
    });
  } catch (error) {
    const { status, body, headers } = errorResponse(error);
    if (sql) recordHistory({ sql, status: body.error.code, at, durationMs: Date.now() - at, rows: null, kind: "json" });
    return Response.json(body, { status, headers });
  }
}
