import type { Cron } from "croner";
import { dueDateOf, firesBetween, jobOutcome, logTail, nextQueued, scheduledJobs, type Job, type Run, type RunJob, type RunRange, type Trigger } from "../../lib/ops/schedule.ts";
import type { RunStore } from "./run-store.ts";

/** What running one job produced: the CLI's exit code (null: killed by a signal) and its output. */
export interface JobResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface JobRunOptions {
  /** A repair's range (REPAIR_JOB); null for the daily jobs. */
  range: RunRange | null;
  /** The output so far, called as it arrives (the run's progress in the history). */
  onOutput?: (stdout: string, stderr: string) => void;
}

/** Runs one job for one business day (or a repair for its range) to completion (workers/ops/job-runner.ts spawns the CLI). */
export type JobRunner = (job: RunJob, date: string, options: JobRunOptions) => Promise<JobResult>;

export interface SchedulerLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export class SchedulerBusyError extends Error {
  override name = "SchedulerBusyError";
  constructor(readonly file: string, readonly holder: string, renewedAt: number) {
    super(`another scheduler (${holder}) holds the run history ${file} (renewed ${new Date(renewedAt).toISOString()}): one scheduler at a time`);
  }
}

const LAST_FIRE = "last_schedule_fire";
/** A lease not renewed for this long belongs to a scheduler that died. */
export const LEASE_TTL_MS = 60_000;
/** How often a run's output so far is written to the history while it runs (its progress on the Batch page). */
const PROGRESS_EVERY_MS = 1_000;

/**
 * The scheduler's loop: queues each BATCH_SCHEDULE instant's jobs for the previous
 * business day, and runs queued jobs one at a time, oldest first. IO comes in (the
 * store, the job runner, the clock), so a fake clock and runner can drive it.
 * Runs left `running` by a scheduler that died are marked failed at start.
 */
export class BatchScheduler {
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly deps: {
      store: RunStore;
      runJob: JobRunner;
      now: () => number;
      schedule: Cron;
      timeZone: string;
      owner: string;
      log: SchedulerLog;
    },
  ) {}

  /** Takes the lease, marks interrupted runs failed, and starts the schedule from now on its first ever start. Throws SchedulerBusyError. */
  start(): Run[] {
    const { store, now, owner, log } = this.deps;
    const lease = store.acquireLease(owner, now(), LEASE_TTL_MS);
    if (!lease.ok) throw new SchedulerBusyError(store.file, lease.holder, lease.renewedAt);
    const interrupted = store.recoverInterrupted(now());
    for (const run of interrupted) log.warn({ run: run.id, job: run.job, date: run.date }, "run was interrupted by a stop: marked failed");
    if (store.getState(LAST_FIRE) === undefined) store.setState(LAST_FIRE, String(now()));
    return interrupted;
  }

  /** Queues the jobs of every schedule instant since the last one seen (a restart catches up, never runs a day twice). */
  queueScheduled(): Run[] {
    const { store, now, schedule, timeZone } = this.deps;
    const at = now();
    const last = Number(store.getState(LAST_FIRE) ?? at);
    const queued: Run[] = [];
    for (const fire of firesBetween(schedule, last, at)) {
      const date = dueDateOf(fire, timeZone);
      for (const job of scheduledJobs(date, store.all())) queued.push(store.enqueue(job, date, "schedule", at));
      store.setState(LAST_FIRE, String(fire));
    }
    return queued;
  }

  /** Queues the jobs of one day by hand (a retry is this too); returns the new runs. */
  queueDay(date: string, trigger: Trigger, jobs: readonly Job[]): Run[] {
    return jobs.map((job) => this.deps.store.enqueue(job, date, trigger, this.deps.now()));
  }

  /** One step: renew the lease, queue due schedule instants, then run queued jobs until none is left. */
  tick(): Promise<void> {
    this.running ??= this.step().finally(() => (this.running = undefined));
    return this.running;
  }

  private async step(): Promise<void> {
    const { store, now, owner } = this.deps;
    const lease = store.acquireLease(owner, now(), LEASE_TTL_MS);
    if (!lease.ok) throw new SchedulerBusyError(store.file, lease.holder, lease.renewedAt);
    this.queueScheduled();
    for (let run = nextQueued(store.all()); run && !this.stopping; run = nextQueued(store.all())) await this.execute(run);
  }

  private async execute(run: Run): Promise<void> {
    const { store, now, runJob, log, owner } = this.deps;
    if (!store.start(run.id, now())) return;
    log.info({ run: run.id, job: run.job, date: run.date, trigger: run.trigger }, "run started");
    let result: JobResult;
    // A long job keeps the lease (and so the Batch page's "scheduler running") alive, and its progress visible.
    const renew = setInterval(() => store.acquireLease(owner, now(), LEASE_TTL_MS), LEASE_TTL_MS / 4);
    renew.unref();
    let written = 0;
    const onOutput = (stdout: string, stderr: string) => {
      if (Date.now() - written < PROGRESS_EVERY_MS) return;
      written = Date.now();
      store.updateLog(run.id, logTail(stdout, stderr));
    };
    try {
      result = await runJob(run.job, run.date, { range: run.range, onOutput });
    } catch (error) {
      result = { exitCode: null, stdout: "", stderr: `could not start: ${(error as Error).message}` };
    } finally {
      clearInterval(renew);
    }
    const outcome = jobOutcome(run.job, result.exitCode, result.stdout, result.stderr);
    store.finish(run.id, now(), { ...outcome, exitCode: result.exitCode, log: logTail(result.stdout, result.stderr) });
    store.acquireLease(owner, now(), LEASE_TTL_MS);
    log.info({ run: run.id, job: run.job, date: run.date, status: outcome.status, rows: outcome.rows, quality: outcome.quality, error: outcome.error }, "run finished");
  }

  /** Starts no further run, waits for the current one (the caller may stop its child), then gives the lease up. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running?.catch(() => undefined);
    this.deps.store.releaseLease(this.deps.owner);
  }
}
