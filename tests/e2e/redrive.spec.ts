/**
 * Dead letters acted on from the Pipeline page in Chromium, against the whole local stack: two
 * malformed orders are fixed in the page's editor and redriven twice, and each order is counted
 * once: on the Live page, in InfluxDB and in the lake. The workers' health panel shows each worker.
 */
import { expect, test, type Page } from "@playwright/test";
import { Kafka, logLevel, Partitioners, type Producer } from "kafkajs";
import { openLake } from "../../workers/shared/lake-query.ts";
import { loadEnv } from "../../workers/shared/env.ts";
import { hotPathTotals, sumOrders } from "../support/workers.ts";
import { screenshots, startE2EStack, type E2EStack } from "./stack-fixture.ts";

test.describe.configure({ mode: "serial" });

let stack: E2EStack;
let producer: Producer;

test.beforeAll(async () => {
  test.setTimeout(300_000);
  stack = await startE2EStack(["metrics", "lake", "feed", "web"]);
  producer = new Kafka({ brokers: [stack.env.KAFKA_BROKERS!], logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});

test.afterAll(async () => {
  await producer?.disconnect();
  await stack?.stop();
});

const order = (id: string, customer: string, amount: number | string, at: number) => JSON.stringify({ order_id: id, customer_id: customer, category: "tea", country: "DE", amount, event_time: new Date(at).toISOString() });
const send = (key: string, value: string) => producer.send({ topic: "orders", messages: [{ key, value }] });

/** On-time + late orders over the Live page's window rows, as the browser shows them. */
const liveOrders = (page: Page) =>
  page.locator('[data-testid="window-row"]').evaluateAll((rows) =>
    rows.reduce((n, r) => n + Number(r.querySelector('[data-field="orders"]')!.textContent!.replace(/,/g, "")) + Number(r.querySelector('[data-field="late"]')!.textContent!.replace(/,/g, "")), 0),
  );

test("redrive two dead letters after fixing them in the page, twice: each order is counted once on the Live page, in InfluxDB and in the lake", async ({ page }) => {
  test.setTimeout(300_000);
  const at = Date.now();
  const valid = 30;
  for (let i = 0; i < valid; i++) await send(`c-${i}`, order(`v-${i}`, `c-${i}`, 10, at));
  // The producer's bug: an amount as text, and a trailing comma.
  await send("c-fix-a", order("fix-a", "c-fix-a", "12.50", at));
  await send("c-fix-b", order("fix-b", "c-fix-b", 7.25, at).replace(/}$/, ",}"));
  const fixed: Record<string, string> = { "fix-a": order("fix-a", "c-fix-a", 12.5, at), "fix-b": order("fix-b", "c-fix-b", 7.25, at) };

  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`${stack.baseUrl}/pipeline`);
  // The Workers panel: each worker's /healthz through WORKER_HEALTH_URLS.
  await expect(page.getByTestId("worker-row")).toHaveCount(3);
  for (const w of ["metrics", "lake", "feed"]) await expect(page.locator(`[data-testid="worker-row"][data-worker="${w}"]`)).toHaveAttribute("data-status", "ok", { timeout: 30_000 });

  const rows = page.getByTestId("dlq-row");
  await expect(rows).toHaveCount(2, { timeout: 60_000 });
  await expect(page.getByTestId("dlq-reason")).toBeVisible();
  // Opening the editor and closing it unchanged is no edit.
  await rows.nth(0).getByTestId("dlq-edit").click();
  await expect(page.getByTestId("payload-editor")).toBeVisible();
  await rows.nth(0).getByTestId("dlq-edit").click();
  await expect(page.getByTestId("payload-editor")).toHaveCount(0);
  await expect(rows.nth(0)).not.toContainText("edited");
  for (let i = 0; i < 2; i++) {
    const row = rows.nth(i);
    await row.getByTestId("dlq-edit").click();
    const editor = page.getByTestId("payload-editor");
    await expect(editor).toBeVisible();
    const text = await editor.locator(".cm-content").textContent();
    const id = /"order_id":"(fix-[ab])"/.exec(text ?? "")![1]!;
    await editor.locator(".cm-content").click();
    await page.keyboard.press("Control+A");
    // insertText: no key events, so the editor's bracket auto-closing does not double what is typed.
    await page.keyboard.insertText(fixed[id]!);
    if (i === 1) await screenshots(page, "pipeline-redrive-editing");
    await row.getByTestId("dlq-edit").click();
    await expect(row).toContainText("edited");
    await row.getByRole("checkbox").check();
  }

  // Twice: the second copy of each fixed order is a duplicate on its source partition.
  for (let round = 0; round < 2; round++) {
    if (round === 1) for (let i = 0; i < 2; i++) await rows.nth(i).getByRole("checkbox").check();
    await page.getByTestId("redrive-selected").click();
    await expect(page.getByTestId("redrive-count")).toHaveText("2");
    await expect(page.getByTestId("redrive-confirm")).toContainText("2 edited");
    if (round === 0) await screenshots(page, "pipeline-redrive-confirm");
    await page.getByTestId("redrive-go").click();
    await expect(page.getByTestId("redrive-result")).toHaveText(/Redrove 2 dead letters to orders \(2 edited\)/);
  }
  await screenshots(page, "pipeline-redrive-done");

  // Valid orders last on every partition, so every window closes.
  for (let i = 0; i < 16; i++) await send(`t-${i}`, order(`tail-${i}`, `t-${i}`, 1, Date.now()));
  const expected = valid + 16 + 2;

  // InfluxDB: every order once (on time or late); the second redrive only as duplicates.
  const influx = { version: 1 as const, url: loadEnv().INFLUX_URL!, database: stack.env.INFLUX_DB! };
  await expect.poll(async () => { const t = await hotPathTotals(influx, 10_000); return [t.openWindows, sumOrders(t.onTime) + sumOrders(t.late)]; }, { timeout: 120_000, intervals: [2_000] }).toEqual([0, expected]);
  const totals = await hotPathTotals(influx, 10_000);
  expect([sumOrders(totals.duplicate), [...totals.duplicate.values()].reduce((s, t) => s + t.revenueCents, 0)]).toEqual([2, 1250 + 725]);

  // The Live page shows the same count.
  await page.goto(`${stack.baseUrl}/`);
  await expect.poll(() => liveOrders(page), { timeout: 60_000, intervals: [2_000] }).toBe(expected);
  await screenshots(page, "live-after-redrive");

  // The lake: both copies kept raw, each order once in `orders`, with the fixed amount.
  const lake = await openLake(stack.env.LAKE_DIR!, { timeoutMs: 10_000, maxRows: 10 });
  try {
    await expect.poll(async () => { await lake.refresh(); return Number((await lake.query("SELECT count(*) FROM orders_raw")).rows[0]![0]); }, { timeout: 90_000, intervals: [2_000] }).toBe(expected + 2);
    const once = await lake.query("SELECT order_id, count(*), sum(amount) FROM orders WHERE order_id LIKE 'fix-%' GROUP BY order_id ORDER BY order_id");
    expect(once.rows.map((r) => [r[0], Number(r[1]), Number(r[2])])).toEqual([["fix-a", 1, 12.5], ["fix-b", 1, 7.25]]);
  } finally {
    lake.close();
  }

  // Audited: both redrives, from loopback.
  const audit = (await (await page.request.get(`${stack.baseUrl}/api/audit?limit=50`)).json()) as { entries: { what: string; outcome: string; detail?: string }[] };
  const redrives = audit.entries.filter((e) => e.what === "redrive orders.dlq → orders" && !e.detail?.startsWith("dry run"));
  expect(redrives.map((e) => [e.outcome, /^2 of 2 selected \(2 edited, 0 skipped\)/.test(e.detail ?? "")])).toEqual([["ok", true], ["ok", true]]);
});

test("a worker that stops answering is greyed in the Workers panel with the reason; the others stay ok", async ({ page }) => {
  await stack.processes.get("lake")!.stop();
  await page.goto(`${stack.baseUrl}/pipeline`);
  const lake = page.locator('[data-testid="worker-row"][data-worker="lake"]');
  await expect(lake).toHaveAttribute("data-status", "unreachable", { timeout: 30_000 });
  await expect(lake).toHaveClass(/panel-refused/);
  await expect(lake).toContainText("unreachable: ECONNREFUSED");
  await expect(page.locator('[data-testid="worker-row"][data-worker="metrics"]')).toHaveAttribute("data-status", "ok");
  await expect(page.getByTestId("partitions")).toHaveAttribute("data-ok", "true");
  await screenshots(page, "pipeline-worker-unreachable");
});
