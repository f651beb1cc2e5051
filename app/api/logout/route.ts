import { NextResponse } from "next/server";
import { SESSION_COOKIE } from "../../../lib/web/access.ts";

export const dynamic = "force-dynamic";

/** POST /api/logout → 303 to /login, the session cookie cleared. */
export function POST(request: Request) {
  const response = NextResponse.redirect(new URL("/login", request.url), 303);
  response.cookies.delete(SESSION_COOKIE);
  return response;
}
