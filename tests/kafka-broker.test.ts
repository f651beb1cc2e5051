import { afterAll, describe, expect, it } from "vitest";
import { Kafka, logLevel } from "kafkajs";
import { kafkaAlive, killKafka, startKafka, stopKafka, type KafkaBroker } from "../scripts/kafka/broker.ts";
import { tempDir } from "./support/processes.ts";
import { waitFor } from "./support/workers.ts";

// This test kills its broker, so it starts its own instead of sharing the run's.
let broker: KafkaBroker | undefined;
afterAll(async () => {
  if (broker) await stopKafka(broker);
});

describe("the dev broker is Apache Kafka", () => {
  it("creates topics through the admin API, and keeps every acks=all message across a kill -9 and restart on the same data", async () => {
    const dir = tempDir("kafka-real");
    broker = await startKafka({ dir });
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic: "durable", numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true })).toBe(true);
    const { topics } = await admin.fetchTopicMetadata({ topics: ["durable"] });
    expect(topics[0]!.partitions).toHaveLength(3);
    // A real broker answers what the mock cluster cannot: topic configs and the controller's cluster id.
    const configs = await admin.describeConfigs({ resources: [{ type: 2, name: "durable" }], includeSynonyms: false });
    expect(configs.resources[0]!.configEntries.find((e) => e.configName === "cleanup.policy")?.configValue).toBe("delete");
    const clusterId = (await admin.describeCluster()).clusterId;
    await admin.disconnect();

    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const acknowledged: string[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const messages = Array.from({ length: 100 }, (_, i) => ({ key: `k-${(batch * 100 + i) % 37}`, value: `m-${batch * 100 + i}` }));
      await producer.send({ topic: "durable", acks: -1, messages });
      acknowledged.push(...messages.map((m) => m.value));
    }
    await producer.disconnect();

    const { pid, bootstrap } = broker;
    await killKafka(broker);
    expect(kafkaAlive(pid)).toBe(false);
    broker = await startKafka({ dir });
    expect(broker.bootstrap).toBe(bootstrap);
    expect(broker.pid).not.toBe(pid);

    const again = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const checkAdmin = again.admin();
    await checkAdmin.connect();
    expect((await checkAdmin.describeCluster()).clusterId).toBe(clusterId);
    await checkAdmin.disconnect();
    const consumer = again.consumer({ groupId: `read-back-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: "durable", fromBeginning: true });
    const read: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void read.push(message.value!.toString()) });
    await waitFor("every acknowledged message read back", async () => (read.length >= acknowledged.length ? true : undefined), 60_000, 200);
    await consumer.disconnect();
    expect(read.sort()).toEqual([...acknowledged].sort());
  });
});
