/** Lake worker processes for the lake's crash and rebalance tests. */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { isTemporaryPath } from "../../lib/lake/layout.ts";
import { ROOT } from "./processes.ts";

const TSX = join(ROOT, "node_modules/.bin/tsx");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lake worker in its own process group, so SIGKILL reaches tsx and the node process it runs. */
export class LakeWorkerProcess {
  readonly child: ChildProcess;
  output = "";
  readonly exited: Promise<number | string>;

  constructor(env: Record<string, string>) {
    this.child = spawn(TSX, [join(ROOT, "workers/lake.ts")], { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.on("data", (d) => (this.output += d));
    this.child.stderr!.on("data", (d) => (this.output += d));
    this.exited = new Promise((resolve) => this.child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  }

  async waitForLog(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`lake worker exited before logging ${pattern}:\n${this.output.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`lake worker did not log ${pattern} within ${timeoutMs} ms:\n${this.output.slice(-3000)}`);
      await sleep(100);
    }
  }

  /** SIGTERM: a graceful stop (final flush, leaves the group); resolves with the exit code. */
  async terminate(): Promise<number | string> {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.child.pid!, "SIGTERM");
    return this.exited;
  }

  async kill9(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(-this.child.pid!, "SIGKILL");
    await this.exited;
  }
}

/** Lake-relative paths of temporary files anywhere under `dir`. */
export function temporaryFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((path) => isTemporaryPath(path));
}
