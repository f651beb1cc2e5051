/**
 * The local stack as child processes: the metrics, lake, feed, scheduler and alerts workers and the built web
 * app (workers/web.ts), each with its output in a log file. `npm run demo` and the Playwright
 * suite start it the same way; the services (Kafka, InfluxDB) come from scripts/services.ts.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readdirSync, statSync, type WriteStream } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export const STACK_SCRIPTS = {
  metrics: "workers/metrics.ts",
  lake: "workers/lake.ts",
  feed: "workers/feed.ts",
  web: "workers/web.ts",
  scheduler: "workers/scheduler.ts",
  alerts: "workers/alerts.ts",
  simulator: "workers/simulator.ts",
} as const;
export type StackRole = keyof typeof STACK_SCRIPTS;

/** What each long-running process logs once it serves: start-up is done when this appears. */
const READY: Partial<Record<StackRole, RegExp>> = { feed: /feed listening/, web: /dashboard listening/, scheduler: /scheduler started/, alerts: /alerts worker started/ };

export class StackProcessError extends Error {
  override name = "StackProcessError";
}

/** One process of the stack. `start()` again after `stop()` restarts it with the same environment. */
export class StackProcess {
  child: ChildProcess | undefined;
  /** The last 64 KiB of output, for readiness checks and failure messages. */
  tail = "";
  exited: Promise<number | null> = Promise.resolve(null);
  private log: WriteStream | undefined;

  constructor(
    readonly role: StackRole,
    private readonly env: Record<string, string>,
    readonly logFile: string,
    private readonly args: string[] = [],
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns node with tsx as a loader (a signal reaches the process itself) and waits until it is ready. */
  async start(timeoutMs = 90_000): Promise<void> {
    mkdirSync(dirname(this.logFile), { recursive: true });
    this.log = createWriteStream(this.logFile, { flags: "a" });
    this.tail = "";
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, STACK_SCRIPTS[this.role]), ...this.args], { cwd: ROOT, env: { ...process.env, ...this.env }, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const take = (chunk: Buffer) => {
      this.log?.write(chunk);
      this.tail = (this.tail + chunk.toString()).slice(-65_536);
    };
    child.stdout!.on("data", take);
    child.stderr!.on("data", take);
    this.exited = new Promise((res) => child.on("exit", (code) => res(code)));
    const ready = READY[this.role];
    if (ready) await this.waitForOutput(ready, timeoutMs);
  }

  async waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.tail)) {
      if (!this.running) throw new StackProcessError(`${this.role} exited (${this.child?.exitCode ?? this.child?.signalCode}) before ${pattern}; see ${this.logFile}:\n${this.tail.slice(-3_000)}`);
      if (Date.now() > deadline) throw new StackProcessError(`${this.role}: timed out waiting for ${pattern}; see ${this.logFile}:\n${this.tail.slice(-3_000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 12_000): Promise<void> {
    if (!this.running) return;
    const child = this.child!;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
    this.log?.end();
  }
}

/** Newest modification time (ms) under the given paths: sources the web build depends on. */
function newestSource(paths: string[]): number {
  let newest = 0;
  const visit = (path: string) => {
    if (!existsSync(path)) return;
    const info = statSync(path);
    if (info.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
    else newest = Math.max(newest, info.mtimeMs);
  };
  for (const p of paths) visit(join(ROOT, p));
  return newest;
}

/** Runs `next build` unless a build newer than every source it depends on exists; throws if the build fails. */
export function ensureWebBuild(log: (line: string) => void = console.error): void {
  const buildId = join(ROOT, ".next/BUILD_ID");
  // The Batch page's routes bundle the scheduler's run store (workers/ops) and the batch steps (workers/batch) too.
  const sources = newestSource(["app", "lib", "proxy.ts", "workers/shared", "workers/ops", "workers/batch", "next.config.ts", "package.json"]);
  if (existsSync(buildId) && statSync(buildId).mtimeMs > sources) return;
  log("building the web app (next build)…");
  const result = spawnSync(process.execPath, [join(ROOT, "node_modules/next/dist/bin/next"), "build"], { cwd: ROOT, stdio: ["ignore", 2, 2], env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  if (result.status !== 0) throw new StackProcessError(`next build failed (exit ${result.status})`);
}

/** The long-running workers that serve /healthz and /metrics on HEALTH_PORT. */
const HEALTH_ROLES = ["metrics", "lake", "feed", "scheduler", "alerts"] as const satisfies StackRole[];

/**
 * A HEALTH_PORT per worker role of `roles` (from `ports`, e.g. free ones) and the web's
 * WORKER_HEALTH_URLS naming them on 127.0.0.1: how the Pipeline page finds the workers' health.
 */
export function healthEndpoints(roles: StackRole[], ports: number[]): { roleEnv: Partial<Record<StackRole, Record<string, string>>>; workerHealthUrls: string } {
  const workers = HEALTH_ROLES.filter((r) => roles.includes(r));
  const roleEnv = Object.fromEntries(workers.map((r, i) => [r, { HEALTH_PORT: String(ports[i]) }]));
  return { roleEnv, workerHealthUrls: workers.map((r, i) => `${r}=http://127.0.0.1:${ports[i]}`).join(",") };
}

/** Starts the roles in order (workers first, the web app last) and returns them; stops what started if one fails. `roleEnv` adds variables for one role. */
export async function startStack(roles: StackRole[], env: Record<string, string>, logDir: string, roleEnv: Partial<Record<StackRole, Record<string, string>>> = {}): Promise<Map<StackRole, StackProcess>> {
  const started = new Map<StackRole, StackProcess>();
  try {
    for (const role of roles) {
      const process = new StackProcess(role, { ...env, ...roleEnv[role] }, join(logDir, `${role}.log`));
      started.set(role, process);
      await process.start();
    }
  } catch (error) {
    await stopStack(started);
    throw error;
  }
  return started;
}

/** Stops every process, the last started first. */
export async function stopStack(processes: Map<StackRole, StackProcess>): Promise<void> {
  for (const p of [...processes.values()].reverse()) await p.stop();
}
