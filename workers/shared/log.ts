import { pino, type Logger } from "pino";
import { loadEnv } from "./env.ts";

/** JSON logs on stderr, so stdout stays free for a command's own output; LOG_LEVEL may come from .env too. */
export function createLogger(name: string): Logger {
  return pino({ name, level: loadEnv().LOG_LEVEL ?? "info" }, pino.destination(2));
}
