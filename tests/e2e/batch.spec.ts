/**
 * The Batch page in Chromium over the whole local stack (metrics, lake, feed, scheduler, web) fed by
 * the simulator with --truth: daily KPIs run from the page succeed with the truth's order count; a
 * window corrupted in InfluxDB shows highlighted in the reconciliation view with its difference, and
 * "repair this range" (reconcile --repair through the scheduler) makes the range equal again.
 * What the page shows is checked against the truth file and InfluxDB, never the app's own numbers.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { kafkaEnvSchema, readConfig } from "../../lib/contract/config.ts";
import { StackProcess } from "../../scripts/stack.ts";
import { loadEnv } from "../../workers/shared/env.ts";
import { influxQuery, seriesRows } from "../../workers/shared/influxql.ts";
import { createKafka } from "../../workers/shared/kafka.ts";
import { committedOffsets, topicOffsets } from "../../workers/shared/kafka-admin.ts";
import { truthByWindow } from "../support/workers.ts";
import { E2E_WINDOW_MS, screenshots, startE2EStack, type E2EStack } from "./stack-fixture.ts";

test.describe.configure({ mode: "serial" });

let stack: E2EStack;
const DAY_MS = 86_400_000;
const influx = () => ({ version: 1 as const, url: loadEnv().INFLUX_URL!, database: stack.env.INFLUX_DB! });

/** Messages of the orders topic a consumer group has not committed yet, over every partition. */
async function groupLag(groupId: string): Promise<number> {
  const config = readConfig(kafkaEnvSchema, { ...loadEnv(), ...stack.env });
  const admin = createKafka(config, "orderpulse-e2e").admin();
  await admin.connect();
  try {
    const offsets = await topicOffsets(admin, config.topic);
    const committed = await committedOffsets(admin, groupId, config.topic);
    return offsets.reduce((sum, o) => sum + o.logEnd - Math.max(o.logStart, committed.get(o.partition) ?? o.logStart), 0);
  } finally {
    await admin.disconnect();
  }
}

async function simulate(name: string, args: string[]): Promise<void> {
  const run = new StackProcess("simulator", stack.env, join(stack.dir, `logs/${name}.log`), ["--truth", join(stack.dir, `${name}.ndjson`), ...args]);
  await run.start();
  expect(await run.exited, run.tail).toBe(0);
}

let truthFile = "";
/** Truth window starts (ms), oldest first. */
let truthStarts: number[] = [];

test.beforeAll(async () => {
  test.setTimeout(300_000);
  stack = await startE2EStack(["metrics", "lake", "feed", "scheduler", "web"]);
  await simulate("chaos", ["--rate", "100", "--count", "600", "--seed", "11", "--late", "0.03", "--duplicates", "0.03", "--malformed", "0.02", "--out-of-order", "0.05"]);
  // Valid orders last on every partition (the metrics worker commits only up to its window engine's valid orders).
  await simulate("tail", ["--rate", "100", "--count", "200", "--seed", "12"]);
  truthFile = join(stack.dir, "truth.ndjson");
  writeFileSync(truthFile, ["chaos", "tail"].map((run) => readFileSync(join(stack.dir, `${run}.ndjson`), "utf8")).join(""));
  truthStarts = [...truthByWindow(truthFile, E2E_WINDOW_MS).keys()].sort((a, b) => a - b);
  // Both paths have read everything: the lake for the batch, the hot path for the reconciliation.
  for (const group of ["orderpulse-lake", "orderpulse-metrics"])
    await expect.poll(() => groupLag(group), { timeout: 120_000, intervals: [2_000], message: `${group} lag` }).toBe(0);
});

test.afterAll(async () => {
  await stack?.stop();
});

const cell = (page: Page, date: string, job: string) => page.locator(`[data-testid="grid-cell"][data-date="${date}"][data-job="${job}"]`);

test("Batch: run daily KPIs for a day from the page; it succeeds with the truth's order count, with details, log, freshness and audit", async ({ page }) => {
  // The UTC business day (BUSINESS_TZ is UTC here) with the most truth orders, and that count.
  const byDay = truthByWindow(truthFile, DAY_MS);
  const [dayStart, truth] = [...byDay.entries()].sort((a, b) => b[1].orders - a[1].orders)[0]!;
  const date = new Date(dayStart).toISOString().slice(0, 10);

  await page.goto(`${stack.baseUrl}/batch`);
  await expect(page.getByTestId("scheduler-state")).toHaveAttribute("data-running", "true");
  await expect(page.getByTestId("status-legend")).toContainText("success");
  for (const status of ["failed", "running", "queued", "skipped"]) await expect(page.getByTestId("status-legend")).toContainText(status);
  await expect(cell(page, date, "batch_daily")).toHaveAttribute("data-status", "missing");
  // Run now first offers the newest UTC day the lake holds orders for (never after today), not yesterday: this lake is fresh.
  const newestDay = new Date(Math.max(...byDay.keys())).toISOString().slice(0, 10);
  const today = new Date().toISOString().slice(0, 10);
  const offered = newestDay < today ? newestDay : today;
  await expect(page.getByTestId("run-date")).toHaveValue(offered);
  await expect(page.getByTestId("run-date-basis")).toHaveAttribute("data-basis", "lake");
  await expect(page.getByTestId("run-date-basis")).toHaveText(`${offered}: the newest day with orders in the lake`);

  await page.getByTestId("run-date").fill(date);
  await page.getByTestId("run-job").selectOption("batch_daily");
  await page.getByTestId("run-now").click();
  await expect(page.getByTestId("action-message")).toContainText(`queued Daily KPIs ${date}`);
  await expect(cell(page, date, "batch_daily")).toHaveAttribute("data-status", /queued|running|success/);
  await expect(cell(page, date, "batch_daily")).toHaveAttribute("data-status", "success", { timeout: 150_000 });

  await cell(page, date, "batch_daily").click();
  const details = page.getByTestId("run-details");
  await expect(details).toHaveAttribute("data-status", "success");
  await expect(details).toContainText("manual");
  await expect(page.getByTestId("run-log")).toContainText("daily_country_category rows=");
  await expect(page.getByTestId("kpi-orders")).toHaveText(truth.orders.toLocaleString("en-US"));
  await expect(page.getByTestId("kpi-revenue")).toHaveText((truth.revenueCents / 100).toFixed(2));
  await expect(page.getByTestId("kpis-freshness")).toHaveText(new RegExp(`^KPIs for ${date} computed (just now|\\d+ s ago|\\d+ min ago)$`));
  await expect(page.getByTestId("audit").getByTestId("audit-row").filter({ hasText: "batch run-now" }).first()).toContainText("ok");
  await screenshots(page, "batch-run");

  // The backfill preview of that day and the nine before (no orders then): the day done is skipped, the others will run.
  const first = new Date(dayStart - 9 * DAY_MS).toISOString().slice(0, 10);
  await page.getByTestId("backfill-from").fill(first);
  await page.getByTestId("backfill-to").fill(date);
  await page.getByTestId("backfill-preview").click();
  const plan = page.getByTestId("backfill-plan");
  await expect(plan.locator("tbody tr")).toHaveCount(10);
  await expect(plan.locator("tbody tr").nth(0)).toHaveAttribute("data-action", "run");
  // The day's reconcile never ran: the day is not done, only its KPIs are.
  await expect(plan.locator("tbody tr").nth(9)).toContainText("Reconcile");
  await expect(page.getByTestId("backfill-run")).toContainText("Backfill 10 days");

  // Queue it (19 runs, oldest first) and cancel after the current day at once. A run is a child process
  // that takes a second or more even on a day without orders (an earlier test backfilled 2 days, and
  // both runs had finished before the cancel reached the scheduler), so the last day's reconcile has
  // not started and shows skipped.
  await page.getByTestId("backfill-run").click();
  await expect(page.getByTestId("action-message")).toContainText("backfill queued 19 run(s)");
  await page.getByTestId("cancel-queued").click();
  await expect(page.getByTestId("action-message")).toContainText(/^skipped (1[0-9]|[1-9]) queued run\(s\)/);
  await expect(cell(page, date, "reconcile")).toHaveAttribute("data-status", "skipped");
  await expect(cell(page, date, "batch_daily")).toHaveAttribute("data-status", "success");
  for (const what of ["batch backfill", "batch cancel"]) await expect(page.getByTestId("audit").getByTestId("audit-row").filter({ hasText: what }).first()).toContainText("ok", { timeout: 15_000 });
  await screenshots(page, "batch-backfill-cancelled");
});

/** The reconciliation view's rows for the truth's range. */
async function compare(page: Page): Promise<void> {
  await page.getByTestId("reconcile-compare").click();
  await expect(page.getByTestId("reconcile-compare")).toHaveText("Compare", { timeout: 60_000 });
}

test("Reconciliation: a window corrupted in InfluxDB is highlighted with its difference; repair this range makes it equal", async ({ page }) => {
  await page.goto(`${stack.baseUrl}/batch`);
  const from = new Date(truthStarts[0]! - 60_000).toISOString();
  const to = new Date(truthStarts.at(-1)! + 2 * 60_000).toISOString();
  await page.getByTestId("reconcile-from").fill(from);
  await page.getByTestId("reconcile-to").fill(to);

  // Before: the hot path equals the lake replay in every window and partition (late and duplicates included).
  await expect
    .poll(
      async () => {
        await compare(page);
        return page.getByTestId("reconcile-status").textContent();
      },
      { timeout: 90_000, intervals: [3_000], message: "InfluxDB equal to the lake before the corruption" },
    )
    .toBe("equal");
  await expect(page.locator('[data-testid="reconcile-row"][data-mismatch="true"]')).toHaveCount(0);

  // Corrupt one window of one partition in InfluxDB: +12.34 revenue and +5 orders over what the hot path wrote.
  const [target] = seriesRows(await influxQuery(influx(), `SELECT "revenue", "orders", "partition" FROM "order_window" WHERE "orders" > 0 ORDER BY time LIMIT 1`, 30_000));
  const start = Number(target!.time);
  const partition = String(target!.partition);
  const revenue = Number(target!.revenue);
  const orders = Number(target!.orders);
  const write = await fetch(`${influx().url}/write?db=${influx().database}&precision=ms`, {
    method: "POST",
    body: `order_window,partition=${partition} revenue=${(revenue + 12.34).toFixed(2)},orders=${orders + 5}i ${start}`,
  });
  expect(write.status, await write.text()).toBe(204);

  await compare(page);
  await expect(page.getByTestId("reconcile-status")).toHaveText("mismatched");
  const bad = page.locator('[data-testid="reconcile-row"][data-mismatch="true"]');
  await expect(bad).toHaveCount(1);
  await expect(bad).toHaveAttribute("data-start", String(start));
  await expect(bad).toHaveAttribute("data-partition", partition);
  await expect(bad.locator('[data-field="revenue"] [data-testid="difference"]')).toHaveText("+12.34");
  await expect(bad.locator('[data-field="orders"] [data-testid="difference"]')).toHaveText("+5");
  await expect(page.getByTestId("mismatched-cells")).toHaveText("1");
  await bad.scrollIntoViewIfNeeded();
  await screenshots(page, "reconcile-mismatch");

  await page.getByTestId("reconcile-repair").click();
  await expect(page.getByTestId("repair-progress")).toBeVisible();
  await expect(page.getByTestId("repair-progress")).toHaveAttribute("data-status", "success", { timeout: 150_000 });
  await expect(page.getByTestId("reconcile-status")).toHaveText("equal", { timeout: 60_000 });
  await expect(page.locator('[data-testid="reconcile-row"][data-mismatch="true"]')).toHaveCount(0);
  // InfluxDB itself holds the hot path's values again.
  const [repaired] = seriesRows(await influxQuery(influx(), `SELECT "revenue", "orders" FROM "order_window" WHERE "partition" = '${partition}' AND time = ${start}ms`, 30_000));
  expect([Number(repaired!.revenue), Number(repaired!.orders)]).toEqual([revenue, orders]);
  await expect(page.getByTestId("audit").getByTestId("audit-row").filter({ hasText: "reconcile repair" }).first()).toContainText("ok");
  await screenshots(page, "reconcile-repaired");
});
