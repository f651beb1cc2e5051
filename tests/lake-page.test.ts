/**
 * The Lake page in a real browser (Debian's Chromium through playwright-core)
 * against `next dev` over a generated lake whose truth the test knows.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeLakeFixture, type FixtureMessage } from "./support/batch-lake.ts";
import { freePort } from "../scripts/free-port.ts";
import { ROOT, tempDir } from "./support/processes.ts";

// The page settles asynchronously (a fetch, a re-render after a resize, the editor's theme after an observer
// fires): every check waits for it within a bound a loaded CI machine can meet (expect.poll's default is 1 s).
const settled = { timeout: 10_000 };

let lakeDir: string;
let messages: FixtureMessage[];
let server: ChildProcess | undefined;
let serverLog = "";
let browser: Browser;
let page: Page;
let base: string;
/** Beside the end-to-end run's screenshots, so one folder shows every page. */
const SCREENSHOTS = join(ROOT, "artifacts/e2e/screenshots");

/** Distinct valid orders of the fixture: what `orders` (de-duplicated) must hold. */
function distinctOrders(): number {
  return new Set(messages.filter((m) => m.decoded.ok && !m.lost).map((m) => (m.decoded.ok ? m.decoded.order.orderId : ""))).size;
}

async function typeQuery(sql: string): Promise<void> {
  await page.locator(".cm-content").fill(sql);
  await expect.poll(() => page.locator(".cm-content").innerText(), settled).toBe(sql);
}

beforeAll(async () => {
  lakeDir = tempDir("lake-page");
  messages = await writeLakeFixture({ lakeDir, seed: 21, count: 3_000, startMs: Date.parse("2026-11-20T10:00:00Z"), partitions: 3, ratePerSecond: 2 });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, [join(ROOT, "node_modules/next/dist/bin/next"), "dev", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: ROOT,
    env: { ...process.env, LAKE_DIR: lakeDir, QUERY_TIMEOUT: "60s", NEXT_TELEMETRY_DISABLED: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout!.on("data", (d) => (serverLog += d));
  server.stderr!.on("data", (d) => (serverLog += d));
  for (let waited = 0; ; waited += 500) {
    const ok = await fetch(`${base}/lake`).then((r) => r.ok, () => false);
    if (ok) break;
    if (waited > 180_000) throw new Error(`next dev did not serve /lake:\n${serverLog}`);
    await new Promise((done) => setTimeout(done, 500));
  }
  // next dev compiles each route on its first request: compile them now, not inside a timed step.
  await fetch(`${base}/api/query/cancel`, { method: "POST", body: JSON.stringify({ id: "warm-up" }) });
  await fetch(`${base}/api/query.csv?sql=SELECT%201`);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  await page.goto(`${base}/lake`);
  await page.getByTestId("schema").locator("li").first().waitFor({ timeout: 120_000 });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  if (lakeDir) await rm(lakeDir, { recursive: true, force: true });
});

describe("the Lake page", () => {
  it("runs a typed query with Ctrl+Enter and shows '1,000 of N rows' for the lake's truth", async () => {
    await typeQuery("SELECT order_id, amount FROM orders");
    await page.keyboard.press("Control+Enter");
    const summary = page.getByTestId("result-summary");
    await summary.waitFor();
    expect(await summary.innerText()).toMatch(new RegExp(`^1,000 of ${distinctOrders().toLocaleString("en-US")} rows · \\d[\\d,]* ms$`));
  });

  it("runs a saved example", async () => {
    await page.getByRole("button", { name: "Dead letters by reason" }).click();
    await page.getByRole("button", { name: /^Run/ }).click();
    const reasons = new Set(messages.filter((m) => !m.decoded.ok && !m.lost).map((m) => (m.decoded.ok ? "" : m.decoded.rejection.code)));
    await expect.poll(() => page.getByTestId("result-summary").innerText(), settled).toMatch(new RegExp(`^${reasons.size} rows? · `));
  });

  it("sorts a column as numbers", async () => {
    await typeQuery("SELECT order_id, quantity FROM orders ORDER BY order_id LIMIT 200");
    await page.keyboard.press("Control+Enter");
    await expect.poll(() => page.getByTestId("result-summary").innerText(), settled).toMatch(/^200 rows/);
    const header = page.getByRole("columnheader", { name: /quantity/ });
    await header.click();
    await header.click(); // descending
    const firstQuantity = await page.getByRole("row").nth(1).getByRole("cell").nth(1).innerText();
    const api = await (await fetch(`${base}/api/query`, { method: "POST", body: JSON.stringify({ sql: "SELECT max(quantity) FROM (SELECT quantity FROM orders ORDER BY order_id LIMIT 200)" }) })).json();
    expect(firstQuantity).toBe(String(api.rows[0][0]));
    expect(await header.getAttribute("aria-sort")).toBe("descending");
  });

  it("shows what was typed after an example is picked mid-typing", async () => {
    // @uiw/react-codemirror defers a new `value` that arrives within 200 ms of typing, then applies
    // the deferred (by then stale) value: an example picked right after typing, then more typing,
    // left the editor showing the example while the page ran what was typed (seen in a loaded CI run).
    const editor = page.locator(".cm-content");
    await editor.fill("SELECT 1");
    await page.getByRole("button", { name: "Dead letters by reason" }).click();
    await editor.fill("SELECT 2 AS typed");
    await page.waitForTimeout(1_500);
    expect(await editor.innerText()).toBe("SELECT 2 AS typed");
    await page.keyboard.press("Control+Enter");
    await expect.poll(() => page.getByTestId("result-table").innerText(), settled).toMatch(/typed/);
    // And a value from outside the editor (an example picked, not typed) still shows.
    await page.getByRole("button", { name: "Dead letters by reason" }).click();
    await expect.poll(() => editor.innerText(), settled).toMatch(/^SELECT reason_code, count\(\*\) AS messages/);
  });

  it("downloads the CSV the API serves", async () => {
    const sql = "SELECT country, count(*) AS orders FROM orders GROUP BY country ORDER BY orders DESC, country";
    await typeQuery(sql);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download CSV" }).click()]);
    const downloaded = await readFile((await download.path())!, "utf8");
    const api = await (await fetch(`${base}/api/query.csv?${new URLSearchParams({ sql })}`)).text();
    expect(downloaded).toBe(api);
    expect(downloaded.split("\n")[0]).toBe("country,orders");
  });

  it("shows a hostile query's refusal next to the editor", async () => {
    await typeQuery("SELECT * FROM read_text('/etc/passwd')");
    await page.keyboard.press("Control+Enter");
    const error = page.getByTestId("query-error");
    await error.waitFor();
    expect(await error.innerText()).toMatch(/^Query refused\s+table function read_text is not allowed/);
    expect(await error.locator("pre").evaluate((e) => getComputedStyle(e).fontFamily)).toMatch(/mono/i);
  });

  it("cancels a long query, and the history says so", async () => {
    await typeQuery("SELECT levenshtein(repeat('a', 300000), repeat('b', 300000))");
    await page.keyboard.press("Control+Enter");
    await page.getByRole("button", { name: /Running/ }).waitFor();
    await page.waitForTimeout(500);
    const cancelled = Date.now();
    await page.getByRole("button", { name: "Cancel" }).click();
    await expect.poll(() => page.getByTestId("query-error").innerText(), settled).toMatch(/cancelled/);
    expect(Date.now() - cancelled).toBeLessThan(2_000);
    await expect.poll(() => page.getByTestId("history").locator("tbody tr").first().innerText(), settled).toMatch(/cancelled/);
    expect(await page.locator(".cm-content").innerText()).toMatch(/^SELECT levenshtein/);
    await page.screenshot({ path: join(ROOT, "test-results", "lake-page.png"), fullPage: true });
  });

  it("follows the shell's type scale on a wall screen and its light theme", async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    await typeQuery("SELECT country, count(*) AS orders, sum(amount) AS revenue FROM orders GROUP BY country ORDER BY revenue DESC");
    await page.getByRole("button", { name: /^Run/ }).click();
    await expect.poll(() => page.getByTestId("result-summary").innerText(), settled).toMatch(/rows? · /);
    const fontSize = (selector: string) => page.locator(selector).first().evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
    // A cell the virtualized table is still placing has no computed size yet (NaN, seen in CI): wait for one.
    const settledSize = async (selector: string) => {
      let size = Number.NaN;
      await expect.poll(async () => (size = await fontSize(selector)), settled).toBeGreaterThan(0);
      return size;
    };
    const laptop = { cell: await settledSize("[role=cell]"), editor: await settledSize(".cm-content") };
    await page.screenshot({ path: join(SCREENSHOTS, "lake-laptop.png") });
    await page.setViewportSize({ width: 2560, height: 1440 });
    // The shell's wall-screen scale (a larger root font) reaches the editor and the result table too.
    await expect.poll(() => fontSize("[role=cell]"), settled).toBeGreaterThan(laptop.cell * 1.2);
    await expect.poll(() => fontSize(".cm-content"), settled).toBeGreaterThan(laptop.editor * 1.2);
    await page.screenshot({ path: join(SCREENSHOTS, "lake-wall.png") });
    await page.setViewportSize({ width: 1440, height: 900 });
    const background = () => page.locator(".result-table").evaluate((e) => getComputedStyle(e).backgroundColor);
    const dark = await background();
    await page.getByTestId("theme-toggle").click();
    await expect.poll(background, settled).not.toBe(dark);
    await expect.poll(() => page.locator(".cm-editor").evaluate((e) => getComputedStyle(e).backgroundColor), settled).not.toBe("rgb(40, 44, 52)");
    await page.screenshot({ path: join(SCREENSHOTS, "lake-light.png") });
    await page.getByTestId("theme-toggle").click();
  });
});
