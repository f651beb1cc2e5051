import { runIdSchema } from "../../../../../lib/web/batch-requests.ts";
import { runStore, shownRun } from "../../../../../workers/shared/batch-service.ts";
import { errorResponse, respond } from "../../../respond.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** GET /api/batch/runs/:id → `{ run }` with its log lines (while it runs: its output so far; the lake's path as `$LAKE_DIR`), or 404. */
export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const parsed = runIdSchema.safeParse((await params).id);
  if (!parsed.success) return errorResponse(400, "bad_request", "id: a run id is a whole number ≥ 1");
  const run = runStore().get(parsed.data);
  if (!run) return errorResponse(404, "not_found", `no run ${parsed.data}`);
  return respond(async () => ({ run: shownRun(run) }));
}
