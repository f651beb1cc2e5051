/**
 * What the e2e specs share: the local services (scripts/services.ts, stopped afterwards only
 * if this run started them), a stack of workers and the built web app with test-sized windows,
 * and where screenshots go.
 */
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { freePort } from "../../scripts/free-port.ts";
import { servicesDown, servicesUp } from "../../scripts/services.ts";
import { startKafka, stopKafka } from "../../scripts/kafka/broker.ts";
import { ensureWebBuild, healthEndpoints, ROOT, startStack, stopStack, type StackProcess, type StackRole } from "../../scripts/stack.ts";
import { loadEnv, SERVICES_ENV_FILE } from "../../workers/shared/env.ts";

export const SCREENSHOT_DIR = join(ROOT, "artifacts/e2e/screenshots");
export const VIEWPORTS = { laptop: { width: 1440, height: 900 }, wall: { width: 2560, height: 1440 } } as const;

/** Short windows keep the run quick; the code path is the one 1-minute windows take (tests/support/workers.ts TEST_WINDOW_ENV). */
export const E2E_WINDOW_MS = 10_000;
export const E2E_WINDOW_ENV = { WINDOW_SIZE: "10s", WATERMARK_DELAY: "5s", IDLE_TIMEOUT: "1s", EMIT_INTERVAL: "200ms", KAFKA_SESSION_TIMEOUT: "6s", LAKE_ROTATE_AGE: "3s" };

export interface E2EStack {
  env: Record<string, string>;
  baseUrl: string;
  dir: string;
  processes: Map<StackRole, StackProcess>;
  stop: () => Promise<void>;
}

/**
 * Services up (InfluxDB is shared, with a fresh database per stack), a Kafka dev broker of the
 * stack's own (the feed replays all of `<topic>.metrics`, and dead letters and lag are counted
 * per topic: another run's messages would be in them), then the given roles; the web app last.
 */
export async function startE2EStack(roles: StackRole[], extraEnv: Record<string, string> = {}): Promise<E2EStack> {
  const servicesWereUp = existsSync(SERVICES_ENV_FILE) || Boolean(process.env.KAFKA_BROKERS && process.env.INFLUX_URL);
  await servicesUp({ topic: process.env.KAFKA_TOPIC || "orders", partitions: 8 });
  if (roles.includes("web")) ensureWebBuild();
  const dir = mkdtempSync(join(tmpdir(), "orderpulse-e2e-"));
  const broker = await startKafka({ dir: join(dir, "kafka"), topics: { orders: 8, "orders.dlq": 1, "orders.metrics": 2 } });
  // The workers' health servers, named to the web: the Pipeline page's Workers panel.
  const ports: number[] = [];
  for (let i = 0; i < roles.length; i++) ports.push(await freePort());
  const health = healthEndpoints(roles, ports);
  const env = {
    ...E2E_WINDOW_ENV,
    WORKER_HEALTH_URLS: health.workerHealthUrls,
    KAFKA_BROKERS: broker.bootstrap,
    KAFKA_TOPIC: "orders",
    INFLUX_URL: loadEnv().INFLUX_URL!,
    // The stack's own state directory: the web app's audit log lands there.
    ORDERPULSE_STATE_DIR: join(dir, "state"),
    INFLUX_DB: `e2e_${Date.now()}`,
    LAKE_DIR: join(dir, "lake"),
    FEED_PORT: String(await freePort()),
    PORT: String(await freePort()),
    ...extraEnv,
  };
  const processes = await startStack(roles, env, join(dir, "logs"), health.roleEnv).catch(async (error: Error) => {
    await stopKafka(broker);
    throw error;
  });
  return {
    env,
    dir,
    baseUrl: `http://127.0.0.1:${env.PORT}`,
    processes,
    stop: async () => {
      await stopStack(processes);
      await stopKafka(broker);
      if (!servicesWereUp && !process.env.ORDERPULSE_KEEP_SERVICES) await servicesDown();
    },
  };
}

/** Saves the page at laptop and wall-screen sizes (and light theme at laptop size) under artifacts/e2e/screenshots. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  for (const [size, viewport] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(800);
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${size}.png`) });
  }
  await page.setViewportSize(VIEWPORTS.laptop);
}
