import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError, readConfig, type Env } from "../../lib/contract/config.ts";
import type { z } from "zod";

/** Where `npm run services:up` records the endpoints of the local dev services. */
export const SERVICES_DIR = resolve(process.env.ORDERPULSE_STATE_DIR ?? ".orderpulse");
export const SERVICES_ENV_FILE = resolve(SERVICES_DIR, "services.env");

export function parseEnvFile(text: string): Env {
  const env: Env = {};
  for (const line of text.split("\n")) {
    const match = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!.trim();
  }
  return env;
}

/** The process environment over the local services' endpoints: explicit settings always win. */
export function loadEnv(): Env {
  const local = existsSync(SERVICES_ENV_FILE) ? parseEnvFile(readFileSync(SERVICES_ENV_FILE, "utf8")) : {};
  return { ...local, ...process.env };
}

/** Reads one config section or exits with a message that names every bad variable. */
export function configOrExit<S extends z.ZodType>(schema: S, env: Env = loadEnv()): z.output<S> {
  try {
    return readConfig(schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const hint = existsSync(SERVICES_ENV_FILE) ? "" : "\n(for local development, `npm run services:up` starts Kafka and InfluxDB and records their endpoints)";
    console.error(`${error.message}${hint}`);
    process.exit(2);
  }
}
