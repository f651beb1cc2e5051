import { dateRangeSchema } from "../../../../../lib/web/batch-requests.ts";
import { queueBackfill } from "../../../../../workers/shared/batch-service.ts";
import { act } from "../../../respond.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** POST /api/actions/batch/backfill `{ from, to }` → `{ plan, queued }`: queues every missing or failed job of the range, oldest day first; days done are skipped. Audited. */
export function POST(request: Request) {
  let asked = "";
  return act(
    request,
    "batch backfill",
    async () => {
      const { from, to } = dateRangeSchema.parse(await request.json().catch(() => ({})));
      asked = `${from}..${to}`;
      return queueBackfill(from, to, Date.now());
    },
    ({ plan, queued }) => `${asked}: queued ${queued.length} run(s) over ${plan.filter((d) => d.action === "run").length} day(s), skipped ${plan.filter((d) => d.action === "skip").length} day(s) done`,
  );
}
