import { z } from "zod";
import { parseDuration } from "./duration.ts";

/** Environment variables as read from the process: the edge of every worker. */
export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join("\n")}`);
    this.name = "ConfigError";
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
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    });

const bool = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"], { message: "use true or false" })
    .optional()
    .transform((v) => (v === undefined ? fallback : ["true", "1", "yes"].includes(v)));

const port = (fallback: number) => z.coerce.number().int().min(1).max(65_535).default(fallback);

const topicName = z.string().regex(/^[a-zA-Z0-9._-]{1,200}$/, "a Kafka topic name ([a-zA-Z0-9._-])");

export const kafkaEnvSchema = z
  .object({
    KAFKA_BROKERS: z
      .string({ message: "required (comma-separated host:port list)" })
      .transform((s) => s.split(",").map((b) => b.trim()).filter(Boolean))
      .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, "each broker is host:port")).min(1, "at least one broker")),
    KAFKA_TOPIC: topicName.default("orders"),
    KAFKA_SESSION_TIMEOUT: duration("30s"),
    KAFKA_SSL: bool(false),
    KAFKA_SASL_MECHANISM: z.enum(["plain", "scram-sha-256", "scram-sha-512"]).optional(),
    KAFKA_SASL_USERNAME: z.string().optional(),
    KAFKA_SASL_PASSWORD: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    if (env.KAFKA_SASL_MECHANISM && (!env.KAFKA_SASL_USERNAME || !env.KAFKA_SASL_PASSWORD)) {
      for (const variable of ["KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"] as const)
        if (!env[variable]) ctx.addIssue({ code: "custom", path: [variable], message: "required when KAFKA_SASL_MECHANISM is set" });
    }
  })
  .transform((env) => ({
    brokers: env.KAFKA_BROKERS,
    topic: env.KAFKA_TOPIC,
    dlqTopic: `${env.KAFKA_TOPIC}.dlq`,
    windowValuesTopic: `${env.KAFKA_TOPIC}.metrics`,
    sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT,
    ssl: env.KAFKA_SSL,
    sasl: env.KAFKA_SASL_MECHANISM
      ? { mechanism: env.KAFKA_SASL_MECHANISM, username: env.KAFKA_SASL_USERNAME!, password: env.KAFKA_SASL_PASSWORD! }
      : undefined,
  }));
export type KafkaConfig = z.output<typeof kafkaEnvSchema>;

export const windowEnvSchema = z
  .object({
    WINDOW_SIZE: duration("1m"),
    WATERMARK_DELAY: duration("2m"),
    IDLE_TIMEOUT: duration("30s"),
    EMIT_INTERVAL: duration("500ms"),
    MAX_EVENT_SKEW: duration("10m"),
  })
  .refine((env) => env.WINDOW_SIZE >= 1_000 && 86_400_000 % env.WINDOW_SIZE === 0, {
    path: ["WINDOW_SIZE"],
    message: "must be at least 1s and divide a day evenly (windows align to UTC)",
  })
  .transform((env) => ({
    windowSizeMs: env.WINDOW_SIZE,
    watermarkDelayMs: env.WATERMARK_DELAY,
    idleTimeoutMs: env.IDLE_TIMEOUT,
    emitIntervalMs: env.EMIT_INTERVAL,
    maxEventSkewMs: env.MAX_EVENT_SKEW,
  }));
export type WindowConfig = z.output<typeof windowEnvSchema>;

export const influxEnvSchema = z
  .object({
    INFLUX_URL: z.url({ message: "required (e.g. http://localhost:8086)" }),
    INFLUX_TOKEN: z.string().optional(),
    INFLUX_ORG: z.string().optional(),
    INFLUX_BUCKET: z.string().optional(),
    INFLUX_DB: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    const v2 = Boolean(env.INFLUX_TOKEN || env.INFLUX_ORG || env.INFLUX_BUCKET);
    if (v2) {
      for (const variable of ["INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET"] as const)
        if (!env[variable]) ctx.addIssue({ code: "custom", path: [variable], message: "InfluxDB 2.x needs INFLUX_TOKEN, INFLUX_ORG and INFLUX_BUCKET" });
    } else if (!env.INFLUX_DB) {
      ctx.addIssue({ code: "custom", path: ["INFLUX_DB"], message: "set INFLUX_DB (1.x) or INFLUX_TOKEN + INFLUX_ORG + INFLUX_BUCKET (2.x)" });
    }
  })
  .transform((env) =>
    env.INFLUX_TOKEN
      ? { version: 2 as const, url: env.INFLUX_URL, token: env.INFLUX_TOKEN, org: env.INFLUX_ORG!, bucket: env.INFLUX_BUCKET!, database: env.INFLUX_BUCKET! }
      : { version: 1 as const, url: env.INFLUX_URL, database: env.INFLUX_DB! },
  );
export type InfluxConfig = z.output<typeof influxEnvSchema>;

/** How many points the hot path keeps while InfluxDB is unreachable before it pauses consumption. */
export const influxBufferEnvSchema = z
  .object({ INFLUX_BUFFER_POINTS: z.coerce.number().int().min(100).max(10_000_000).default(200_000) })
  .transform((env) => ({ bufferPoints: env.INFLUX_BUFFER_POINTS }));

export const lakeEnvSchema = z
  .object({
    LAKE_DIR: z.string().min(1).default("lake"),
    LAKE_ROTATE_ROWS: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
    LAKE_ROTATE_BYTES: z.coerce.number().int().min(1_024).default(64 * 1024 * 1024),
    LAKE_ROTATE_AGE: duration("60s"),
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
      }, "an IANA time zone such as Europe/Berlin"),
  })
  .transform((env) => ({
    lakeDir: env.LAKE_DIR,
    rotateRows: env.LAKE_ROTATE_ROWS,
    rotateBytes: env.LAKE_ROTATE_BYTES,
    rotateAgeMs: env.LAKE_ROTATE_AGE,
    businessTz: env.BUSINESS_TZ,
  }));
export type LakeConfig = z.output<typeof lakeEnvSchema>;

export const portsEnvSchema = z
  .object({ FEED_PORT: port(3001), HEALTH_PORT: z.coerce.number().int().min(0).max(65_535).optional(), PORT: port(3000) })
  // HEALTH_PORT unset: no health server; 0: any free port (logged).
  .transform((env) => ({ feedPort: env.FEED_PORT, healthPort: env.HEALTH_PORT, webPort: env.PORT }));
export type PortsConfig = z.output<typeof portsEnvSchema>;

/** Validates one section of the environment, naming every bad variable at once. */
export function readConfig<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? "environment"), message: issue.message })),
  );
}
