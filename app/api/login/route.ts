import { NextResponse } from "next/server";
import { z } from "zod";
import { safeReturnPath, sameSecret, SESSION_COOKIE } from "../../../lib/web/access.ts";
import { appendAudit } from "../../../workers/shared/audit-log.ts";
import { accessSecrets, sessionValue } from "../../../workers/shared/session.ts";

export const dynamic = "force-dynamic";

/**
 * A 303 with a relative Location: `request.url` carries the server's bind address (0.0.0.0), not the
 * host the browser used, and a relative reference resolves against the latter.
 */
export function seeOther(path: string): NextResponse {
  return new NextResponse(null, { status: 303, headers: { location: path } });
}

const form = z.object({ secret: z.string().max(1_000).default(""), next: z.string().max(2_000).optional() });

/** POST /api/login (form: secret, next) → 303 to `next` with the HTTP-only session cookie, or back to /login?error=1. */
export async function POST(request: Request) {
  const parsed = form.safeParse(Object.fromEntries(await request.formData().catch(() => new FormData())));
  const secret = parsed.success ? parsed.data.secret : "";
  const next = safeReturnPath(parsed.success ? parsed.data.next : undefined);
  const { secrets } = await accessSecrets();
  const who = request.headers.get("x-forwarded-for") ?? "unknown";
  const match = secrets.find((s) => sameSecret(s, secret));
  await appendAudit({ who, what: "POST /api/login", outcome: match ? "ok" : "refused", detail: secrets.length === 0 ? "no DASHBOARD_TOKEN set" : undefined });
  if (!match) return seeOther(`/login?${new URLSearchParams({ error: "1", next })}`);
  const response = seeOther(next);
  const https = request.headers.get("x-forwarded-proto") === "https";
  response.cookies.set(SESSION_COOKIE, await sessionValue(match), { httpOnly: true, sameSite: "lax", path: "/", secure: https, maxAge: 12 * 3600 });
  return response;
}
