/**
 * `npm run demo`: the whole product on this machine, no Docker. Starts the local services
 * (installing what they need with apt when run as root), the metrics, lake, feed, scheduler and alerts workers,
 * the built web app and the simulator at a realistic rate with some late, duplicate and
 * malformed orders, then prints the URL. The simulator writes the dimensions of its own
 * customers and catalog (--dims-out) and they are loaded (dims:load) before the workers
 * start, so the segment breakdown is there from the first window. Ctrl-C stops everything it started.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { Command } from "commander";
import { freePort } from "./free-port.ts";
import { servicesDown, servicesUp } from "./services.ts";
import { ensureWebBuild, healthEndpoints, ROOT, startStack, stopStack, StackProcess, type StackRole } from "./stack.ts";
import { SERVICES_DIR, SERVICES_ENV_FILE } from "../workers/shared/env.ts";
import { wholeNumberArg } from "../workers/shared/cli-args.ts";

const program = new Command("demo")
  .description("Run the whole local stack with the simulator (README: Demo)")
  .option("--rate <n>", "simulated orders per second", wholeNumberArg(1), 20)
  .option("--port <n>", "web port (default PORT or 3000, else a free one)", wholeNumberArg(1))
  .parse();
const opts = program.opts<{ rate: number; port?: number }>();

async function main(): Promise<void> {
  const servicesWereUp = existsSync(SERVICES_ENV_FILE);
  console.error("demo: starting Kafka and InfluxDB (npm run services:up)…");
  await servicesUp({ topic: process.env.KAFKA_TOPIC || "orders", partitions: 8 });
  ensureWebBuild();
  const webPort = opts.port ?? (await freePort(Number(process.env.PORT) || 3000));
  const feedPort = await freePort(Number(process.env.FEED_PORT) || 3001);
  const roles: StackRole[] = ["metrics", "lake", "feed", "scheduler", "alerts", "web"];
  // Each worker's health server on a port of its own, named to the web in WORKER_HEALTH_URLS (the Pipeline page's Workers panel).
  const ports: number[] = [];
  for (const preferred of [9464, 9465, 9466, 9467, 9468]) ports.push(await freePort(preferred));
  const health = healthEndpoints(roles, ports);
  const env = { PORT: String(webPort), FEED_PORT: String(feedPort), LAKE_DIR: process.env.LAKE_DIR ?? join(SERVICES_DIR, "demo-lake"), WORKER_HEALTH_URLS: health.workerHealthUrls };
  const logDir = join(SERVICES_DIR, "demo-logs");
  const dimsDir = join(SERVICES_DIR, "demo-dims");
  const simulator = new StackProcess("simulator", env, join(logDir, "simulator.log"), ["--rate", String(opts.rate), "--late", "0.02", "--duplicates", "0.02", "--malformed", "0.01", "--out-of-order", "0.05", "--nulls", "0.02", "--dims-out", dimsDir]);
  await simulator.start();
  await simulator.waitForOutput(/wrote the simulated dimensions/);
  const load = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "workers/cli/dims-load.ts"), "--customers", join(dimsDir, "dim_customer.csv"), "--products", join(dimsDir, "dim_product.csv")], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  if (load.status !== 0) throw new Error(`dims:load failed (${load.status}): ${load.stderr}`);
  console.error(`demo: ${load.stdout.trim().split("\n").join("; ")}`);
  const stack = await startStack(roles, env, logDir, health.roleEnv);
  stack.set("simulator", simulator);

  console.log(`\norderpulse demo: http://localhost:${webPort}/  (feed on port ${feedPort}, ${opts.rate} orders/s)`);
  console.log(`logs: ${logDir}/{metrics,lake,feed,scheduler,alerts,web,simulator}.log · Ctrl-C stops everything`);
  console.log(`lake: ${env.LAKE_DIR} (the lake commands take it from LAKE_DIR: LAKE_DIR=${relative(process.cwd(), env.LAKE_DIR) || "."} npm run query -- "SELECT country, count(*) FROM orders GROUP BY 1")`);
  if (!process.env.DASHBOARD_TOKEN && !process.env.DASHBOARD_PASSWORD)
    console.log("access: open, no sign-in (DASHBOARD_TOKEN or DASHBOARD_PASSWORD set for npm run demo turns it on; README: Access control)");

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.error("\ndemo: stopping…");
    await stopStack(stack);
    if (!servicesWereUp) {
      const { stopped } = await servicesDown();
      if (stopped.length) console.error(`demo: stopped ${stopped.join(", ")}`);
    }
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  // A process that dies on its own ends the demo with its log's tail: a half-running demo would mislead.
  for (const p of stack.values()) {
    void p.exited.then((exitCode) => {
      if (stopping) return;
      console.error(`demo: ${p.role} exited (${exitCode}); last output:\n${p.tail.slice(-2_000)}`);
      void stop(1);
    });
  }
}

main().catch((error: Error) => {
  console.error(`demo: ${error.message}`);
  process.exit(1);
});
