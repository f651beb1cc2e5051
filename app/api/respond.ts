import { NextResponse } from "next/server";
import { z, ZodError } from "zod";
import { ConfigError } from "../../lib/contract/config.ts";
import { BusinessDayError } from "../../lib/contract/business-day.ts";
import { ReconcileBusyError, ReconcileRangeError } from "../../lib/batch/reconcile.ts";
import { ScheduleError } from "../../lib/ops/schedule.ts";
import { WHO_HEADER } from "../../lib/web/access.ts";
import { appendAudit } from "../../workers/shared/audit-log.ts";
import { rangeSchema, type RangeName } from "../../lib/web/live-queries.ts";

/** The API's error body: `{ error: { code, message } }` (README "HTTP API"). */
export function errorResponse(status: number, code: string, message: string): NextResponse {
  return NextResponse.json({ error: { code, message } }, { status, headers: { "cache-control": "no-store" } });
}

/** Runs a handler; bad input answers 400, a busy reconciliation compare 429, bad configuration 500 naming the variable, anything else 502 (an upstream failed). */
export async function respond(handler: () => Promise<unknown>): Promise<NextResponse> {
  try {
    return NextResponse.json(await handler(), { headers: { "cache-control": "no-store" } });
  } catch (error) {
    if (error instanceof ZodError) return errorResponse(400, "bad_request", error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; "));
    if (error instanceof ScheduleError || error instanceof ReconcileRangeError || error instanceof BusinessDayError) return errorResponse(400, "bad_request", error.message);
    if (error instanceof ReconcileBusyError) {
      const busy = errorResponse(429, "busy", error.message);
      busy.headers.set("Retry-After", "1");
      return busy;
    }
    if (error instanceof ConfigError) return errorResponse(500, "config", error.message);
    return errorResponse(502, "upstream", (error as Error).message);
  }
}

const rangeQuery = z.object({ range: rangeSchema });

/** The query string as an object, for a zod schema. */
export const searchParams = (request: Request) => Object.fromEntries(new URL(request.url).searchParams);

/** The `range` query parameter (15m, 1h, 6h, 24h, 7d; default 1h); throws ZodError (answered 400) otherwise. */
export function rangeOf(request: Request): RangeName {
  return rangeQuery.parse(searchParams(request)).range;
}

/**
 * An action route (under /api/actions/, so loopback-only without DASHBOARD_TOKEN): runs it like
 * `respond`, and writes its outcome to the audit log (who, what, ok or failed, and `detail` of
 * the answer or the error), beside the proxy's "allowed" entry.
 */
export function act<T>(request: Request, what: string, handler: () => Promise<T>, detail: (answer: T) => string): Promise<NextResponse> {
  const who = request.headers.get(WHO_HEADER) ?? "unknown";
  return respond(async () => {
    let answer: T;
    try {
      answer = await handler();
    } catch (error) {
      await appendAudit({ who, what, outcome: "failed", detail: (error as Error).message });
      throw error;
    }
    await appendAudit({ who, what, outcome: "ok", detail: detail(answer) });
    return answer;
  });
}
