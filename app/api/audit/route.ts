import { z } from "zod";
import { readAudit } from "../../../workers/shared/audit-log.ts";
import { respond, searchParams } from "../respond.ts";

export const dynamic = "force-dynamic";

const query = z.object({ limit: z.coerce.number().int().min(1).max(1_000).default(100), reads: z.enum(["true", "false"]).default("true") });

/** Reading the audit log is audited too (README "Access control"); a page that polls it hides those entries with `reads=false`. */
const AUDIT_READ = "GET /api/audit";

/** GET /api/audit?limit=100&reads=true|false → { entries: [{ at, who, what, outcome, detail? }] }, newest first; `reads=false` leaves out reads of the audit log itself. */
export function GET(request: Request) {
  return respond(async () => {
    const { limit, reads } = query.parse(searchParams(request));
    return { entries: await readAudit(limit, undefined, reads === "true" ? undefined : (e) => e.what !== AUDIT_READ) };
  });
}
