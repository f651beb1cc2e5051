import { z } from "zod";
import { parseByteSize } from "./byte-size.ts";
import { DurationError, parseDuration } from "./duration.ts";
import { parseSchedule } from "../ops/schedule.ts";

/** Environment variables as read from the process: the edge of every worker. */
export type Env = Record<string, string | undefined>;

/** One bad variable: its name, the value given (undefined when unset), what is wrong, and a good value. */
export interface ConfigProblem {
  variable: string;
  value: string | undefined;
  /** A predicate that reads after the value: `is not a duration …`, `has no unit …`, `is required …`. */
  message: string;
  example: string | undefined;
}

/**
 * Every variable: a good value (shown beside a bad one) and a one-line meaning with its default and unit
 * (the `--help` of each entry point lists those it reads). .env.example holds the same defaults.
 */
export const ENV_VARIABLES: Readonly<Record<string, { example: string; help: string }>> = {
  KAFKA_BROKERS: { example: "localhost:9092", help: "Kafka bootstrap servers, comma-separated host:port (required; `npm run services:up` records the local broker)" },
  KAFKA_TOPIC: { example: "orders", help: "orders topic; dead letters go to <topic>.dlq, window values to <topic>.metrics (default orders)" },
  KAFKA_GROUP_PREFIX: { example: "orderpulse", help: "consumer group names start with it: <prefix>-metrics, <prefix>-lake, <prefix>-feed-…, <prefix>-dashboard-… (default orderpulse); one prefix per deployment sharing a cluster" },
  KAFKA_SESSION_TIMEOUT: { example: "30s", help: "consumer group session timeout: how soon a dead worker's partitions move (default 30s)" },
  KAFKA_FETCH_MAX_WAIT: { example: "500ms", help: "how long a fetch waits for new data, capped at a third of the session timeout; lower = fresher live numbers (default 500ms)" },
  KAFKA_SSL: { example: "false", help: "TLS to the brokers, true or false (default false)" },
  KAFKA_SASL_MECHANISM: { example: "scram-sha-256", help: "plain, scram-sha-256 or scram-sha-512 for managed Kafka (default none)" },
  KAFKA_SASL_USERNAME: { example: "orderpulse", help: "SASL user name (required with KAFKA_SASL_MECHANISM)" },
  KAFKA_SASL_PASSWORD: { example: "secret", help: "SASL password (required with KAFKA_SASL_MECHANISM)" },
  INFLUX_URL: { example: "http://localhost:8086", help: "InfluxDB address (required; `npm run services:up` records the local 1.x server)" },
  INFLUX_DB: { example: "orderpulse", help: "InfluxDB 1.x database, created if missing (the local services use orderpulse)" },
  INFLUX_TOKEN: { example: "orderpulse-dev-token", help: "InfluxDB 2.x token; set with INFLUX_ORG and INFLUX_BUCKET (then INFLUX_DB is ignored)" },
  INFLUX_ORG: { example: "orderpulse", help: "InfluxDB 2.x organisation" },
  INFLUX_BUCKET: { example: "orderpulse", help: "InfluxDB 2.x bucket" },
  INFLUX_BUFFER_POINTS: { example: "200000", help: "points (and window values) kept while InfluxDB or <topic>.metrics lags; at this bound consumption pauses (default 200000)" },
  WINDOW_SIZE: { example: "1m", help: "tumbling window length, dividing a day evenly (default 1m)" },
  WATERMARK_DELAY: { example: "2m", help: "watermark = max event time - this; later events are late (default 2m)" },
  IDLE_TIMEOUT: { example: "30s", help: "a caught-up partition quiet this long advances its watermark by wall-clock time (default 30s)" },
  EMIT_INTERVAL: { example: "500ms", help: "how often open windows emit partial values (default 500ms)" },
  MAX_EVENT_SKEW: { example: "10m", help: "an event this far ahead of its Kafka record timestamp is invalid (default 10m)" },
  LAKE_DIR: { example: "lake", help: "the Parquet lake's directory (default lake, relative to the current directory); the metrics worker reads dim_customer from its dims/" },
  LAKE_ROTATE_ROWS: { example: "100000", help: "a lake file is closed after this many rows (default 100000)" },
  LAKE_ROTATE_BYTES: { example: "67108864", help: "... or this many bytes (default 67108864 = 64 MiB)" },
  LAKE_ROTATE_AGE: { example: "60s", help: "... or this long after its first row: new orders reach the lake within it (default 60s)" },
  LAKE_ENCODER_THREADS: { example: "2", help: "threads encoding the lake worker's Parquet files (default: one per core)" },
  LAKE_WRITER: { example: "parquetjs", help: "the lake worker's Parquet writer: parquetjs (parquetjs-lite, the default) or duckdb (measured by npm run bench)" },
  BUSINESS_TZ: { example: "Europe/Berlin", help: "IANA time zone of the business day for daily KPIs (default UTC)" },
  FEED_PORT: { example: "3001", help: "the live feed's socket.io port (default 3001)" },
  HEALTH_PORT: { example: "9464", help: "serve /healthz and /metrics on this port; 0 = any free port, logged (default: none)" },
  PORT: { example: "3000", help: "the web dashboard's port (default 3000)" },
  CONNECT_TIMEOUT: { example: "30s", help: "how long to retry an unreachable Kafka or InfluxDB at start before exiting 1 (default 30s)" },
  BATCH_SCHEDULE: { example: "30 1 * * *", help: "cron (croner syntax) in BUSINESS_TZ: the scheduler runs batch:daily then reconcile for the previous day (default 30 1 * * * = 01:30)" },
  ALERT_WEBHOOK_URL: { example: "http://localhost:9000/alerts", help: "where the alerts worker posts each alert state change as JSON (default: none, changes are logged and recorded only)" },
  ALERT_RULES: { example: "alert-rules.yaml", help: "YAML file overriding fields of workers/alert-rules.default.yaml (default: none)" },
  LOG_LEVEL: { example: "info", help: "JSON log level on stderr: debug, info, warn, error (default info)" },
};

function formatProblem(p: ConfigProblem): string {
  const given = p.value === undefined ? `${p.variable} (not set)` : `${p.variable}=${JSON.stringify(p.value)}`;
  return `  ${given} ${p.message}${p.example === undefined ? "" : `; e.g. ${p.variable}=${p.example}`}`;
}

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: ConfigProblem[]) {
    const count = problems.length === 1 ? "1 bad variable" : `${problems.length} bad variables`;
    super(`invalid configuration (${count}):\n${problems.map(formatProblem).join("\n")}`);
  }
}

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        return parseDuration(text);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: error instanceof DurationError ? error.reason : (error as Error).message });
        return z.NEVER;
      }
    });

/** A whole number from `min` to `max` (no sign, no decimals: `1e3` or `12.5` are refused, not rounded). */
const wholeNumber = (min: number, max: number, what = `a whole number from ${min} to ${max}`) =>
  z.string().transform((text, ctx) => {
    const value = Number(text);
    if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      ctx.addIssue({ code: "custom", message: `is not ${what}` });
      return z.NEVER;
    }
    return value;
  });

const bool = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"], { message: "is not true or false" })
    .optional()
    .transform((v) => (v === undefined ? fallback : ["true", "1", "yes"].includes(v)));

const port = (fallback: number) => wholeNumber(1, 65_535, "a port from 1 to 65535").default(fallback);

const topicName = z.string().regex(/^[a-zA-Z0-9._-]{1,200}$/, "is not a Kafka topic name (letters, digits, . _ -)");

function httpUrl(text: string): boolean {
  try {
    return ["http:", "https:"].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/**
 * The consumer groups orderpulse joins, all named from one prefix (KAFKA_GROUP_PREFIX,
 * default `orderpulse`: design.md's `orderpulse-metrics` and `orderpulse-lake`). `metrics`
 * and `lake` are the workers' groups; `feedPrefix` and `dashboardPrefix` start the
 * per-process groups of the feed and of the dashboard's dead-letter reads (a random suffix
 * each), which hold no offsets anyone resumes from; `all` starts every one. Two deployments, or two test runs,
 * share a cluster without sharing a group by taking different prefixes.
 */
export function consumerGroupNames(prefix: string) {
  return { all: `${prefix}-`, metrics: `${prefix}-metrics`, lake: `${prefix}-lake`, feedPrefix: `${prefix}-feed-`, dashboardPrefix: `${prefix}-dashboard-` } as const;
}
export type ConsumerGroupNames = ReturnType<typeof consumerGroupNames>;

export const kafkaEnvSchema = z
  .object({
    KAFKA_BROKERS: z
      .string({ message: "is required (comma-separated host:port list)" })
      .transform((s) => s.split(",").map((b) => b.trim()).filter(Boolean))
      .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, "is not a host:port list (each broker is host:port)")).min(1, "names no broker")),
    KAFKA_TOPIC: topicName.default("orders"),
    KAFKA_GROUP_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]{1,100}$/, "is not a consumer group prefix (letters, digits, . _ -)").default("orderpulse"),
    KAFKA_SESSION_TIMEOUT: duration("30s"),
    // How long a fetch waits for data. kafkajs's default (5 s) delays every idle partition's first record by up to that,
    // twice on the way to the browser; a consumer also heartbeats only between fetches.
    KAFKA_FETCH_MAX_WAIT: duration("500ms"),
    KAFKA_SSL: bool(false),
    KAFKA_SASL_MECHANISM: z.enum(["plain", "scram-sha-256", "scram-sha-512"], { message: "is not one of plain, scram-sha-256, scram-sha-512" }).optional(),
    KAFKA_SASL_USERNAME: z.string().optional(),
    KAFKA_SASL_PASSWORD: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    if (env.KAFKA_SASL_MECHANISM && (!env.KAFKA_SASL_USERNAME || !env.KAFKA_SASL_PASSWORD)) {
      for (const variable of ["KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"] as const)
        if (!env[variable]) ctx.addIssue({ code: "custom", path: [variable], message: "is required when KAFKA_SASL_MECHANISM is set" });
    }
  })
  .transform((env) => ({
    brokers: env.KAFKA_BROKERS,
    topic: env.KAFKA_TOPIC,
    dlqTopic: `${env.KAFKA_TOPIC}.dlq`,
    windowValuesTopic: `${env.KAFKA_TOPIC}.metrics`,
    groups: consumerGroupNames(env.KAFKA_GROUP_PREFIX),
    sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT,
    fetchMaxWaitMs: env.KAFKA_FETCH_MAX_WAIT,
    ssl: env.KAFKA_SSL,
    sasl: env.KAFKA_SASL_MECHANISM
      ? { mechanism: env.KAFKA_SASL_MECHANISM, username: env.KAFKA_SASL_USERNAME!, password: env.KAFKA_SASL_PASSWORD! }
      : undefined,
  }));
export type KafkaConfig = z.output<typeof kafkaEnvSchema>;

export const windowEnvSchema = z
  .object({
    // Checked on the field itself, so a bad WINDOW_SIZE is reported beside any other bad variable.
    WINDOW_SIZE: duration("1m").refine((ms) => ms >= 1_000 && 86_400_000 % ms === 0, "must be at least 1s and divide a day evenly (windows align to UTC)"),
    WATERMARK_DELAY: duration("2m"),
    IDLE_TIMEOUT: duration("30s"),
    EMIT_INTERVAL: duration("500ms"),
    MAX_EVENT_SKEW: duration("10m"),
  })
  .transform((env) => ({
    windowSizeMs: env.WINDOW_SIZE,
    watermarkDelayMs: env.WATERMARK_DELAY,
    idleTimeoutMs: env.IDLE_TIMEOUT,
    emitIntervalMs: env.EMIT_INTERVAL,
    maxEventSkewMs: env.MAX_EVENT_SKEW,
  }));
export type WindowConfig = z.output<typeof windowEnvSchema>;

/** The InfluxDB 2.x variables: INFLUX_TOKEN set means 2.x (and INFLUX_DB is then ignored). */
export const INFLUX_V2_VARIABLES = ["INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET"] as const;

export const influxEnvSchema = z
  // Every field accepts any text and the rules below check them together, so each bad one is named at once.
  .object({
    INFLUX_URL: z.string().optional(),
    INFLUX_TOKEN: z.string().optional(),
    INFLUX_ORG: z.string().optional(),
    INFLUX_BUCKET: z.string().optional(),
    INFLUX_DB: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    if (env.INFLUX_URL === undefined) ctx.addIssue({ code: "custom", path: ["INFLUX_URL"], message: "is required (the InfluxDB server's address)" });
    else if (!httpUrl(env.INFLUX_URL)) ctx.addIssue({ code: "custom", path: ["INFLUX_URL"], message: "is not an http(s) URL" });
    const v2 = INFLUX_V2_VARIABLES.some((variable) => env[variable] !== undefined);
    if (v2) {
      for (const variable of INFLUX_V2_VARIABLES)
        if (!env[variable]) ctx.addIssue({ code: "custom", path: [variable], message: "is required with InfluxDB 2.x (INFLUX_TOKEN, INFLUX_ORG and INFLUX_BUCKET go together)" });
    } else if (!env.INFLUX_DB) {
      ctx.addIssue({ code: "custom", path: ["INFLUX_DB"], message: "is required with InfluxDB 1.x (or set INFLUX_TOKEN, INFLUX_ORG and INFLUX_BUCKET for 2.x)" });
    }
  })
  .transform((env) =>
    env.INFLUX_TOKEN
      ? { version: 2 as const, url: env.INFLUX_URL!, token: env.INFLUX_TOKEN, org: env.INFLUX_ORG!, bucket: env.INFLUX_BUCKET!, database: env.INFLUX_BUCKET! }
      : { version: 1 as const, url: env.INFLUX_URL!, database: env.INFLUX_DB! },
  );
export type InfluxConfig = z.output<typeof influxEnvSchema>;

/** How many points the hot path keeps while InfluxDB is unreachable before it pauses consumption. */
export const influxBufferEnvSchema = z
  .object({ INFLUX_BUFFER_POINTS: wholeNumber(100, 10_000_000).default(200_000) })
  .transform((env) => ({ bufferPoints: env.INFLUX_BUFFER_POINTS }));

export const lakeEnvSchema = z
  .object({
    LAKE_DIR: z.string().min(1).default("lake"),
    LAKE_ROTATE_ROWS: wholeNumber(1, 10_000_000).default(100_000),
    LAKE_ROTATE_BYTES: wholeNumber(1_024, Number.MAX_SAFE_INTEGER, "a whole number of bytes, at least 1024").default(64 * 1024 * 1024),
    LAKE_ROTATE_AGE: duration("60s"),
    LAKE_ENCODER_THREADS: wholeNumber(1, 256).optional(),
    LAKE_WRITER: z.enum(["parquetjs", "duckdb"]).default("parquetjs"),
    BUSINESS_TZ: z
      .string()
      .default("UTC")
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat("en-US", { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, "is not an IANA time zone"),
  })
  .transform((env) => ({
    lakeDir: env.LAKE_DIR,
    rotateRows: env.LAKE_ROTATE_ROWS,
    rotateBytes: env.LAKE_ROTATE_BYTES,
    rotateAgeMs: env.LAKE_ROTATE_AGE,
    /** Undefined: one per core (the worker asks the machine). */
    encoderThreads: env.LAKE_ENCODER_THREADS,
    writer: env.LAKE_WRITER,
    businessTz: env.BUSINESS_TZ,
  }));
export type LakeConfig = z.output<typeof lakeEnvSchema>;

/** Limits of one ad-hoc lake query (design.md, "Lake"): its process is killed at either. */
export const queryEnvSchema = z
  .object({
    QUERY_TIMEOUT: duration("30s").pipe(z.number().min(100, "at least 100ms")),
    QUERY_MEMORY_LIMIT: z
      .string()
      .default("2GB")
      .transform((text, ctx) => {
        try {
          return parseByteSize(text);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: (error as Error).message });
          return z.NEVER;
        }
      })
      .pipe(z.number().min(256e6, "at least 256MB (the query process itself needs ~180 MB)")),
    QUERY_EXPORT_MAX_ROWS: z.coerce.number().int().min(1).max(100_000_000).default(1_000_000),
  })
  .transform((env) => ({ timeoutMs: env.QUERY_TIMEOUT, memoryLimitBytes: env.QUERY_MEMORY_LIMIT, exportMaxRows: env.QUERY_EXPORT_MAX_ROWS }));
export type QueryConfig = z.output<typeof queryEnvSchema>;

export const portsEnvSchema = z
  .object({ FEED_PORT: port(3001), HEALTH_PORT: wholeNumber(0, 65_535, "a port from 0 to 65535 (0 = any free port)").optional(), PORT: port(3000) })
  // HEALTH_PORT unset: no health server; 0: any free port (logged).
  .transform((env) => ({ feedPort: env.FEED_PORT, healthPort: env.HEALTH_PORT, webPort: env.PORT }));
export type PortsConfig = z.output<typeof portsEnvSchema>;

/** How long a process retries an unreachable Kafka or InfluxDB at start before it exits 1. */
export const connectEnvSchema = z
  .object({ CONNECT_TIMEOUT: duration("30s") })
  .transform((env) => ({ connectTimeoutMs: env.CONNECT_TIMEOUT }));
export type ConnectConfig = z.output<typeof connectEnvSchema>;

function problemsOf(schema: z.ZodType, present: Env): { data?: unknown; problems: ConfigProblem[] } {
  const result = schema.safeParse(present);
  if (result.success) return { data: result.data, problems: [] };
  return {
    problems: result.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? "environment");
      return { variable, value: present[variable], message: issue.message, example: ENV_VARIABLES[variable]?.example };
    }),
  };
}

const presentOf = (env: Env): Env => Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));

/** Validates one section of the environment, naming every bad variable at once; throws ConfigError. An empty value counts as unset. */
export function readConfig<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  const { data, problems } = problemsOf(schema, presentOf(env));
  if (problems.length > 0) throw new ConfigError(problems);
  return data as z.output<S>;
}

/**
 * Validates several sections at once (e.g. `{ kafka: kafkaEnvSchema, windows: windowEnvSchema }`), so one run
 * names every bad variable of every section; throws ConfigError with all of them.
 */
export function readConfigs<T extends Record<string, z.ZodType>>(schemas: T, env: Env): { [K in keyof T]: z.output<T[K]> } {
  const present = presentOf(env);
  const out: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const [name, schema] of Object.entries(schemas)) {
    const section = problemsOf(schema, present);
    out[name] = section.data;
    for (const p of section.problems) if (!problems.some((q) => q.variable === p.variable && q.message === p.message)) problems.push(p);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as { [K in keyof T]: z.output<T[K]> };
}

/**
 * Why the InfluxDB server at INFLUX_URL cannot serve these settings (2.x settings against a 1.x server, or the
 * reverse), or undefined when they match or the version is unknown. `serverVersion`: the X-Influxdb-Version
 * header of its /ping (1.x: `1.6.7~rc0`, `1.8.10`; 2.x: `v2.7.10`).
 */
export function influxVersionMismatch(config: InfluxConfig, serverVersion: string | undefined): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(serverVersion ?? "")?.[1]);
  if (!Number.isInteger(major)) return undefined;
  if (config.version === 2 && major === 1)
    return `INFLUX_URL=${config.url} is InfluxDB ${serverVersion}, but INFLUX_TOKEN, INFLUX_ORG and INFLUX_BUCKET are InfluxDB 2.x settings: unset them and set INFLUX_DB (e.g. INFLUX_DB=orderpulse, as .env.example has for the local services)`;
  if (config.version === 1 && major >= 2)
    return `INFLUX_URL=${config.url} is InfluxDB ${serverVersion}, but INFLUX_DB is an InfluxDB 1.x setting: set INFLUX_TOKEN, INFLUX_ORG and INFLUX_BUCKET instead (the Docker stack's values are beside them in .env.example)`;
  return undefined;
}

/**
 * The web dashboard. DASHBOARD_TOKEN (for scripts and people) or DASHBOARD_PASSWORD (for people)
 * turns on access control for every page and route; unset, only loopback may query or act.
 * FEED_PUBLIC_URL is the browser's feed address behind a proxy (default: the page's host on FEED_PORT).
 */
/**
 * WORKER_HEALTH_URLS: where the web finds each worker's health server (HEALTH_PORT), as
 * comma-separated `name=base URL` pairs, e.g. `metrics=http://metrics:9464,lake=http://lake:9465`;
 * the page reads `<base>/healthz` and `<base>/metrics`. Names are unique; unset or empty = none.
 */
export const workerHealthUrlsSchema = z
  .string()
  .optional()
  .transform((text, ctx) => {
    const entries: { name: string; url: string }[] = [];
    for (const part of (text ?? "").split(",").map((p) => p.trim()).filter(Boolean)) {
      const match = /^([a-z][a-z0-9_-]{0,31})=(.+)$/.exec(part);
      const url = match ? z.url({ protocol: /^https?$/ }).safeParse(match[2]) : undefined;
      if (!match || !url?.success) {
        ctx.addIssue({ code: "custom", message: `"${part}" is not name=http(s) URL (e.g. metrics=http://127.0.0.1:9464)` });
        return z.NEVER;
      }
      if (entries.some((e) => e.name === match[1])) {
        ctx.addIssue({ code: "custom", message: `worker "${match[1]}" is named twice` });
        return z.NEVER;
      }
      entries.push({ name: match[1]!, url: url.data.replace(/\/+$/, "") });
    }
    return entries;
  });

export const dashboardEnvSchema = z
  .object({
    DASHBOARD_TOKEN: z.string().min(16, "at least 16 characters").optional(),
    DASHBOARD_PASSWORD: z.string().min(8, "at least 8 characters").optional(),
    FEED_PUBLIC_URL: z.url({ message: "a URL such as https://feed.example.com" }).optional(),
    WORKER_HEALTH_URLS: workerHealthUrlsSchema,
  })
  .transform((env) => ({
    /** Every secret that opens the dashboard; empty = no access control. */
    secrets: [env.DASHBOARD_TOKEN, env.DASHBOARD_PASSWORD].filter((s): s is string => s !== undefined),
    feedPublicUrl: env.FEED_PUBLIC_URL,
    /** The workers whose /healthz the Pipeline page shows, in the order given; empty = none configured. */
    workerHealth: env.WORKER_HEALTH_URLS,
  }));
export type DashboardConfig = z.output<typeof dashboardEnvSchema>;

/** The scheduler's day: BATCH_SCHEDULE (cron, croner's 5- or 6-field syntax, in BUSINESS_TZ) runs daily KPIs then reconcile for the previous business day. */
export const schedulerEnvSchema = z
  .object({
    BATCH_SCHEDULE: z
      .string()
      .default("30 1 * * *")
      .superRefine((pattern, ctx) => {
        try {
          parseSchedule(pattern, "UTC");
        } catch (error) {
          ctx.addIssue({ code: "custom", message: `${(error as Error).message} (e.g. "30 1 * * *" = 01:30 every day)` });
        }
      }),
  })
  .transform((env) => ({ batchSchedule: env.BATCH_SCHEDULE }));
export type SchedulerConfig = z.output<typeof schedulerEnvSchema>;

/** The alerts worker: rule overrides (ALERT_RULES, a YAML file) and where state changes are posted (ALERT_WEBHOOK_URL; unset = log only). */
export const alertsEnvSchema = z
  .object({
    ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/, message: "an http(s) URL" }).optional(),
    ALERT_RULES: z.string().min(1).optional(),
  })
  .transform((env) => ({ webhookUrl: env.ALERT_WEBHOOK_URL, rulesFile: env.ALERT_RULES }));
export type AlertsConfig = z.output<typeof alertsEnvSchema>;
