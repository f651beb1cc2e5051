import { NextResponse } from "next/server";
import { ZodError } from "zod";
import { ConfigError } from "../../lib/contract/config.ts";

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
