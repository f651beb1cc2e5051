/**
 * Access control for every page and route (Next.js 16 proxy, Node.js runtime). The rule is
 * lib/web/access.ts; this gathers the request's facts. The peer address is the socket's, as
 * the web server (workers/web.ts) records it in x-forwarded-for, replacing whatever the client sent.
 */
import { NextResponse, type NextRequest } from "next/server";
import { auditsRequest, decideAccess, SESSION_COOKIE, WHO_HEADER } from "./lib/web/access.ts";
import { appendAudit } from "./workers/shared/audit-log.ts";
import { accessSecrets } from "./workers/shared/session.ts";

export async function proxy(request: NextRequest) {
  const path = request.nextUrl.pathname;
  const peerAddress = request.headers.get("x-forwarded-for");
  const decision = decideAccess(
    {
      path,
      authorization: request.headers.get("authorization"),
      sessionCookie: request.cookies.get(SESSION_COOKIE)?.value ?? null,
      peerAddress,
      isPageNavigation: !path.startsWith("/api/") && (request.method === "GET" || request.method === "HEAD"),
    },
    await accessSecrets(),
  );
  if (auditsRequest(request.method, path, decision.allow)) {
    await appendAudit({ who: decision.allow ? decision.who : (peerAddress ?? "unknown"), what: `${request.method} ${path}`, outcome: decision.allow ? "allowed" : "refused", detail: decision.allow ? undefined : decision.reason });
  }
  if (decision.allow) {
    const headers = new Headers(request.headers);
    headers.set(WHO_HEADER, decision.who);
    return NextResponse.next({ request: { headers } });
  }
  if (decision.redirectToLogin) {
    // The Host the browser used: request.url carries the bind address (0.0.0.0). Next wants an absolute URL here.
    const origin = `${request.headers.get("x-forwarded-proto") ?? "http"}://${request.headers.get("host") ?? request.nextUrl.host}`;
    return NextResponse.redirect(new URL(`/login?${new URLSearchParams({ next: `${path}${request.nextUrl.search}` })}`, origin), 307);
  }
  return NextResponse.json({ error: { code: decision.status === 401 ? "unauthorized" : "forbidden", message: decision.reason } }, { status: decision.status, headers: decision.status === 401 ? { "www-authenticate": 'Bearer realm="orderpulse"' } : {} });
}

export const config = {
  // Everything but Next's own static assets (hashed bundles carry no data) and the favicon (app/icon.svg), which the login page shows too.
  matcher: ["/((?!_next/static|_next/image|favicon.ico|icon\\.svg$).*)"],
};
