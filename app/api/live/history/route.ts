import { spanOf } from "../../../../lib/web/live-queries.ts";
import { dashboardEnv } from "../../../../workers/shared/dashboard-env.ts";
import { readSeries } from "../../../../workers/shared/live-reads.ts";
import { rangeOf, respond } from "../../respond.ts";

export const dynamic = "force-dynamic";

/** GET /api/live/history?range=1h → { fromMs, toMs, bucketMs, windowSizeMs, rows: [{ start, revenue, orders, late, final }] } */
export function GET(request: Request) {
  return respond(async () => {
    const range = rangeOf(request);
    const env = dashboardEnv();
    const span = spanOf(range, Date.now(), env.window.windowSizeMs);
    return { ...span, range, windowSizeMs: env.window.windowSizeMs, rows: await readSeries(env.influx(), span) };
  });
}
