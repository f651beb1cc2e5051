import { buildTiles } from "../../../../lib/web/tiles.ts";
import { dashboardEnv } from "../../../../workers/shared/dashboard-env.ts";
import { readTileFigures } from "../../../../workers/shared/live-reads.ts";
import { respond } from "../../respond.ts";

export const dynamic = "force-dynamic";

const DAY_MS = 86_400_000;

/** GET /api/live/tiles → { businessTz, tiles: [{ key, label, value, unit, yesterday, changePct }] } */
export function GET() {
  return respond(async () => {
    const env = dashboardEnv();
    const influx = env.influx();
    const now = Date.now();
    const [today, yesterday] = await Promise.all([
      readTileFigures(influx, now, env.lake.businessTz, env.window.windowSizeMs),
      readTileFigures(influx, now - DAY_MS, env.lake.businessTz, env.window.windowSizeMs),
    ]);
    return { businessTz: env.lake.businessTz, tiles: buildTiles(today, yesterday, env.lake.businessTz) };
  });
}
