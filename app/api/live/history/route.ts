import { z } from "zod";
import { rangeSchema, spanOf } from "../../../../lib/web/live-queries.ts";
import { dashboardEnv } from "../../../../workers/shared/dashboard-env.ts";
import { readSeries } from "../../../../workers/shared/live-reads.ts";
import { respond } from "../../respond.ts";

export const dynamic = "force-dynamic";

const query = z.object({ range: rangeSchema });

/** GET /api/live/history?range=1h → { fromMs, toMs, bucketMs, windowSizeMs, rows: [{ start, revenue, orders, late, final }] } */
export function GET(request: Request) {
  return respond(async () => {
    const { range } = query.parse(Object.fromEntries(new URL(request.url).searchParams));
    const env = dashboardEnv();
    const span = spanOf(range, Date.now(), env.window.windowSizeMs);
    return { ...span, range, windowSizeMs: env.window.windowSizeMs, rows: await readSeries(env.influx(), span) };
  });
}
