import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import pino from "pino";
import type { Consumer } from "kafkajs";
import { KafkaGroupConsumer } from "./kafka.ts";

const silent = pino({ level: "silent" });

/** The kafkajs Consumer surface KafkaGroupConsumer and SupervisedConsumer touch: events, run, connect, stop. */
function fakeConsumer() {
  const emitter = new EventEmitter();
  const calls = { run: 0, connect: 0 };
  const events = { GROUP_JOIN: "consumer.group_join", HEARTBEAT: "consumer.heartbeat", REBALANCING: "consumer.rebalancing", CRASH: "consumer.crash" };
  const consumer = {
    events,
    on: (event: string, listener: (e: unknown) => void) => emitter.on(event, listener),
    run: async () => void calls.run++,
    connect: async () => void calls.connect++,
    stop: async () => undefined,
    disconnect: async () => undefined,
  } as unknown as Consumer;
  const crash = () => emitter.emit(events.CRASH, { payload: { error: new Error("The group is rebalancing"), restart: false } });
  return { consumer, calls, crash };
}

const untilIdle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("KafkaGroupConsumer", () => {
  it("restarts a consumer kafkajs gave up on, and says revoke first", async () => {
    const { consumer, calls, crash } = fakeConsumer();
    const revokes: unknown[] = [];
    const group = new KafkaGroupConsumer(consumer, "g", 30_000, silent, (error) => revokes.push(error));
    group.on("revoke", (reason) => revokes.push(reason));
    await group.run({ eachBatch: async () => undefined });
    crash();
    await untilIdle(700); // the first restart waits 500 ms
    expect(revokes).toEqual(["consumer restart"]);
    expect(calls).toEqual({ run: 2, connect: 1 });
  });

  it("after beginStop(), a crash is not restarted: the stop does not rejoin the group", async () => {
    const { consumer, calls, crash } = fakeConsumer();
    const gaveUp: Error[] = [];
    const group = new KafkaGroupConsumer(consumer, "g", 30_000, silent, (error) => gaveUp.push(error));
    await group.run({ eachBatch: async () => undefined });
    group.beginStop();
    crash();
    await untilIdle(700);
    expect(calls).toEqual({ run: 1, connect: 0 });
    expect(gaveUp).toEqual([]);
  });
});
