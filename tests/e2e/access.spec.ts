/**
 * Access control (README: Access control) against the built app: every page and route, found in
 * the app's file tree so a new one cannot be forgotten, refuses without the token and works with
 * it; without a token, the SQL API, actions and the audit log answer loopback only.
 */
import { readdirSync, readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join, relative, sep } from "node:path";
import { expect, test } from "@playwright/test";
import { freePort } from "../../scripts/free-port.ts";
import { ROOT, StackProcess } from "../../scripts/stack.ts";
import { PUBLIC_PATHS } from "../../lib/web/access.ts";
import { startE2EStack, type E2EStack } from "./stack-fixture.ts";

const TOKEN = "e2e-token-0123456789abcdef";

interface AppEntry {
  path: string;
  kind: "page" | "route";
  methods: string[];
}

/** A value for each dynamic segment, so its route is guarded like the others (an unknown id answers 404, not 401). */
const SAMPLE_SEGMENTS: Record<string, string> = { "[id]": "1" };

/** Every page.tsx and route.ts under app/, as URL paths (route groups `(x)` dropped, dynamic segments given their sample value). */
function appEntries(): AppEntry[] {
  const found: AppEntry[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/^(page|route)\.(tsx?|jsx?)$/.test(entry.name)) {
        const segments = relative(join(ROOT, "app"), dir)
          .split(sep)
          .filter((s) => s && !/^\(.*\)$/.test(s))
          .map((s) => (s.startsWith("[") ? (SAMPLE_SEGMENTS[s] ?? s) : s));
        if (segments.some((s) => s.startsWith("["))) throw new Error(`${full}: a dynamic route needs a sample value in SAMPLE_SEGMENTS`);
        const kind = entry.name.startsWith("page") ? "page" : "route";
        const methods = kind === "page" ? ["GET"] : [...readFileSync(full, "utf8").matchAll(/export (?:async )?function (GET|POST|PUT|PATCH|DELETE)\b/g)].map((m) => m[1]!);
        found.push({ path: `/${segments.join("/")}`, kind, methods });
      }
    }
  };
  walk(join(ROOT, "app"));
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

const isPublic = (path: string) => (PUBLIC_PATHS as readonly string[]).includes(path);

test.describe.configure({ mode: "serial" });

let stack: E2EStack;
test.beforeAll(async () => {
  test.setTimeout(240_000);
  stack = await startE2EStack(["web"], { DASHBOARD_TOKEN: TOKEN });
});
test.afterAll(async () => {
  await stack?.stop();
});

test("the file tree has the pages and routes this test expects to guard", () => {
  const paths = appEntries().map((e) => e.path);
  for (const p of ["/", "/pipeline", "/lake", "/batch", "/login", "/api/live/history", "/api/pipeline", "/api/login", "/api/audit"]) expect(paths).toContain(p);
});

test("with DASHBOARD_TOKEN set, every page and route refuses without it and works with it", async () => {
  for (const entry of appEntries()) {
    for (const method of entry.methods) {
      const url = `${stack.baseUrl}${entry.path}`;
      const anonymous = await fetch(url, { method, redirect: "manual" });
      const bearer = await fetch(url, { method, redirect: "manual", headers: { authorization: `Bearer ${TOKEN}` } });
      const wrong = await fetch(url, { method, redirect: "manual", headers: { authorization: "Bearer not-the-token-at-all" } });
      const what = `${method} ${entry.path}`;
      if (isPublic(entry.path)) {
        expect(anonymous.status, what).not.toBe(401);
        continue;
      }
      if (entry.kind === "page") {
        expect(anonymous.status, what).toBe(307);
        expect(new URL(anonymous.headers.get("location")!, url).pathname, what).toBe("/login");
        expect(bearer.status, what).toBe(200);
      } else {
        expect(anonymous.status, what).toBe(401);
        expect(((await anonymous.json()) as { error: { code: string } }).error.code, what).toBe("unauthorized");
        expect([401, 403], `${what}: ${bearer.status}`).not.toContain(bearer.status);
        expect(bearer.status, what).toBeLessThan(500);
      }
      expect(wrong.status, what).toBe(entry.kind === "page" ? 307 : 401);
    }
  }
});

test("the favicon (app/icon.svg) is linked from the login page and every page, and answers without credentials", async () => {
  const login = await (await fetch(`${stack.baseUrl}/login`)).text();
  const href = /<link rel="icon" href="([^"]+)"[^>]*type="image\/svg\+xml"/.exec(login)?.[1];
  expect(href, "the login page links the icon").toMatch(/^\/icon\.svg(\?|$)/);
  const icon = await fetch(`${stack.baseUrl}${href}`, { redirect: "manual" });
  expect(icon.status).toBe(200);
  expect(icon.headers.get("content-type")).toMatch(/^image\/svg\+xml/);
  expect(await icon.text()).toContain("<polyline");
  const pipeline = await (await fetch(`${stack.baseUrl}/pipeline`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  expect(pipeline).toContain(`<link rel="icon" href="${href}"`);
  // The proxy's exclusion is for the icon only: a page beginning with the same letters stays guarded.
  expect((await fetch(`${stack.baseUrl}/icon.svg-not-the-icon`, { redirect: "manual" })).status).toBe(307);
});

test("signing in sets an HTTP-only session cookie that opens every page; a wrong token does not; sign-ins are audited", async ({ page, context }) => {
  await page.goto(`${stack.baseUrl}/pipeline`);
  await expect(page).toHaveURL(/\/login\?next=%2Fpipeline/);
  await page.getByLabel("Dashboard token or password").fill("wrong-token-wrong-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("That token or password is not right.")).toBeVisible();
  expect((await context.cookies()).find((c) => c.name === "orderpulse_session")).toBeUndefined();
  await page.getByLabel("Dashboard token or password").fill(TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(`${stack.baseUrl}/pipeline`);
  await expect(page.getByRole("heading", { name: "Pipeline health" })).toBeVisible();
  const cookie = (await context.cookies()).find((c) => c.name === "orderpulse_session")!;
  expect(cookie.httpOnly).toBe(true);
  expect(cookie.value).not.toContain(TOKEN);
  const api = await page.request.get(`${stack.baseUrl}/api/live/history?range=15m`);
  expect(api.status()).toBe(200);
  await page.goto(`${stack.baseUrl}/login`);
  await page.screenshot({ path: join(ROOT, "artifacts/e2e/screenshots/login-laptop.png") });

  const audit = await page.request.get(`${stack.baseUrl}/api/audit`);
  const entries = ((await audit.json()) as { entries: { what: string; outcome: string; who: string; at: string }[] }).entries;
  // Newest first: the good sign-in, then the wrong one (the route sweep before posted empty secrets, refused too).
  expect(entries.filter((e) => e.what === "POST /api/login").map((e) => e.outcome).slice(0, 2)).toEqual(["ok", "refused"]);
  expect(entries.every((e) => e.who && !Number.isNaN(Date.parse(e.at)))).toBe(true);

  // Signing out (the top bar's button) ends the session: the pages ask for the token again.
  await page.goto(`${stack.baseUrl}/batch`);
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL(/\/login/);
  expect((await context.cookies()).find((c) => c.name === "orderpulse_session")).toBeUndefined();
  await page.goto(`${stack.baseUrl}/pipeline`);
  await expect(page).toHaveURL(/\/login\?next=%2Fpipeline/);
});

test("without a token, the SQL API, actions and the audit log answer loopback only, whatever X-Forwarded-For says", async () => {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
  test.skip(!address, "this machine has no non-loopback IPv4 address to send a remote request from");
  const port = await freePort();
  const web = new StackProcess("web", { ...stack.env, DASHBOARD_TOKEN: "", PORT: String(port) }, join(stack.dir, "logs/web-open.log"));
  await web.start();
  try {
    for (const path of ["/api/query", "/api/query.csv?sql=SELECT%201", "/api/actions/redrive", "/api/audit"]) {
      const remote = await fetch(`http://${address}:${port}${path}`, { method: path.startsWith("/api/actions") ? "POST" : "GET", headers: { "x-forwarded-for": "127.0.0.1" } });
      expect(remote.status, path).toBe(403);
      expect(((await remote.json()) as { error: { message: string } }).error.message, path).toMatch(/DASHBOARD_TOKEN/);
    }
    const local = await fetch(`http://127.0.0.1:${port}/api/audit`);
    expect(local.status).toBe(200);
    const entries = ((await local.json()) as { entries: { what: string; outcome: string; who: string }[] }).entries;
    expect(entries.some((e) => e.what === "GET /api/audit" && e.outcome === "refused" && e.who === address)).toBe(true);
    // The dashboard itself stays open without a token, and /login says so instead of a form that refuses every secret.
    expect((await fetch(`http://${address}:${port}/pipeline`)).status).toBe(200);
    const login = await (await fetch(`http://127.0.0.1:${port}/login`)).text();
    expect(login).toContain("orderpulse is open");
    expect(login).not.toContain('name="secret"');
  } finally {
    await web.stop();
  }
});
