import { z } from "zod";
import { DAILY_KPIS_TABLE } from "../../../../lib/batch/daily-kpis.ts";
import { businessDateSchema } from "../../../../lib/web/batch-requests.ts";
import { readGoldDay } from "../../../../workers/batch/gold-reads.ts";
import { dashboardEnv } from "../../../../workers/shared/dashboard-env.ts";
import { respond, searchParams } from "../../respond.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const query = z.object({ date: businessDateSchema });

/** GET /api/batch/kpis?date=YYYY-MM-DD → `{ table: "daily_kpis", date, computedAt (epoch ms | null), columns, rows }`: the gold row batch:daily wrote. */
export function GET(request: Request) {
  return respond(async () => {
    const { date } = query.parse(searchParams(request));
    return readGoldDay(dashboardEnv().lake.lakeDir, DAILY_KPIS_TABLE, date);
  });
}
