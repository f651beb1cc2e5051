import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { businessDay } from "../../lib/contract/business-day.ts";
import { REPAIR_JOB, type RunJob, type RunRange } from "../../lib/ops/schedule.ts";
import type { JobResult, JobRunner } from "./scheduler-loop.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const MAX_OUTPUT = 1024 * 1024;

/** The CLI and arguments of a job: the same commands an external orchestrator runs (their exit codes are the contract). */
export function jobCommand(job: RunJob, date: string, timeZone: string, range: RunRange | null = null): { script: string; args: string[] } {
  if (job === "batch_daily") return { script: "workers/cli/batch-daily.ts", args: ["--date", date] };
  if (job === REPAIR_JOB) {
    if (!range) throw new Error(`${REPAIR_JOB} needs a range`);
    return { script: "workers/cli/reconcile.ts", args: ["--from", new Date(range.fromMs).toISOString(), "--to", new Date(range.toMs).toISOString(), "--repair"] };
  }
  const day = businessDay(date, timeZone);
  return { script: "workers/cli/reconcile.ts", args: ["--from", new Date(day.startMs).toISOString(), "--to", new Date(day.endMs).toISOString()] };
}

/** Runs jobs as child processes of the CLIs (node + tsx), with the scheduler's environment; `onSpawn` sees each child (to stop it on shutdown). */
export function cliJobRunner(timeZone: string, env: Record<string, string | undefined>, onSpawn?: (kill: () => void) => void): JobRunner {
  return (job, date, { range, onOutput }) =>
    new Promise<JobResult>((res, rej) => {
      const { script, args } = jobCommand(job, date, timeZone, range);
      const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, script), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      const keep = (text: string, chunk: Buffer) => (text + chunk.toString()).slice(-MAX_OUTPUT);
      child.stdout.on("data", (d: Buffer) => {
        stdout = keep(stdout, d);
        onOutput?.(stdout, stderr);
      });
      child.stderr.on("data", (d: Buffer) => {
        stderr = keep(stderr, d);
        onOutput?.(stdout, stderr);
      });
      child.on("error", rej);
      child.on("close", (code) => res({ exitCode: code, stdout, stderr }));
      onSpawn?.(() => child.kill("SIGTERM"));
    });
}
