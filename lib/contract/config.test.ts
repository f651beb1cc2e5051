import { describe, expect, it } from "vitest";
import { ConfigError, connectEnvSchema, influxBufferEnvSchema, influxEnvSchema, influxVersionMismatch, kafkaEnvSchema, lakeEnvSchema, portsEnvSchema, readConfig, readConfigs, windowEnvSchema } from "./config.ts";

const problemsOf = (run: () => unknown): ConfigError => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
};

describe("readConfig", () => {
  it("applies the documented defaults", () => {
    const kafka = readConfig(kafkaEnvSchema, { KAFKA_BROKERS: "a:9092, b:9093" });
    expect(kafka).toMatchObject({ brokers: ["a:9092", "b:9093"], topic: "orders", dlqTopic: "orders.dlq", windowValuesTopic: "orders.metrics", sessionTimeoutMs: 30_000, ssl: false });
    expect(kafka.groups).toEqual({ all: "orderpulse-", metrics: "orderpulse-metrics", lake: "orderpulse-lake", feedPrefix: "orderpulse-feed-", dashboardPrefix: "orderpulse-dashboard-" });
    expect(readConfig(windowEnvSchema, {})).toEqual({ windowSizeMs: 60_000, watermarkDelayMs: 120_000, idleTimeoutMs: 30_000, emitIntervalMs: 500, maxEventSkewMs: 600_000 });
    expect(readConfig(lakeEnvSchema, {})).toEqual({ lakeDir: "lake", rotateRows: 100_000, rotateBytes: 64 * 1024 * 1024, rotateAgeMs: 60_000, encoderThreads: undefined, writer: "parquetjs", businessTz: "UTC" });
    expect(readConfig(influxBufferEnvSchema, {})).toEqual({ bufferPoints: 200_000 });
    expect(readConfig(connectEnvSchema, {})).toEqual({ connectTimeoutMs: 30_000 });
  });

  it("names every consumer group from KAFKA_GROUP_PREFIX, and refuses a prefix Kafka would not take", () => {
    expect(readConfig(kafkaEnvSchema, { KAFKA_BROKERS: "a:9092", KAFKA_GROUP_PREFIX: "shop-7" }).groups).toMatchObject({ metrics: "shop-7-metrics", lake: "shop-7-lake", feedPrefix: "shop-7-feed-" });
    expect(problemsOf(() => readConfig(kafkaEnvSchema, { KAFKA_BROKERS: "a:9092", KAFKA_GROUP_PREFIX: "a b" })).message).toMatch(/KAFKA_GROUP_PREFIX="a b" is not a consumer group prefix/);
  });

  it("names every bad variable of every section in one message, with the value given and a good example", () => {
    const env = { WINDOW_SIZE: "abc", WATERMARK_DELAY: "-1", INFLUX_URL: "notaurl", INFLUX_DB: "orderpulse", HEALTH_PORT: "99999" };
    const error = problemsOf(() => readConfigs({ windows: windowEnvSchema, influx: influxEnvSchema, ports: portsEnvSchema }, env));
    expect(error.message).toBe(
      [
        "invalid configuration (4 bad variables):",
        '  WINDOW_SIZE="abc" is not a duration (use e.g. 500ms, 30s, 2m, 1h); e.g. WINDOW_SIZE=1m',
        '  WATERMARK_DELAY="-1" is not a duration (use e.g. 500ms, 30s, 2m, 1h); e.g. WATERMARK_DELAY=2m',
        '  INFLUX_URL="notaurl" is not an http(s) URL; e.g. INFLUX_URL=http://localhost:8086',
        '  HEALTH_PORT="99999" is not a port from 0 to 65535 (0 = any free port); e.g. HEALTH_PORT=9464',
      ].join("\n"),
    );
  });

  it("says 'required' only for a variable that is not set", () => {
    expect(problemsOf(() => readConfig(influxEnvSchema, { INFLUX_DB: "x" })).message).toMatch(/^ {2}INFLUX_URL \(not set\) is required \(the InfluxDB server's address\); e\.g\. INFLUX_URL=http:\/\/localhost:8086$/m);
    expect(problemsOf(() => readConfig(influxEnvSchema, { INFLUX_URL: "ftp://x", INFLUX_DB: "x" })).message).not.toMatch(/required/);
    expect(problemsOf(() => readConfig(kafkaEnvSchema, {})).message).toMatch(/KAFKA_BROKERS \(not set\) is required \(comma-separated host:port list\); e\.g\. KAFKA_BROKERS=localhost:9092/);
    // An empty value is an unset one.
    expect(problemsOf(() => readConfig(kafkaEnvSchema, { KAFKA_BROKERS: "" })).problems.map((p) => p.variable)).toEqual(["KAFKA_BROKERS"]);
  });

  it("refuses durations without a unit, with a hint", () => {
    const error = problemsOf(() => readConfig(windowEnvSchema, { WINDOW_SIZE: "60", IDLE_TIMEOUT: "30" }));
    expect(error.problems).toEqual([
      { variable: "WINDOW_SIZE", value: "60", message: "has no unit: write 60s for seconds or 60ms for milliseconds (units: ms, s, m, h, d)", example: "1m" },
      { variable: "IDLE_TIMEOUT", value: "30", message: "has no unit: write 30s for seconds or 30ms for milliseconds (units: ms, s, m, h, d)", example: "30s" },
    ]);
  });

  it("checks cross-variable rules beside the others", () => {
    expect(problemsOf(() => readConfig(kafkaEnvSchema, { KAFKA_BROKERS: "a:1", KAFKA_SASL_MECHANISM: "plain" })).problems.map((p) => p.variable)).toEqual(["KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"]);
    const window = problemsOf(() => readConfig(windowEnvSchema, { WINDOW_SIZE: "7s", WATERMARK_DELAY: "soon" }));
    expect(window.problems.map((p) => `${p.variable}: ${p.message}`)).toEqual([
      "WINDOW_SIZE: must be at least 1s and divide a day evenly (windows align to UTC)",
      "WATERMARK_DELAY: is not a duration (use e.g. 500ms, 30s, 2m, 1h)",
    ]);
    const influx = problemsOf(() => readConfig(influxEnvSchema, { INFLUX_URL: "nope", INFLUX_TOKEN: "t" }));
    expect(influx.problems.map((p) => p.variable)).toEqual(["INFLUX_URL", "INFLUX_ORG", "INFLUX_BUCKET"]);
  });

  it("refuses numbers that are not whole or out of range instead of rounding them", () => {
    for (const bad of ["12.5", "1e3", "-4", "lots", "0"]) expect(() => readConfig(lakeEnvSchema, { LAKE_ROTATE_ROWS: bad }), bad).toThrow(/LAKE_ROTATE_ROWS=".*" is not a whole number from 1 to 10000000/);
    expect(readConfig(lakeEnvSchema, { LAKE_ROTATE_ROWS: "5000" }).rotateRows).toBe(5_000);
    expect(readConfig(lakeEnvSchema, { LAKE_ENCODER_THREADS: "4", LAKE_WRITER: "duckdb" })).toMatchObject({ encoderThreads: 4, writer: "duckdb" });
    for (const bad of ["0", "1.5", "many"]) expect(() => readConfig(lakeEnvSchema, { LAKE_ENCODER_THREADS: bad }), bad).toThrow(/LAKE_ENCODER_THREADS=".*" is not a whole number from 1 to 256/);
    expect(() => readConfig(lakeEnvSchema, { LAKE_WRITER: "arrow" })).toThrow(/LAKE_WRITER="arrow"/);
    expect(() => readConfig(lakeEnvSchema, { BUSINESS_TZ: "Mars/Olympus" })).toThrow(/BUSINESS_TZ="Mars\/Olympus" is not an IANA time zone; e\.g\. BUSINESS_TZ=Europe\/Berlin/);
  });

  it("starts a health server only where HEALTH_PORT is set", () => {
    expect(readConfig(portsEnvSchema, {})).toEqual({ feedPort: 3001, healthPort: undefined, webPort: 3000 });
    expect(readConfig(portsEnvSchema, { HEALTH_PORT: "0" }).healthPort).toBe(0);
    expect(() => readConfig(portsEnvSchema, { FEED_PORT: "70000" })).toThrow(/FEED_PORT="70000" is not a port from 1 to 65535/);
  });

  it("tells InfluxDB 1.x from 2.x", () => {
    expect(readConfig(influxEnvSchema, { INFLUX_URL: "http://x:8086", INFLUX_DB: "op" })).toEqual({ version: 1, url: "http://x:8086", database: "op" });
    expect(readConfig(influxEnvSchema, { INFLUX_URL: "http://x:8086", INFLUX_TOKEN: "t", INFLUX_ORG: "o", INFLUX_BUCKET: "b" })).toMatchObject({ version: 2, bucket: "b", database: "b" });
    // The Docker stack sets both (its env_file is .env.example): the 2.x settings win.
    expect(readConfig(influxEnvSchema, { INFLUX_URL: "http://x:8086", INFLUX_DB: "op", INFLUX_TOKEN: "t", INFLUX_ORG: "o", INFLUX_BUCKET: "b" })).toMatchObject({ version: 2 });
    expect(() => readConfig(influxEnvSchema, { INFLUX_URL: "http://x:8086", INFLUX_TOKEN: "t" })).toThrow(/INFLUX_ORG/);
    expect(() => readConfig(influxEnvSchema, { INFLUX_URL: "http://x:8086" })).toThrow(/INFLUX_DB \(not set\) is required with InfluxDB 1\.x/);
  });
});

describe("influxVersionMismatch", () => {
  const v1 = readConfig(influxEnvSchema, { INFLUX_URL: "http://localhost:8086", INFLUX_DB: "orderpulse" });
  const v2 = readConfig(influxEnvSchema, { INFLUX_URL: "http://localhost:8086", INFLUX_TOKEN: "t", INFLUX_ORG: "o", INFLUX_BUCKET: "b" });
  it("names 2.x settings against a 1.x server and the reverse", () => {
    expect(influxVersionMismatch(v2, "1.6.7~rc0")).toBe(
      "INFLUX_URL=http://localhost:8086 is InfluxDB 1.6.7~rc0, but INFLUX_TOKEN, INFLUX_ORG and INFLUX_BUCKET are InfluxDB 2.x settings: unset them and set INFLUX_DB (e.g. INFLUX_DB=orderpulse, as .env.example has for the local services)",
    );
    expect(influxVersionMismatch(v1, "v2.7.10")).toMatch(/^INFLUX_URL=http:\/\/localhost:8086 is InfluxDB v2\.7\.10, but INFLUX_DB is an InfluxDB 1\.x setting: set INFLUX_TOKEN, INFLUX_ORG and INFLUX_BUCKET instead/);
  });
  it("accepts matching versions and unknown ones", () => {
    expect(influxVersionMismatch(v1, "1.8.10")).toBeUndefined();
    expect(influxVersionMismatch(v2, "v2.7.10")).toBeUndefined();
    expect(influxVersionMismatch(v2, "2.7.1")).toBeUndefined();
    expect(influxVersionMismatch(v1, undefined)).toBeUndefined();
    expect(influxVersionMismatch(v1, "unknown")).toBeUndefined();
  });
});
