/**
 * `npm run worker:scheduler`: runs `batch:daily` then `reconcile` for the previous
 * business day (BUSINESS_TZ) at every BATCH_SCHEDULE instant (cron, e.g.
 * "30 1 * * *"), one job at a time, by spawning the CLIs (workers/cli/*), whose exit
 * codes stay the contract. The run history (job, day, trigger, start, end, status,
 * rows, quality check, error, log) is SQLite at $LAKE_DIR/_runs/runs.sqlite and
 * survives restarts: a run a stop interrupted shows as failed and can be retried.
 *
 * Subcommands (they write the history; the running scheduler picks queued runs up):
 *   run --date D [--job batch_daily|reconcile]   queue a day by hand (also a retry)
 *   backfill --from D --to D [--dry-run]         queue the days missing or failed, skip days done
 *   history [--limit N]                          print the history
 *   cancel                                       skip every queued run (the current one finishes)
 *   (none)                                       run the scheduler; --once: run what is due and queued, then exit
 * The Batch page queues runs into the same history (run now, backfill, cancel, and
 * `reconcile_repair`: reconcile --repair over a range); this process runs them all.
 * With HEALTH_PORT set it answers /healthz and /metrics like the other workers.
 * Exit codes: 0 ok; 1 a run failed (with --once) or the history cannot be used; 2 bad arguments or configuration.
 */
import { hostname } from "node:os";
import { Command, InvalidArgumentError, Option } from "commander";
import { BusinessDayError, parseBusinessDate } from "../lib/contract/business-day.ts";
import { lakeEnvSchema, portsEnvSchema, schedulerEnvSchema } from "../lib/contract/config.ts";
import { formatTable } from "../lib/cli/text-table.ts";
import { backfillPlan, JOBS, parseSchedule, ScheduleError, type Job, type Run } from "../lib/ops/schedule.ts";
import { cliJobRunner } from "./ops/job-runner.ts";
import { RunStore, runStorePath } from "./ops/run-store.ts";
import { BatchScheduler } from "./ops/scheduler-loop.ts";
import { wholeNumberArg } from "./shared/cli-args.ts";
import { configOrExit, loadEnv } from "./shared/env.ts";
import { createRegistry, serveHealth } from "./shared/health.ts";
import { createLogger } from "./shared/log.ts";
import { stopOnSignals } from "./shared/shutdown.ts";

const TICK_MS = 5_000;

const dateArg = (text: string) => {
  try {
    return parseBusinessDate(text);
  } catch (error) {
    throw new InvalidArgumentError((error as BusinessDayError).message);
  }
};

function fail(message: string, code: number): never {
  console.error(`worker:scheduler: ${message}`);
  process.exit(code);
}

function openStore(): { store: RunStore; businessTz: string } {
  const lake = configOrExit(lakeEnvSchema, loadEnv());
  try {
    return { store: new RunStore(runStorePath(lake.lakeDir)), businessTz: lake.businessTz };
  } catch (error) {
    fail((error as Error).message, 1);
  }
}

const iso = (ms: number | null) => (ms === null ? "" : new Date(ms).toISOString());

function printRuns(runs: Run[]): void {
  const columns = ["id", "job", "date", "trigger", "status", "started", "ended", "rows", "quality", "error"].map((name) => ({ name }));
  process.stdout.write(formatTable(columns, runs.map((r) => [r.id, r.job, r.date, r.trigger, r.status, iso(r.startedAt), iso(r.endedAt), r.rows ?? "", r.quality ?? "", r.error ?? ""])));
}

async function serve(options: { once: boolean }): Promise<void> {
  const env = loadEnv();
  const { batchSchedule } = configOrExit(schedulerEnvSchema, env);
  const { store, businessTz } = openStore();
  const log = createLogger("scheduler");
  const children = new Set<() => void>();
  const scheduler = new BatchScheduler({
    store,
    runJob: cliJobRunner(businessTz, { ...env, LOG_LEVEL: env.LOG_LEVEL ?? "warn" }, (kill) => children.add(kill)),
    now: Date.now,
    schedule: parseSchedule(batchSchedule, businessTz),
    timeZone: businessTz,
    owner: `${hostname()}:${process.pid}`,
    log,
  });
  try {
    scheduler.start();
  } catch (error) {
    fail((error as Error).message, 1);
  }
  log.info({ schedule: batchSchedule, businessTz, history: store.file }, "scheduler started");
  // /healthz: the process serves and its loop ticks (queued runs are the history's, not Kafka lag: always 0 here).
  let lastTickAt = Date.now();
  const { healthPort } = configOrExit(portsEnvSchema, env);
  if (healthPort !== undefined && !options.once) await serveHealth(healthPort, createRegistry("scheduler"), { lastProgressAt: () => lastTickAt, lag: () => 0 }, log);
  if (options.once) {
    const startedAt = Date.now();
    await scheduler.tick();
    await scheduler.stop();
    const ran = store.all().filter((r) => r.startedAt !== null && r.startedAt >= startedAt);
    printRuns(ran);
    process.exitCode = ran.some((r) => r.status === "failed") ? 1 : 0;
    store.close();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const loop = () => {
    scheduler.tick().then(
      () => {
        lastTickAt = Date.now();
        timer = setTimeout(loop, TICK_MS);
      },
      (error: Error) => {
        log.error({ err: error.message }, "scheduler stopped");
        process.exit(1);
      },
    );
  };
  loop();
  stopOnSignals(log, "the current job is stopped and shows as failed (retry it)", "the run history", async () => {
    clearTimeout(timer);
    for (const kill of children) kill();
    await scheduler.stop();
    store.close();
  });
}

const jobOption = new Option("--job <job>", "one job only").choices(JOBS);

const program = new Command("worker:scheduler")
  .description("Run daily KPIs then reconcile for the previous business day on BATCH_SCHEDULE, with a durable run history and backfill")
  .option("--once", "run what is due and queued, then exit", false)
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .action(async (options: { once: boolean }) => serve(options));

program
  .command("run")
  .description("queue one business day by hand (a retry of a failed day too); the running scheduler runs it")
  .requiredOption("--date <YYYY-MM-DD>", "the business day, in BUSINESS_TZ", dateArg)
  .addOption(jobOption)
  .action((options: { date: string; job?: Job }) => {
    const { store } = openStore();
    const jobs = options.job ? [options.job] : [...JOBS];
    printRuns(jobs.map((job) => store.enqueue(job, options.date, "manual", Date.now())));
    store.close();
  });

program
  .command("backfill")
  .description("queue every day of a range whose jobs are missing or failed; days done are skipped")
  .requiredOption("--from <YYYY-MM-DD>", "first business day", dateArg)
  .requiredOption("--to <YYYY-MM-DD>", "last business day (inclusive)", dateArg)
  .option("--dry-run", "only show the plan", false)
  .action((options: { from: string; to: string; dryRun: boolean }) => {
    const { store } = openStore();
    let plan;
    try {
      plan = backfillPlan(options.from, options.to, store.all());
    } catch (error) {
      if (!(error instanceof ScheduleError)) throw error;
      fail(error.message, 2);
    }
    const columns = ["date", "action", "jobs", ...JOBS].map((name) => ({ name }));
    process.stdout.write(formatTable(columns, plan.map((d) => [d.date, d.action, d.jobs.join(",") || "-", ...JOBS.map((j) => d.state[j])])));
    if (!options.dryRun) for (const day of plan) for (const job of day.jobs) store.enqueue(job, day.date, "backfill", Date.now());
    store.close();
  });

program
  .command("history")
  .description("print the run history, newest last")
  .addOption(new Option("--limit <n>", "at most this many runs").argParser(wholeNumberArg(1)).default(50))
  .action((options: { limit: number }) => {
    const { store } = openStore();
    printRuns(store.all().slice(-options.limit));
    store.close();
  });

program
  .command("cancel")
  .description("skip every queued run; the one running finishes")
  .action(() => {
    const { store } = openStore();
    console.log(`skipped ${store.cancelQueued(Date.now())} queued run(s)`);
    store.close();
  });

await program.parseAsync();
