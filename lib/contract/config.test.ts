import { describe, expect, it } from "vitest";
import { ConfigError, influxEnvSchema, kafkaEnvSchema, portsEnvSchema, readConfig, windowEnvSchema } from "./config.ts";

describe("readConfig", () => {
  it("applies the documented defaults", () => {
    const kafka = readConfig(kafkaEnvSchema, { KAFKA_BROKERS: "a:9092, b:9093" });
    expect(kafka).toMatchObject({ brokers: ["a:9092", "b:9093"], topic: "orders", dlqTopic: "orders.dlq", windowValuesTopic: "orders.metrics", sessionTimeoutMs: 30_000, ssl: false });
    expect(readConfig(windowEnvSchema, {})).toEqual({ windowSizeMs: 60_000, watermarkDelayMs: 120_000, idleTimeoutMs: 30_000, emitIntervalMs: 500, maxEventSkewMs: 600_000 });
  });

  it("names every bad variable", () => {
    try {
      readConfig(windowEnvSchema, { WINDOW_SIZE: "7s", WATERMARK_DELAY: "soon" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const variables = (error as ConfigError).problems.map((p) => p.variable);
      expect(variables).toContain("WATERMARK_DELAY");
      expect((error as ConfigError).message).toMatch(/WATERMARK_DELAY: not a duration/);
    }
    expect(() => readConfig(kafkaEnvSchema, {})).toThrow(/KAFKA_BROKERS/);
    expect(() => readConfig(kafkaEnvSchema, { KAFKA_BROKERS: "a:1", KAFKA_SASL_MECHANISM: "plain" })).toThrow(/KAFKA_SASL_PASSWORD/);
    expect(() => readConfig(windowEnvSchema, { WINDOW_SIZE: "7s" })).toThrow(/WINDOW_SIZE: must be at least 1s and divide a day/);
  });

  it("starts a health server only where HEALTH_PORT is set", () => {
    expect(readConfig(portsEnvSchema, {})).toEqual({ feedPort: 3001, healthPort: undefined, webPort: 3000 });
    expect(readConfig(portsEnvSchema, { HEALTH_PORT: "0" }).healthPort).toBe(0);
    expect(() => readConfig(portsEnvSchema, { FEED_PORT: "70000" })).toThrow(/FEED_PORT/);
  });

  it("tells InfluxDB 1.x from 2.x", () => {
    expect(readConfig(influxEnvSchema, { INFLUX_URL: "http://x:8086", INFLUX_DB: "op" })).toEqual({ version: 1, url: "http://x:8086", database: "op" });
    expect(readConfig(influxEnvSchema, { INFLUX_URL: "http://x:8086", INFLUX_TOKEN: "t", INFLUX_ORG: "o", INFLUX_BUCKET: "b" })).toMatchObject({ version: 2, bucket: "b", database: "b" });
    expect(() => readConfig(influxEnvSchema, { INFLUX_URL: "http://x:8086", INFLUX_TOKEN: "t" })).toThrow(/INFLUX_ORG/);
    expect(() => readConfig(influxEnvSchema, { INFLUX_URL: "nope", INFLUX_DB: "x" })).toThrow(/INFLUX_URL/);
  });
});
