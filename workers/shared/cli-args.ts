import { Command, InvalidArgumentError } from "commander";
import { DurationError, formatDuration, parseDuration } from "../../lib/contract/duration.ts";
import { EXIT } from "./entry-point.ts";

/** Command-line argument parsers shared by every entry point: one wording, one rule each. */

export const wholeNumberArg = (min = 0) => (text: string): number => {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}`);
  return value;
};

export const fractionArg = (flag: string) => (text: string): number => {
  const value = Number(text);
  if (!(value >= 0 && value <= 1)) throw new InvalidArgumentError(`${flag} takes a fraction from 0 to 1`);
  return value;
};

export const durationArg = (minMs = 0) => (text: string): number => {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof DurationError ? error.message : String(error));
  }
  if (ms < minMs) throw new InvalidArgumentError(`must be at least ${formatDuration(minMs)}`);
  return ms;
};

/** An instant: ISO-8601 (e.g. 2026-11-20T10:00:00Z) or epoch milliseconds. */
export const instantArg = (text: string): number => {
  const ms = /^\d+$/.test(text) ? Number(text) : /^\d{4}-\d{2}-\d{2}(T|$)/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isSafeInteger(ms)) throw new InvalidArgumentError("expected an ISO-8601 instant (e.g. 2026-11-20T10:00:00Z) or epoch milliseconds");
  return ms;
};

/**
 * A one-shot command's parser: usage errors exit 2 (with the help hint), `--help` exits 0 before anything is
 * read or connected to, and the help ends with the command's exit codes and the environment it reads.
 */
export function commandLine(name: string, description: string, help: { exitCodes: string; environment: readonly string[] }): Command {
  return new Command(name)
    .description(description)
    .showHelpAfterError(`(npm run ${name} -- --help shows every option)`)
    .exitOverride((error) => process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage))
    .addHelpText("after", `\nEnvironment (the shell wins over .env, then .orderpulse/services.env): ${help.environment.join(", ")}.\nExit codes: ${help.exitCodes}\n`);
}

/**
 * The arguments with a `--` separator put before the first one that is SQL
 * rather than an option: commander would take `-- comment\nSELECT …` for an
 * unknown option. An option is `--name` or `--name=value` on one line.
 */
export function sqlAfterSeparator(args: readonly string[]): string[] {
  const at = args.findIndex((arg) => arg === "--" || (arg.startsWith("--") && !/^--[a-z][a-z-]*(=.*)?$/.test(arg)));
  if (at < 0 || args[at] === "--") return [...args];
  return [...args.slice(0, at), "--", ...args.slice(at)];
}
