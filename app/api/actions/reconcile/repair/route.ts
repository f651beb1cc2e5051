import { instantRangeSchema } from "../../../../../lib/web/batch-requests.ts";
import { queueRepair, windowRange } from "../../../../../workers/shared/batch-service.ts";
import { forgetComparisons } from "../../../../../workers/shared/reconcile-compare.ts";
import { act } from "../../../respond.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/**
 * POST /api/actions/reconcile/repair `{ from, to }` (ISO instants, at most 7 days) → `{ run }`: queues
 * `reconcile --from --to --repair` (widened to whole windows) for the scheduler; follow it at
 * GET /api/batch/runs/:id. Audited.
 */
export function POST(request: Request) {
  return act(
    request,
    "reconcile repair",
    async () => {
      const run = queueRepair(windowRange(instantRangeSchema.parse(await request.json().catch(() => ({})))), Date.now());
      forgetComparisons(); // kept comparisons predate the repair
      return { run };
    },
    ({ run }) => `queued run ${run.id}: reconcile --repair [${new Date(run.range!.fromMs).toISOString()}, ${new Date(run.range!.toMs).toISOString()})`,
  );
}
