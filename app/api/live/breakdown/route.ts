import { spanOf } from "../../../../lib/web/live-queries.ts";
import { dashboardEnv } from "../../../../workers/shared/dashboard-env.ts";
import { readBreakdowns } from "../../../../workers/shared/live-reads.ts";
import { rangeOf, respond } from "../../respond.ts";

export const dynamic = "force-dynamic";

/** GET /api/live/breakdown?range=1h → { country: [{ key, revenue, orders }], category: [...], segment: [...] } (on-time values; one key per window dimension) */
export function GET(request: Request) {
  return respond(async () => {
    const range = rangeOf(request);
    const env = dashboardEnv();
    return readBreakdowns(env.influx(), spanOf(range, Date.now(), env.window.windowSizeMs));
  });
}
