/**
 * The web app's configuration, read once per server process from the environment (over the
 * local services' endpoints, as every worker reads it). A bad variable throws ConfigError,
 * which route handlers answer as a 500 naming the variable.
 */
import { dashboardEnvSchema, influxEnvSchema, kafkaEnvSchema, lakeEnvSchema, portsEnvSchema, readConfig, windowEnvSchema } from "../../lib/contract/config.ts";
import type { Kafka } from "kafkajs";
import { loadEnv } from "./env.ts";
import { createKafka } from "./kafka.ts";

export function dashboardEnv() {
  const env = loadEnv();
  return {
    dashboard: readConfig(dashboardEnvSchema, env),
    ports: readConfig(portsEnvSchema, env),
    window: readConfig(windowEnvSchema, env),
    lake: readConfig(lakeEnvSchema, env),
    influx: () => readConfig(influxEnvSchema, env),
    kafka: () => readConfig(kafkaEnvSchema, env),
  };
}
export type DashboardEnv = ReturnType<typeof dashboardEnv>;

let kafkaClient: Kafka | undefined;

/** The web server's one Kafka client (client id `orderpulse-dashboard`), made on first use. */
export function dashboardKafka(env: DashboardEnv = dashboardEnv()): Kafka {
  kafkaClient ??= createKafka(env.kafka(), "orderpulse-dashboard");
  return kafkaClient;
}
