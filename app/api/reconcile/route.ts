import { instantRangeSchema } from "../../../lib/web/batch-requests.ts";
import { z } from "zod";
import { windowRange } from "../../../workers/shared/batch-service.ts";
import { compareRangeBounded } from "../../../workers/shared/reconcile-compare.ts";
import { dashboardEnv } from "../../../workers/shared/dashboard-env.ts";
import { respond, searchParams } from "../respond.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const freshSchema = z.object({ fresh: z.enum(["0", "1"]).optional() });

/**
 * GET /api/reconcile?from=ISO&to=ISO[&fresh=1] (at most 7 days) → `{ range, windowSizeMs, computedAt, summary,
 * cells: [{ windowStart, partition, expected, actual, mismatches }], offsetGaps, openPartitions }`: the lake replayed
 * through the hot path against InfluxDB, per window and partition, as `npm run reconcile` checks it (money in cents).
 * Read-only. One compare at a time per server: another range meanwhile answers 429 `busy` (Retry-After: 1); a result
 * answers the same range for 10 s (`computedAt` says when it was computed) unless `fresh=1`
 * (workers/shared/reconcile-compare.ts).
 */
export function GET(request: Request) {
  return respond(async () => {
    const params = searchParams(request);
    const range = windowRange(instantRangeSchema.parse(params));
    const fresh = freshSchema.parse(params).fresh === "1";
    const env = dashboardEnv();
    const { value, computedAt } = await compareRangeBounded(env, range, fresh);
    return { range, windowSizeMs: env.window.windowSizeMs, computedAt: new Date(computedAt).toISOString(), ...value };
  });
}
