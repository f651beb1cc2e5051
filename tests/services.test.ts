import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isAlive } from "../scripts/services.ts";
import { parseEnvFile } from "../workers/shared/env.ts";
import { kcatTopics, runScript, tempDir } from "./support/processes.ts";

const portOpen = async (url: string) => {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
};

describe("npm run services:up / services:down", () => {
  // A state folder of its own, so this test starts and stops its own services.
  const state = tempDir("services");
  const env = { ORDERPULSE_STATE_DIR: state, KAFKA_BROKERS: "", INFLUX_URL: "", KAFKA_TOPIC: "" };
  const services = (command: string, ...args: string[]) => runScript("scripts/services.ts", [command, ...args], env);
  const endpoints = () => parseEnvFile(readFileSync(join(state, "services.env"), "utf8"));
  const pids = () => [Number(parseEnvFile(readFileSync(join(state, "kafka/ready"), "utf8")).PID), Number(readFileSync(join(state, "influxdb/influxd.pid"), "utf8"))];

  afterAll(async () => {
    await services("down");
  });

  it("starts healthy services, is harmless when run twice, and stops everything", async () => {
    const first = await services("up");
    expect(first.code, first.stderr).toBe(0);
    const before = endpoints();
    expect(before.KAFKA_BROKERS).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(before.INFLUX_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.stdout).toContain(`KAFKA_BROKERS=${before.KAFKA_BROKERS}`);
    const ping = await fetch(`${before.INFLUX_URL}/ping`);
    expect(ping.status).toBe(204);
    const started = pids();
    expect(isAlive(started[0], "kafka-mock") && isAlive(started[1], "influxd")).toBe(true);

    const second = await services("up");
    expect(second.code, second.stderr).toBe(0);
    expect(endpoints()).toEqual(before);
    expect(pids()).toEqual(started);

    // The dev broker serves the three topics, as an independent client sees them.
    expect(kcatTopics(before.KAFKA_BROKERS!)).toEqual(["orders.dlq:2", "orders.metrics:4", "orders:8"]);
    // It cannot add partitions: asking for another layout is refused, saying how to get it, and changes nothing.
    const other = await services("up", "--partitions", "3");
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/serves orders:8, .* not orders:3; run `npm run services:down` first/);
    expect(pids()).toEqual(started);

    const down = await services("down");
    expect(down.code, down.stderr).toBe(0);
    expect(isAlive(started[0], "kafka-mock") || isAlive(started[1], "influxd")).toBe(false);
    expect(await portOpen(`${before.INFLUX_URL}/ping`)).toBe(false);
    expect(existsSync(join(state, "services.env"))).toBe(false);
    const again = await services("down");
    expect(again.stderr).toMatch(/nothing was running/);
  });

  it("never auto-creates a topic from our clients", async () => {
    const up = await services("up");
    expect(up.code, up.stderr).toBe(0);
    const bootstrap = endpoints().KAFKA_BROKERS!;
    const { createKafka, openProducer, openConsumer, MissingTopicError } = await import("../workers/shared/kafka.ts");
    const config = { brokers: [bootstrap], topic: "orders", dlqTopic: "orders.dlq", windowValuesTopic: "orders.metrics", sessionTimeoutMs: 6_000, fetchMaxWaitMs: 500, ssl: false, sasl: undefined };
    const kafka = createKafka(config, "auto-create-test");
    await expect(openProducer(kafka, config, ["orders", "typo-topic"])).rejects.toThrow(MissingTopicError);
    await expect(openConsumer(kafka, config, "auto-create-test", ["typo-topic-2"])).rejects.toThrow(/"typo-topic-2" does not exist/);
    const producer = await openProducer(kafka, config, ["orders"]);
    await producer.send({ topic: "orders", messages: [{ value: "x" }] });
    await producer.disconnect();
    expect(kcatTopics(bootstrap)).toEqual(["orders.dlq:2", "orders.metrics:4", "orders:8"]);
  });
});
