import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isAlive } from "../scripts/services.ts";
import { kafkaEnvSchema, readConfig } from "../lib/contract/config.ts";
import { parseEnvFile } from "../workers/shared/env.ts";
import { kcatTopics, runScript, tempDir } from "./support/processes.ts";
import { waitFor, WorkerProcess } from "./support/workers.ts";

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
  // The state folder is temporary; the Kafka jars are shared (.orderpulse/kafka/lib-<version>/), so nothing is downloaded here.
  const services = (command: string, ...args: string[]) => runScript("scripts/services.ts", [command, ...args], env);
  const endpoints = () => parseEnvFile(readFileSync(join(state, "services.env"), "utf8"));
  const pids = () => [Number(parseEnvFile(readFileSync(join(state, "kafka/broker/ready"), "utf8")).PID), Number(readFileSync(join(state, "influxdb/influxd.pid"), "utf8"))];

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
    expect(isAlive(started[0], "kafka.Kafka") && isAlive(started[1], "influxd")).toBe(true);

    const second = await services("up");
    expect(second.code, second.stderr).toBe(0);
    expect(endpoints()).toEqual(before);
    expect(pids()).toEqual(started);

    // The dev broker serves the three topics, as an independent client sees them.
    expect(kcatTopics(before.KAFKA_BROKERS!)).toEqual(["orders.dlq:2", "orders.metrics:4", "orders:8"]);
    // Another partition count is refused (Kafka cannot remove partitions, and adding them moves keys), saying how to get it.
    const other = await services("up", "--partitions", "3");
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/orders has 8 partitions, not 3 .*run `npm run services:down -- --reset`/);
    expect(pids()).toEqual(started);

    // status: what runs, where, since when.
    const status = await services("status");
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`Apache Kafka 4\\.\\d+\\.\\d+ dev broker +running +pid ${started[0]} +${before.KAFKA_BROKERS!.replace(".", "\\.")} +since 20\\d\\d-`));
    expect(status.stdout).toMatch(new RegExp(`InfluxDB 1\\.x +running +pid ${started[1]} +http://127\\.0\\.0\\.1:\\d+ +since 20\\d\\d-`));

    const down = await services("down");
    expect(down.code, down.stderr).toBe(0);
    expect(isAlive(started[0], "kafka.Kafka") || isAlive(started[1], "influxd")).toBe(false);
    expect(await portOpen(`${before.INFLUX_URL}/ping`)).toBe(false);
    expect(existsSync(join(state, "services.env"))).toBe(false);
    const again = await services("down");
    expect(again.stderr).toMatch(/nothing was running/);
  });

  it("reports a dead broker instead of hiding it, and restarts it on its data only when asked to", async () => {
    const up = await services("up");
    expect(up.code, up.stderr).toBe(0);
    const [kafkaPid] = pids();
    const bootstrap = endpoints().KAFKA_BROKERS!;
    process.kill(kafkaPid!, "SIGKILL");
    await waitFor("the broker to die", async () => (isAlive(kafkaPid, "kafka.Kafka") ? undefined : true), 10_000, 100);
    const status = await services("status");
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(new RegExp(`dev broker +dead +pid ${kafkaPid}`));
    const again = await services("up");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`the Kafka dev broker \\(pid ${kafkaPid}, started .*\\) is no longer running; see .*server\\.log`));
    expect(endpoints().KAFKA_BROKERS).toBe(bootstrap);
  });

  it("warns on services:down when orderpulse processes still use the services", async () => {
    const up = await services("up");
    expect(up.code, up.stderr).toBe(0);
    const { KAFKA_BROKERS } = endpoints();
    const simulator = new WorkerProcess("workers/simulator.ts", { KAFKA_BROKERS, KAFKA_TOPIC: "orders", ORDERPULSE_STATE_DIR: state });
    try {
      await simulator.waitForOutput(/simulating/, 30_000);
      const down = await services("down");
      expect(down.code, down.stderr).toBe(0);
      expect(down.stderr).toMatch(new RegExp(`warning: orderpulse process ${simulator.child.pid} \\(.*workers/simulator\\.ts\\) is still running`));
    } finally {
      if (simulator.child.exitCode === null) await simulator.kill("SIGKILL");
    }
  });

  it("never auto-creates a topic from our clients", async () => {
    const up = await services("up");
    expect(up.code, up.stderr).toBe(0);
    const bootstrap = endpoints().KAFKA_BROKERS!;
    const { createKafka, openProducer, openConsumer, MissingTopicError } = await import("../workers/shared/kafka.ts");
    const config = readConfig(kafkaEnvSchema, { KAFKA_BROKERS: bootstrap, KAFKA_SESSION_TIMEOUT: "6s" });
    const kafka = createKafka(config, "auto-create-test");
    await expect(openProducer(kafka, config, ["orders", "typo-topic"])).rejects.toThrow(MissingTopicError);
    await expect(openConsumer(kafka, config, "auto-create-test", ["typo-topic-2"])).rejects.toThrow(/"typo-topic-2" does not exist/);
    const producer = await openProducer(kafka, config, ["orders"]);
    await producer.send({ topic: "orders", messages: [{ value: "x" }] });
    await producer.disconnect();
    expect(kcatTopics(bootstrap)).toEqual(["orders.dlq:2", "orders.metrics:4", "orders:8"]);
  });
});
