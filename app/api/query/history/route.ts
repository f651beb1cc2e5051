/** GET /api/query/history → `{ entries: [{ sql, status, at, durationMs, rows, kind }] }`, newest first (kept across restarts, the newest 200). */
import { queryService } from "../../../../workers/shared/query-service.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export function GET(): Response {
  return Response.json({ entries: queryService().history.entries });
}
