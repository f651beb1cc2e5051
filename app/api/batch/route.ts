import { overviewQuerySchema } from "../../../lib/web/batch-requests.ts";
import { batchOverview } from "../../../workers/shared/batch-service.ts";
import { respond, searchParams } from "../respond.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/**
 * GET /api/batch?days=14 → BatchOverview (workers/shared/batch-service.ts): `{ at, businessTz, today,
 * scheduler: { running, owner, renewedAt }, grid: [{ date, jobs: { batch_daily, reconcile } }], recent, queued, current }`;
 * runs without their log.
 */
export function GET(request: Request) {
  return respond(async () => {
    const { days } = overviewQuerySchema.parse(searchParams(request));
    return batchOverview(Date.now(), days);
  });
}
