/**
 * Who may see the dashboard and who may query or act: the rules of README "Access control".
 * Pure: the proxy passes in the request's facts (path, presented credentials, peer address)
 * and the configured secrets. A session cookie holds SHA-256("orderpulse-session:" + secret) in hex,
 * never the secret itself; computing it is the caller's (Web Crypto is async).
 */

/** The HTTP-only cookie that carries a signed-in browser's session. */
export const SESSION_COOKIE = "orderpulse_session";
/** What is hashed with a secret to make its session cookie value. */
export const SESSION_LABEL = "orderpulse-session:";
/** Request header the proxy sets to the decision's `who` (replacing any a client sent), so route handlers can audit outcomes. */
export const WHO_HEADER = "x-orderpulse-who";
/** Pages and routes reachable without credentials: the login page and its form post. */
export const PUBLIC_PATHS = ["/login", "/api/login"] as const;
/** Routes that read the lake, change state or show the audit log: loopback only while no secret is set. */
export const SENSITIVE_PREFIXES = ["/api/query", "/api/actions", "/api/audit"] as const;

export type AccessDecision =
  | { allow: true; who: string }
  | { allow: false; status: 401 | 403; reason: string; redirectToLogin: boolean };

export interface AccessRequest {
  /** URL path, e.g. `/pipeline` or `/api/live/history`. */
  path: string;
  /** The `Authorization` header, if any. */
  authorization: string | null;
  /** The session cookie's value, if one was sent. */
  sessionCookie: string | null;
  /** The TCP peer's address as the web server saw it (never a client-supplied header). */
  peerAddress: string | null;
  /** GET/HEAD of a page (not `/api/`): answered with a redirect to the login page instead of 401. */
  isPageNavigation: boolean;
}

export interface AccessSecrets {
  /** DASHBOARD_TOKEN and DASHBOARD_PASSWORD, whichever are set. */
  secrets: string[];
  /** The valid session cookie values, one per secret (see `SESSION_LABEL`). */
  sessionValues: string[];
}

/** Constant-time string equality (no early exit on the first differing character). */
export function sameSecret(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped IPv6 forms. */
export function isLoopback(address: string | null): boolean {
  if (!address) return false;
  const a = address.trim().toLowerCase().replace(/^::ffff:/, "");
  return a === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

const startsWithSegment = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}.`);

export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.some((p) => path === p);
}

export function isSensitivePath(path: string): boolean {
  return SENSITIVE_PREFIXES.some((p) => startsWithSegment(path, p));
}

/**
 * Whether the proxy writes an audit line for this request: every refused request to a sensitive
 * path, and every allowed one except reads of the audit log itself (GET/HEAD `/api/audit`), which
 * the Batch page's audit card polls every 10 s: auditing those would add a line per poll per open
 * tab and bury the queries, repairs, backfills and redrives the log is for (issue 12, Audit).
 */
export function auditsRequest(method: string, path: string, allowed: boolean): boolean {
  if (!isSensitivePath(path)) return false;
  if (!allowed) return true;
  return !((method === "GET" || method === "HEAD") && startsWithSegment(path, "/api/audit"));
}

/** The secret presented as `Authorization: Bearer <secret>`, if well formed. */
export function bearerSecret(authorization: string | null): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return match?.[1];
}

/**
 * The access rule. With secrets set: public paths pass, everything else needs a matching
 * bearer secret or session cookie (pages redirect to the login page, routes answer 401).
 * Without: everything passes except sensitive routes from a non-loopback peer (403 naming
 * DASHBOARD_TOKEN).
 */
export function decideAccess(request: AccessRequest, config: AccessSecrets): AccessDecision {
  if (config.secrets.length === 0) {
    if (isSensitivePath(request.path) && !isLoopback(request.peerAddress)) {
      return {
        allow: false,
        status: 403,
        redirectToLogin: false,
        reason: `without DASHBOARD_TOKEN (or DASHBOARD_PASSWORD) the SQL API and actions answer only loopback (127.0.0.1, ::1); this request came from ${request.peerAddress ?? "an unknown address"}. Set DASHBOARD_TOKEN to allow remote use.`,
      };
    }
    return { allow: true, who: request.peerAddress ?? "unknown" };
  }
  if (isPublicPath(request.path)) return { allow: true, who: "anonymous" };
  const bearer = bearerSecret(request.authorization);
  if (bearer !== undefined && config.secrets.some((s) => sameSecret(s, bearer))) return { allow: true, who: `bearer@${request.peerAddress ?? "unknown"}` };
  const cookie = request.sessionCookie;
  if (cookie !== null && config.sessionValues.some((v) => sameSecret(v, cookie))) {
    return { allow: true, who: `session@${request.peerAddress ?? "unknown"}` };
  }
  const presented = bearer !== undefined || request.sessionCookie !== null;
  return {
    allow: false,
    status: 401,
    redirectToLogin: request.isPageNavigation,
    reason: presented ? "the token or session is not valid" : "sign in, or send Authorization: Bearer <DASHBOARD_TOKEN>",
  };
}

/** A same-site path to return to after signing in; anything else (another origin, `//host`) becomes `/`. */
export function safeReturnPath(next: string | null | undefined): string {
  return next && /^\/(?![/\\])/.test(next) ? next : "/";
}
