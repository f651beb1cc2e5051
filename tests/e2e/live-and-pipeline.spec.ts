/**
 * The whole local stack in Chromium: services, metrics, lake and feed workers, the built web
 * app, and the simulator with --truth. What the pages show is checked against the truth file
 * and against InfluxDB, never against the app's own numbers.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { kafkaEnvSchema, readConfig } from "../../lib/contract/config.ts";
import { StackProcess } from "../../scripts/stack.ts";
import type { ChartRow } from "../../lib/web/live-series.ts";
import { loadEnv } from "../../workers/shared/env.ts";
import { createKafka } from "../../workers/shared/kafka.ts";
import { committedOffsets, topicOffsets } from "../../workers/shared/kafka-admin.ts";
import { hotPathTotals, truthByWindow } from "../support/workers.ts";
import { parseSummary } from "../support/processes.ts";
import { E2E_WINDOW_MS, screenshots, startE2EStack, type E2EStack } from "./stack-fixture.ts";

test.describe.configure({ mode: "serial" });

let stack: E2EStack;
const kafkaConfig = () => readConfig(kafkaEnvSchema, { ...loadEnv(), ...stack.env });

/** Messages in the dead-letter topic, and whether the metrics group has read everything in the orders topic. */
async function brokerState(): Promise<{ deadLetters: number; metricsLag: number }> {
  const config = kafkaConfig();
  const admin = createKafka(config, "orderpulse-e2e").admin();
  await admin.connect();
  try {
    const dlq = await topicOffsets(admin, config.dlqTopic);
    const orders = await topicOffsets(admin, config.topic);
    const committed = await committedOffsets(admin, "orderpulse-metrics", config.topic);
    return {
      deadLetters: dlq.reduce((s, o) => s + o.logEnd - o.logStart, 0),
      metricsLag: orders.reduce((s, o) => s + o.logEnd - Math.max(o.logStart, committed.get(o.partition) ?? o.logStart), 0),
    };
  } finally {
    await admin.disconnect();
  }
}

/** The windows table as the browser shows it (numbers read back from the text, not from the app's data). */
const shownRows = (page: Page): Promise<ChartRow[]> =>
  page.locator('[data-testid="window-row"]').evaluateAll((rows) =>
    rows.map((r) => {
      const cell = (field: string) => r.querySelector(`[data-field="${field}"]`)!;
      const number = (field: string) => Number(cell(field).textContent!.replace(/,/g, ""));
      return {
        start: Number(r.getAttribute("data-start")),
        revenue: number("revenue"),
        orders: number("orders"),
        late: number("late"),
        lateRevenue: Number(cell("late").getAttribute("data-late-revenue")),
        final: r.getAttribute("data-final") === "true",
      };
    }),
  );

const cents = (x: number) => Math.round(x * 100);

/** Runs the simulator to completion with a truth file; returns its summary counts. */
async function simulate(name: string, args: string[]): Promise<Record<string, number>> {
  const run = new StackProcess("simulator", stack.env, join(stack.dir, `logs/${name}.log`), ["--truth", join(stack.dir, `${name}.ndjson`), ...args]);
  await run.start();
  expect(await run.exited, run.tail).toBe(0);
  return parseSummary(run.tail);
}

/** Every truth file of the run: windows may hold orders of both simulator runs. */
const TRUTH_RUNS = ["chaos", "tail"];
const CLEAN = ["--rate", "100", "--count", "400"];

test.beforeAll(async () => {
  test.setTimeout(300_000);
  stack = await startE2EStack(["metrics", "lake", "feed", "web"]);
});

test.afterAll(async () => {
  await stack?.stop();
});

test("Live: the open window grows while orders flow and is partial; after the run every window equals the truth and is final; a feed restart reconnects without a missing window", async ({ page }) => {
  const before = await brokerState();
  expect(before.deadLetters).toBe(0);
  const dimsDir = join(stack.dir, "dims");
  const chaos = simulate("chaos", ["--rate", "40", "--duration", "45s", "--seed", "7", "--late", "0.03", "--duplicates", "0.03", "--malformed", "0.04", "--out-of-order", "0.05", "--dims-out", dimsDir]);
  // The simulator's own dimensions, loaded while it runs: the metrics worker picks them up without a restart.
  await expect.poll(() => existsSync(join(dimsDir, "dim_product.csv")), { timeout: 30_000 }).toBe(true);
  const load = spawnSync(process.execPath, ["--import", "tsx", "workers/cli/dims-load.ts", "--customers", join(dimsDir, "dim_customer.csv"), "--products", join(dimsDir, "dim_product.csv")], {
    env: { ...process.env, ...stack.env },
    encoding: "utf8",
  });
  expect(load.status, load.stderr).toBe(0);

  await page.goto(`${stack.baseUrl}/`);
  await expect(page.getByTestId("connection-status")).toHaveText("live");

  // The open window: marked partial, and its revenue grows as orders arrive.
  const partial = page.locator('[data-testid="window-row"][data-final="false"]').first();
  await expect(partial).toBeVisible({ timeout: 30_000 });
  await expect(partial.locator(".tag")).toHaveText("partial");
  const start = Number(await partial.getAttribute("data-start"));
  const row = page.locator(`[data-testid="window-row"][data-start="${start}"]`);
  const firstRevenue = Number((await row.locator('[data-field="revenue"]').textContent())!.replace(/,/g, ""));
  await expect.poll(async () => Number((await row.locator('[data-field="revenue"]').textContent())!.replace(/,/g, "")), { timeout: 20_000 }).toBeGreaterThan(firstRevenue);
  await screenshots(page, "live-running");

  // Stop the feed while orders still flow: the page says reconnecting, then live once it is back.
  const feed = stack.processes.get("feed")!;
  await feed.stop();
  await expect(page.getByTestId("connection-status")).toHaveText(/reconnecting|offline/, { timeout: 20_000 });
  await page.waitForTimeout(2 * E2E_WINDOW_MS);
  await feed.start();
  await expect(page.getByTestId("connection-status")).toHaveText("live", { timeout: 30_000 });

  const sent = await chaos;
  // Valid orders last on every partition: the metrics worker never commits past a trailing invalid record
  // (its commits follow the window engine, which sees valid orders only), so its lag could not reach 0.
  await simulate("tail", CLEAN);
  const truthFile = join(stack.dir, "truth.ndjson");
  writeFileSync(truthFile, TRUTH_RUNS.map((run) => readFileSync(join(stack.dir, `${run}.ndjson`), "utf8")).join(""));
  const truth = truthByWindow(truthFile, E2E_WINDOW_MS);
  const truthStarts = [...truth.keys()].sort((a, b) => a - b);
  expect(truthStarts.length).toBeGreaterThan(4);

  // After the run: every truth window shown final, on-time + late equal to the truth (to the cent), late as InfluxDB counted it.
  await expect
    .poll(
      async () => {
        const rows = new Map((await shownRows(page)).map((r) => [r.start, r]));
        return truthStarts.filter((s) => {
          const r = rows.get(s);
          const t = truth.get(s)!;
          return !r || !r.final || r.orders + r.late !== t.orders || cents(r.revenue) + cents(r.lateRevenue) !== t.revenueCents;
        }).length;
      },
      { timeout: 120_000, intervals: [2_000], message: "windows still open or not equal to the truth" },
    )
    .toBe(0);
  const shown = new Map((await shownRows(page)).map((r) => [r.start, r]));
  const influx = await hotPathTotals({ version: 1, url: loadEnv().INFLUX_URL!, database: stack.env.INFLUX_DB! }, E2E_WINDOW_MS);
  for (const s of truthStarts) {
    const r = shown.get(s)!;
    const t = truth.get(s)!;
    expect({ start: s, orders: r.orders + r.late, revenueCents: cents(r.revenue) + cents(r.lateRevenue), final: r.final }).toEqual({ start: s, orders: t.orders, revenueCents: t.revenueCents, final: true });
    expect({ start: s, late: r.late, orders: r.orders }).toEqual({ start: s, late: influx.late.get(s)?.orders ?? 0, orders: influx.onTime.get(s)?.orders ?? 0 });
  }
  expect(sent.late, "the run sent late orders").toBeGreaterThan(0);
  expect([...shown.values()].reduce((n, r) => n + r.late, 0)).toBeGreaterThan(0);

  // No missing window between the first and last on-time window, across the feed restart.
  const onTimeStarts = truthStarts.filter((s) => (influx.onTime.get(s)?.orders ?? 0) > 0);
  for (let s = onTimeStarts[0]!; s <= onTimeStarts.at(-1)!; s += E2E_WINDOW_MS) expect(shown.has(s), `window ${new Date(s).toISOString()} shown`).toBe(true);
  // Revenue by segment: the simulator's segments, adding up to the same revenue as every other breakdown.
  const segmentCard = page.getByTestId("breakdown-segment");
  await expect(segmentCard).toContainText("consumer");
  await expect(segmentCard).toContainText("enterprise");
  const breakdown = (await (await page.request.get(`${stack.baseUrl}/api/live/breakdown?range=1h`)).json()) as Record<string, { key: string; revenue: number }[]>;
  const total = (rows: { revenue: number }[]) => rows.reduce((sum, r) => sum + cents(r.revenue), 0);
  expect(total(breakdown.segment!)).toBe(total(breakdown.country!));
  expect(breakdown.segment!.map((r) => r.key)).toEqual(expect.arrayContaining(["consumer", "small_business", "enterprise", "student"]));
  await screenshots(page, "live-settled");

  // Pipeline: zero lag for both workers on every partition after catch-up; dead letters = malformed messages sent.
  await page.goto(`${stack.baseUrl}/pipeline`);
  await expect(page.getByTestId("partition-row").first()).toBeVisible();
  const partitionCount = await page.getByTestId("partition-row").count();
  expect(partitionCount).toBe(8);
  for (const group of ["orderpulse-metrics", "orderpulse-lake"]) {
    await expect
      .poll(async () => page.locator(`[data-testid="partition-row"] [data-group="${group}"][data-field="lag"]`).evaluateAll((cells) => cells.map((c) => c.getAttribute("data-lag"))), { timeout: 90_000, message: `${group} lag per partition` })
      .toEqual(Array.from({ length: partitionCount }, () => "0"));
  }
  expect(sent.malformed).toBeGreaterThan(0);
  await expect(page.getByTestId("dlq-count")).toHaveText(String(before.deadLetters + sent.malformed!), { timeout: 30_000 });
  await expect(page.getByTestId("dead-letters").locator("tbody tr").first()).not.toContainText("no dead letters");
  // The rate is an average over the last 5 minutes (lib/web/dead-letter-rate.ts), and says so.
  await expect(page.getByTestId("dead-letters")).toContainText("per minute (last 5 min)");
  await expect(page.getByTestId("dlq-rate")).toHaveText(/^\d+(\.\d)?$/);
  // Topic settings from DescribeConfigs: the stack's three topics, kept with no time limit, nothing to warn of.
  await expect(page.getByTestId("topics")).toHaveAttribute("data-ok", "true");
  const topicRows = page.getByTestId("topic-row");
  await expect(topicRows).toHaveCount(3);
  expect(await topicRows.evaluateAll((rows) => rows.map((r) => [r.getAttribute("data-topic"), r.getAttribute("data-warnings"), r.children[1]!.textContent]))).toEqual(
    ["orders", "orders.dlq", "orders.metrics"].map((topic) => [topic, "0", "no time limit"]),
  );
  await screenshots(page, "pipeline");
});

test("Lake and Batch answer 200 inside the shell; the Lake chart puts revenue beside orders on a right-hand axis; the light theme survives a reload", async ({ page }) => {
  for (const path of ["/lake", "/batch"]) {
    const response = await page.goto(`${stack.baseUrl}${path}`);
    expect(response?.status()).toBe(200);
    await expect(page.getByRole("navigation", { name: "main" })).toContainText("Pipeline");
    await screenshots(page, path.slice(1));
  }
  // Orders (tens a minute) and revenue (thousands) differ far more than 10×: revenue gets the right axis (lib/web/chart-axes.ts).
  await page.goto(`${stack.baseUrl}/lake`);
  const sql = "SELECT date_trunc('minute', event_time) AS minute, count(*) AS orders, sum(amount) AS revenue FROM orders GROUP BY ALL ORDER BY minute";
  await page.locator(".cm-content").fill(sql);
  await expect.poll(() => page.locator(".cm-content").innerText()).toBe(sql);
  await page.keyboard.press("Control+Enter");
  await expect(page.getByTestId("result-summary")).toBeVisible({ timeout: 30_000 });
  await page.getByRole("button", { name: "Chart", exact: true }).click();
  const chart = page.getByTestId("chart-line");
  await expect(chart).toHaveAttribute("data-axes", "two");
  await expect(chart.locator(".recharts-yAxis")).toHaveCount(2);
  await expect(chart.locator(".recharts-legend-wrapper")).toContainText("orders (left axis)");
  await expect(chart.locator(".recharts-legend-wrapper")).toContainText("revenue (right axis)");
  await screenshots(page, "lake-chart");
  await page.goto(`${stack.baseUrl}/`);
  await page.getByTestId("theme-toggle").click();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
  await page.waitForTimeout(3_000);
  await screenshots(page, "live-light");
});
