/** GET /api/query/history → `{ entries: [{ sql, status, at, durationMs, rows, kind }] }`, newest first (this server's, since it started). */
import { queryService } from "../../../../workers/shared/query-service.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export function GET(): Response {
  return Response.json({ entries: queryService().history });
}
