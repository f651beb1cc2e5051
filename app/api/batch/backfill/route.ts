import { dateRangeSchema } from "../../../../lib/web/batch-requests.ts";
import { previewBackfill } from "../../../../workers/shared/batch-service.ts";
import { respond, searchParams } from "../../respond.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** GET /api/batch/backfill?from=YYYY-MM-DD&to=YYYY-MM-DD → `{ plan: [{ date, action: run|skip, jobs, state }] }`: what POST /api/actions/batch/backfill would queue. */
export function GET(request: Request) {
  return respond(async () => {
    const { from, to } = dateRangeSchema.parse(searchParams(request));
    return { plan: previewBackfill(from, to) };
  });
}
