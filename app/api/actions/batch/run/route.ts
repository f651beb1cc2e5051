import { runNowSchema } from "../../../../../lib/web/batch-requests.ts";
import { queueRunNow } from "../../../../../workers/shared/batch-service.ts";
import { act } from "../../../respond.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** POST /api/actions/batch/run `{ date, job?: batch_daily|reconcile|all }` → `{ queued: [run] }`: the scheduler runs them next, one at a time. Audited. */
export function POST(request: Request) {
  return act(
    request,
    "batch run-now",
    async () => {
      const { date, job } = runNowSchema.parse(await request.json().catch(() => ({})));
      return { queued: queueRunNow(date, job, Date.now()) };
    },
    ({ queued }) => `queued ${queued.map((r) => `${r.job} ${r.date} (run ${r.id})`).join(", ")}`,
  );
}
