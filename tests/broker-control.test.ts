/**
 * The librdkafka mock cluster's control channel, which tests/broker-errors.test.ts
 * relies on to inject protocol error codes: no Apache Kafka broker can be told
 * to fail a request type with a chosen code, so this one test tool stays a mock.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Kafka, logLevel } from "kafkajs";
import { controlBroker, startMockBroker, stopMockBroker, type MockBrokerInfo } from "../scripts/services.ts";
import { tempDir } from "./support/processes.ts";

let broker: MockBrokerInfo | undefined;
afterAll(async () => {
  if (broker) await stopMockBroker(broker);
});

describe("mock broker control channel", () => {
  it("takes a broker down and up again, injects request errors, and answers bad commands with an error", async () => {
    broker = await startMockBroker({ dir: tempDir("control"), topics: { orders: 2 } });
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, connectionTimeout: 1_000, requestTimeout: 2_000, retry: { retries: 1, initialRetryTime: 100 } });
    const send = async () => {
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      try {
        await producer.connect();
        await producer.send({ topic: "orders", messages: [{ key: "k", value: "v" }] });
        return "sent";
      } catch {
        return "failed";
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
    };
    expect(await send()).toBe("sent");
    expect(await controlBroker(broker.control, "down 1")).toBe("ok");
    expect(await send()).toBe("failed");
    expect(await controlBroker(broker.control, "up 1")).toBe("ok");
    expect(await send()).toBe("sent");
    expect(await controlBroker(broker.control, "down 7")).toMatch(/^error usage/);
    expect(await controlBroker(broker.control, "explode 1")).toMatch(/^error unknown command/);
    expect(await controlBroker(broker.control, "fail 0")).toMatch(/^error usage: fail/);
    expect(await controlBroker(broker.control, "fail 0 6 100")).toMatch(/^error usage: fail/);
    // An injected error reaches the client: the next Produce gets MESSAGE_TOO_LARGE (10, not retried), the one after it goes through.
    expect(await controlBroker(broker.control, "fail 0 10 1")).toBe("ok");
    expect(await send()).toBe("failed");
    expect(await send()).toBe("sent");
  });
});
