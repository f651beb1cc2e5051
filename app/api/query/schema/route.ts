/**
 * GET /api/query/schema → `{ views: [{ name, rows, columns: [{ name, type }] }] }`: the
 * lake's views for the schema browser and the editor's completion, through the
 * same runner as every query.
 */
import { LAKE_VIEWS } from "../../../../lib/lake/views.ts";
import { errorResponse, queryService } from "../../../../workers/shared/query-service.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(request: Request): Promise<Response> {
  try {
    const { runner } = queryService();
    const columns = await runner.query(
      `SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal AND table_name IN (${LAKE_VIEWS.map((v) => `'${v}'`).join(", ")}) ORDER BY table_name, column_index`,
      { maxRows: 10_000, signal: request.signal },
    );
    const counts = await runner.query(LAKE_VIEWS.map((v) => `SELECT '${v}' AS name, count(*) AS n FROM ${v}`).join(" UNION ALL "), {
      maxRows: LAKE_VIEWS.length,
      signal: request.signal,
    });
    const rows = new Map(counts.rows.map(([name, n]) => [String(name), Number(n)]));
    const views = LAKE_VIEWS.map((name) => ({
      name,
      rows: rows.get(name) ?? null,
      columns: columns.rows.filter(([table]) => table === name).map(([, column, type]) => ({ name: String(column), type: String(type) })),
    }));
    return Response.json({ views });
  } catch (error) {
    const { status, body, headers } = errorResponse(error);
    return Response.json(body, { status, headers });
  }
}
