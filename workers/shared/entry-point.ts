/**
 * What every orderpulse command shares at its edge: exit codes, `--help`, and one line (no stack) for an error
 * that ends it. README's "Exit codes" section documents the codes.
 */
import { ConfigError, ENV_VARIABLES } from "../../lib/contract/config.ts";

/**
 * Every command loads this module (through workers/shared/env.ts at least). A reader that stops early (`npm run query -- … | head -1`) closes stdout:
 * the write's EPIPE used to be an unhandled 'error' event (exit 1 and a stack). Now what is left to print is
 * dropped (nobody reads it) and the command finishes its work with its own exit code: `reconcile --repair | head`
 * still repairs and still exits 1 on differences. Other stdout errors end it with one line.
 */
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") {
    process.stdout.write = (() => true) as typeof process.stdout.write;
    return;
  }
  console.error(`stdout: ${error.message}`);
  process.exit(1);
});

/** Exit codes of every npm entry point. */
export const EXIT = {
  /** Done (or stopped cleanly on SIGTERM / Ctrl-C). */
  ok: 0,
  /** It failed: a service stayed unreachable, a port was in use, a check found differences, an IO error. */
  failure: 1,
  /** Bad arguments or configuration: nothing was done; fix the command line or the variables. */
  usage: 2,
  /** Refused for safety: going on could lose or corrupt data (a missing lake, a lake from another cluster). */
  refused: 3,
} as const;

/** An error that ends a command with one line and `exitCode`. */
export class CommandError extends Error {
  override name = "CommandError";
  /** Already printed (e.g. while retrying): ending the command prints nothing more. */
  said = false;
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The exit code for an error that ended a command: its own `exitCode` if it has one, 2 for configuration, else 1. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof ConfigError) return EXIT.usage;
  const code = (error as { exitCode?: unknown } | null)?.exitCode;
  return typeof code === "number" && Number.isInteger(code) ? code : EXIT.failure;
}

/** `name: message`, once: a message that already starts with the name (`query failed: …`) is not prefixed again. */
export function prefixed(name: string, message: string): string {
  return message === name || message.startsWith(`${name}:`) || message.startsWith(`${name} `) ? message : `${name}: ${message}`;
}

/** Prints the error in one line (its first line and no stack, unless LOG_LEVEL=debug) and exits with its code. */
export function exitWithError(name: string, error: unknown, exitCode = exitCodeOf(error)): never {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof CommandError && error.said)) console.error(prefixed(name, message));
  if (process.env.LOG_LEVEL === "debug" && error instanceof Error && error.stack) console.error(error.stack);
  process.exit(exitCode);
}

/** Runs a command's main; an error ends it with one line and its exit code (`codeOf` may name codes for more error types). */
export function runMain(name: string, main: () => Promise<void>, codeOf: (error: unknown) => number | undefined = () => undefined): void {
  main().catch((error: unknown) => exitWithError(name, error, codeOf(error) ?? exitCodeOf(error)));
}

export const helpRequested = (argv: readonly string[] = process.argv.slice(2)) => argv.includes("--help") || argv.includes("-h");

export interface WorkerUsage {
  /** The npm script, e.g. `worker:metrics`. */
  script: string;
  summary: string;
  /** The environment variables it reads, in the order shown. */
  variables: readonly string[];
  /** What a clean stop (SIGTERM, Ctrl-C) does. */
  stop: string;
}

/** The `--help` text of a long-running worker, which takes no arguments, only environment variables. */
export function workerUsage(usage: WorkerUsage): string {
  const width = Math.max(...usage.variables.map((v) => v.length)) + 2;
  return [
    `Usage: npm run ${usage.script}`,
    "",
    usage.summary,
    "",
    "Environment (the shell wins over .env, which wins over .orderpulse/services.env):",
    ...usage.variables.map((v) => `  ${v.padEnd(width)}${ENV_VARIABLES[v]?.help ?? ""}`),
    "",
    `Stop: SIGTERM or Ctrl-C ${usage.stop}.`,
    "Exit codes: 0 stopped cleanly; 1 failure (a service unreachable for CONNECT_TIMEOUT, a port in use, the consumer kept crashing);",
    "  2 bad configuration or missing topics; 3 refused for safety.",
    "",
  ].join("\n");
}

/**
 * A worker's command line: `--help` prints its usage and exits 0 before any configuration is read or anything is
 * connected to; any other argument exits 2 (workers take environment variables only).
 */
export function exitOnHelp(usage: WorkerUsage, argv: readonly string[] = process.argv.slice(2)): void {
  if (helpRequested(argv)) {
    process.stdout.write(workerUsage(usage));
    process.exit(EXIT.ok);
  }
  if (argv.length > 0) {
    console.error(`${usage.script}: unexpected argument ${JSON.stringify(argv[0])}: it takes environment variables only (see npm run ${usage.script} -- --help)`);
    process.exit(EXIT.usage);
  }
}
