import { cancelAfterCurrentDay } from "../../../../../workers/shared/batch-service.ts";
import { act } from "../../../respond.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** POST /api/actions/batch/cancel → `{ skipped, finishing }`: queued runs are skipped, except the rest of the day running now (`finishing`). Audited. */
export function POST(request: Request) {
  return act(
    request,
    "batch cancel",
    async () => cancelAfterCurrentDay(Date.now()),
    ({ skipped, finishing }) => `skipped ${skipped} queued run(s)${finishing ? `; ${finishing} finishes` : ""}`,
  );
}
