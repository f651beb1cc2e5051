import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseEnvFile, SERVICES_ENV_FILE } from "../../workers/shared/env.ts";

export const ROOT = resolve(import.meta.dirname, "../..");

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion with exactly `env`, in `cwd`; `ms` is how long it ran. */
export function runCommand(command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number }): Promise<Finished & { ms: number }> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((res, rej) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      rej(new Error(`${command} ${args.join(" ")} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Runs one of our TypeScript entry points to completion, as `npm run` would. */
export function runScript(script: string, args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 120_000): Promise<Finished> {
  return runCommand(process.execPath, ["--import", "tsx", join(ROOT, script), ...args], { env: { ...process.env, ...env }, timeoutMs });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `orderpulse-${prefix}-`));
}

/** The endpoints the integration run's services recorded. */
export function servicesEnv(): Record<string, string | undefined> {
  return parseEnvFile(readFileSync(SERVICES_ENV_FILE, "utf8"));
}

/** Reads a topic with kcat (librdkafka), an independent Kafka client: one "partition key" line per message. */
export function kcatRead(bootstrap: string, topic: string): string[] {
  const result = spawnSync("kcat", ["-b", bootstrap, "-t", topic, "-C", "-e", "-q", "-o", "beginning", "-f", "%p %k\\n"], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 60_000 });
  if (result.status !== 0) throw new Error(`kcat failed (${result.status}): ${result.stderr}`);
  return result.stdout.split("\n").filter(Boolean);
}

/** Parses the simulator's `summary key=value ...` line. */
export function parseSummary(stdout: string): Record<string, number> {
  const line = stdout.split("\n").find((l) => l.startsWith("summary "));
  if (!line) throw new Error(`no summary line in:\n${stdout}`);
  return Object.fromEntries(
    line
      .slice("summary ".length)
      .split(" ")
      .map((pair) => pair.split("="))
      .filter(([, v]) => v !== undefined && /^\d+(\.\d+)?(\/s)?$/.test(v))
      .map(([k, v]) => [k!, Number.parseFloat(v!)]),
  );
}

/** Topic names and partition counts ("orders:8") as kcat, an independent client, lists them; Kafka's internal `__` topics left out. */
export function kcatTopics(bootstrap: string): string[] {
  const result = spawnSync("kcat", ["-b", bootstrap, "-L", "-J"], { encoding: "utf8", timeout: 20_000 });
  if (result.status !== 0) throw new Error(`kcat -L failed (${result.status}): ${result.stderr}`);
  return (JSON.parse(result.stdout).topics as { topic: string; partitions: unknown[] }[])
    .filter((t) => !t.topic.startsWith("__"))
    .map((t) => `${t.topic}:${t.partitions.length}`)
    .sort();
}
