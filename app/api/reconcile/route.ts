import { instantRangeSchema } from "../../../lib/web/batch-requests.ts";
import { compareRange } from "../../../workers/batch/reconcile-run.ts";
import { windowRange } from "../../../workers/shared/batch-service.ts";
import { dashboardEnv } from "../../../workers/shared/dashboard-env.ts";
import { respond, searchParams } from "../respond.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/**
 * GET /api/reconcile?from=ISO&to=ISO (at most 7 days) → `{ range, summary, cells: [{ windowStart, partition,
 * expected, actual, mismatches }], offsetGaps, openPartitions }`: the lake replayed through the hot path against
 * InfluxDB, per window and partition, as `npm run reconcile` checks it (money in cents). Read-only.
 */
export function GET(request: Request) {
  return respond(async () => {
    const range = windowRange(instantRangeSchema.parse(searchParams(request)));
    const env = dashboardEnv();
    const comparison = await compareRange(env.lake.lakeDir, env.lake.businessTz, { windowSizeMs: env.window.windowSizeMs, watermarkDelayMs: env.window.watermarkDelayMs }, env.influx(), range);
    return { range, windowSizeMs: env.window.windowSizeMs, ...comparison };
  });
}
