import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "dotenv";
import type { z } from "zod";
import { ConfigError, readConfigs, type Env } from "../../lib/contract/config.ts";
import { EXIT } from "./entry-point.ts";

// The state directory and .env are runtime data found from the working directory, not sources:
// `turbopackIgnore` keeps next build's file tracing from following them (it traced the whole project
// into every route's output, .orderpulse's broker and InfluxDB data and a developer's .env included).

/** Where `npm run services:up` records the endpoints of the local dev services. */
export const SERVICES_DIR = resolve(/* turbopackIgnore: true */ process.env.ORDERPULSE_STATE_DIR ?? ".orderpulse");
export const SERVICES_ENV_FILE = resolve(/* turbopackIgnore: true */ SERVICES_DIR, "services.env");
/** The user's own settings, in the current directory (npm runs scripts from the project root). */
export const DOTENV_FILE = resolve(/* turbopackIgnore: true */ ".env");

/** KEY=value lines as dotenv reads them (quotes, `export`, comments, multi-line values). */
export function parseEnvFile(text: string): Env {
  return parse(text);
}

function readEnvFile(path: string): Env {
  return existsSync(path) ? parseEnvFile(readFileSync(path, "utf8")) : {};
}

/**
 * The configuration a process runs with: the shell's variables win over `.env`, which wins over the local
 * services' endpoints (.orderpulse/services.env). Nothing is written to process.env.
 */
export function loadEnv(shell: Env = process.env): Env {
  return { ...readEnvFile(SERVICES_ENV_FILE), ...readEnvFile(DOTENV_FILE), ...shell };
}

/** The hint under a configuration error: the local services would supply the missing endpoints. */
function servicesHint(error: ConfigError): string {
  const endpoint = error.problems.some((p) => p.value === undefined && (p.variable === "KAFKA_BROKERS" || p.variable === "INFLUX_URL"));
  return endpoint && !existsSync(SERVICES_ENV_FILE) ? "\n(for local development, `npm run services:up` starts Kafka and InfluxDB and records their endpoints)" : "";
}

/**
 * Reads configuration sections (e.g. `{ kafka: kafkaEnvSchema, windows: windowEnvSchema }`), or exits 2 with
 * one message naming every bad variable of all of them, the value given and an example of a good one.
 */
export function configsOrExit<T extends Record<string, z.ZodType>>(schemas: T, env: Env = loadEnv()): { [K in keyof T]: z.output<T[K]> } {
  try {
    return readConfigs(schemas, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${error.message}${servicesHint(error)}`);
    process.exit(EXIT.usage);
  }
}

/** One configuration section, or exit 2 naming every bad variable (see configsOrExit for several). */
export function configOrExit<S extends z.ZodType>(schema: S, env: Env = loadEnv()): z.output<S> {
  return configsOrExit({ section: schema }, env).section;
}
