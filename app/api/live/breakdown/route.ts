import { z } from "zod";
import { rangeSchema, spanOf } from "../../../../lib/web/live-queries.ts";
import { dashboardEnv } from "../../../../workers/shared/dashboard-env.ts";
import { readBreakdowns } from "../../../../workers/shared/live-reads.ts";
import { respond } from "../../respond.ts";

export const dynamic = "force-dynamic";

const query = z.object({ range: rangeSchema });

/** GET /api/live/breakdown?range=1h → { country: [{ key, revenue, orders }], category: [...] } (on-time values) */
export function GET(request: Request) {
  return respond(async () => {
    const { range } = query.parse(Object.fromEntries(new URL(request.url).searchParams));
    const env = dashboardEnv();
    return readBreakdowns(env.influx(), spanOf(range, Date.now(), env.window.windowSizeMs));
  });
}
