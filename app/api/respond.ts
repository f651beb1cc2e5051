import { NextResponse } from "next/server";
import { z, ZodError } from "zod";
import { ConfigError } from "../../lib/contract/config.ts";
import { rangeSchema, type RangeName } from "../../lib/web/live-queries.ts";

/** The API's error body: `{ error: { code, message } }` (README "HTTP API"). */
export function errorResponse(status: number, code: string, message: string): NextResponse {
  return NextResponse.json({ error: { code, message } }, { status, headers: { "cache-control": "no-store" } });
}

/** Runs a handler; bad input answers 400, bad configuration 500 naming the variable, anything else 502 (an upstream failed). */
export async function respond(handler: () => Promise<unknown>): Promise<NextResponse> {
  try {
    return NextResponse.json(await handler(), { headers: { "cache-control": "no-store" } });
  } catch (error) {
    if (error instanceof ZodError) return errorResponse(400, "bad_request", error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; "));
    if (error instanceof ConfigError) return errorResponse(500, "config", error.message);
    return errorResponse(502, "upstream", (error as Error).message);
  }
}

const rangeQuery = z.object({ range: rangeSchema });

/** The `range` query parameter (15m, 1h, 6h, 24h, 7d; default 1h); throws ZodError (answered 400) otherwise. */
export function rangeOf(request: Request): RangeName {
  return rangeQuery.parse(Object.fromEntries(new URL(request.url).searchParams)).range;
}
