import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { auditsRequest, bearerSecret, decideAccess, isLoopback, isSensitivePath, safeReturnPath, sameSecret, type AccessRequest } from "./access.ts";

const request = (over: Partial<AccessRequest>): AccessRequest => ({ path: "/", authorization: null, sessionCookie: null, peerAddress: "127.0.0.1", isPageNavigation: true, ...over });
const secured = { secrets: ["s3cret-token-0123456789"], sessionValues: ["cookie-value-abc"] };
const open = { secrets: [], sessionValues: [] };

describe("access rule", () => {
  it("with a secret: pages redirect to the login page and routes answer 401 without it", () => {
    expect(decideAccess(request({ path: "/pipeline" }), secured)).toMatchObject({ allow: false, status: 401, redirectToLogin: true });
    expect(decideAccess(request({ path: "/api/pipeline", isPageNavigation: false }), secured)).toMatchObject({ allow: false, status: 401, redirectToLogin: false });
  });

  it("with a secret: the bearer token or the session cookie opens everything, from anywhere", () => {
    expect(decideAccess(request({ path: "/api/pipeline", authorization: "Bearer s3cret-token-0123456789", peerAddress: "10.0.0.9" }), secured)).toEqual({ allow: true, who: "bearer@10.0.0.9" });
    expect(decideAccess(request({ path: "/api/query", sessionCookie: "cookie-value-abc", peerAddress: "10.0.0.9" }), secured)).toEqual({ allow: true, who: "session@10.0.0.9" });
  });

  it("with a secret: a wrong token, a wrong cookie or the raw secret as cookie is refused, and says so", () => {
    for (const over of [{ authorization: "Bearer nope" }, { sessionCookie: "cookie-value-abd" }, { sessionCookie: "s3cret-token-0123456789" }]) {
      expect(decideAccess(request({ path: "/api/pipeline", ...over }), secured)).toMatchObject({ allow: false, status: 401, reason: "the token or session is not valid" });
    }
  });

  it("with a secret: loopback gets no exemption; the login page and its post stay public", () => {
    expect(decideAccess(request({ path: "/api/query", peerAddress: "::1" }), secured).allow).toBe(false);
    expect(decideAccess(request({ path: "/login" }), secured).allow).toBe(true);
    expect(decideAccess(request({ path: "/api/login", isPageNavigation: false }), secured).allow).toBe(true);
    expect(decideAccess(request({ path: "/login/x" }), secured).allow).toBe(false);
  });

  it("without a secret: sensitive routes answer loopback only, naming DASHBOARD_TOKEN; pages stay open", () => {
    const refused = decideAccess(request({ path: "/api/query", peerAddress: "192.0.2.7" }), open);
    expect(refused).toMatchObject({ allow: false, status: 403 });
    expect(!refused.allow && refused.reason).toMatch(/DASHBOARD_TOKEN/);
    for (const path of ["/api/query.csv", "/api/actions/redrive", "/api/audit"]) expect(decideAccess(request({ path, peerAddress: "192.0.2.7" }), open).allow).toBe(false);
    expect(decideAccess(request({ path: "/api/query", peerAddress: "127.0.0.1" }), open).allow).toBe(true);
    expect(decideAccess(request({ path: "/pipeline", peerAddress: "192.0.2.7" }), open).allow).toBe(true);
    expect(decideAccess(request({ path: "/api/query", peerAddress: null }), open).allow).toBe(false);
  });

  it("sensitive paths match whole segments only", () => {
    expect(isSensitivePath("/api/query")).toBe(true);
    expect(isSensitivePath("/api/query.csv")).toBe(true);
    expect(isSensitivePath("/api/queryable")).toBe(false);
    expect(isSensitivePath("/api/actions/repair")).toBe(true);
  });

  it("audits refused requests and every allowed one to a sensitive path but reads of the audit log", () => {
    expect(auditsRequest("POST", "/api/query", true)).toBe(true);
    expect(auditsRequest("GET", "/api/query.csv", true)).toBe(true);
    expect(auditsRequest("POST", "/api/actions/redrive", true)).toBe(true);
    expect(auditsRequest("GET", "/api/audit", true)).toBe(false);
    expect(auditsRequest("HEAD", "/api/audit", true)).toBe(false);
    expect(auditsRequest("GET", "/api/audit", false)).toBe(true);
    expect(auditsRequest("GET", "/api/pipeline", true)).toBe(false);
    expect(auditsRequest("GET", "/api/pipeline", false)).toBe(false);
  });

  it("loopback: 127/8, ::1 and their IPv4-mapped forms; nothing else", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) expect(isLoopback(a)).toBe(true);
    for (const a of ["10.0.0.1", "::ffff:10.0.0.1", "1.127.0.0", "", "localhost", "127.0.0.1, 10.0.0.1"]) expect(isLoopback(a)).toBe(false);
  });

  it("bearer parsing", () => {
    expect(bearerSecret("Bearer abc")).toBe("abc");
    expect(bearerSecret("bearer  abc ")).toBe("abc");
    expect(bearerSecret("Basic abc")).toBeUndefined();
    expect(bearerSecret("Bearer a b")).toBeUndefined();
    expect(bearerSecret(null)).toBeUndefined();
  });

  it("sameSecret is string equality (property)", () => {
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => sameSecret(a, b) === (a === b)));
    fc.assert(fc.property(fc.string(), (a) => sameSecret(a, a)));
  });

  it("return paths stay on this site", () => {
    expect(safeReturnPath("/pipeline?x=1")).toBe("/pipeline?x=1");
    for (const bad of ["//evil.example", "https://evil.example", "/\\evil.example", "", null, undefined, "pipeline"]) expect(safeReturnPath(bad)).toBe("/");
  });
});
