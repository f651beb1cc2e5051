import type { Logger } from "pino";

export const SHUTDOWN_MS = 10_000;

/**
 * On SIGTERM or SIGINT, runs `stop` and exits 0; if that takes longer than
 * SHUTDOWN_MS or fails, exits 1. Either way the next start resumes from
 * `resumesFrom`, so a cut-short stop loses nothing.
 */
export function stopOnSignals(log: Logger, stopping: string, resumesFrom: string, stop: () => Promise<void>): void {
  let started = false;
  const shutdown = () => {
    if (started) return;
    started = true;
    log.info(`stopping: ${stopping}`);
    setTimeout(() => {
      log.error(`shutdown took longer than ${SHUTDOWN_MS / 1000} s; exiting (the next start resumes from ${resumesFrom})`);
      process.exit(1);
    }, SHUTDOWN_MS);
    stop().then(
      () => process.exit(0),
      (error: Error) => {
        log.error({ err: error.message }, `shutdown failed (the next start resumes from ${resumesFrom})`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}
