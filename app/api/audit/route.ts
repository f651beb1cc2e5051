import { z } from "zod";
import { readAudit } from "../../../workers/shared/audit-log.ts";
import { respond } from "../respond.ts";

export const dynamic = "force-dynamic";

const query = z.object({ limit: z.coerce.number().int().min(1).max(1_000).default(100) });

/** GET /api/audit?limit=100 → { entries: [{ at, who, what, outcome, detail? }] }, newest first. */
export function GET(request: Request) {
  return respond(async () => {
    const { limit } = query.parse(Object.fromEntries(new URL(request.url).searchParams));
    return { entries: await readAudit(limit) };
  });
}
