import type { Admin } from "kafkajs";
import { describe, expect, it } from "vitest";
import { KafkaLagReader } from "./alert-inputs.ts";

/** A log that keeps its lines. */
function memoryLog() {
  const lines: { level: string; fields: object; message: string }[] = [];
  return { lines, info: (fields: object, message: string) => void lines.push({ level: "info", fields, message }), warn: (fields: object, message: string) => void lines.push({ level: "warn", fields, message }) };
}

/** An admin client whose OffsetFetch is refused (as a broker ACL does) until `allowed` is set. */
function fakeAdmin(state: { allowed: boolean; logEnd: number }): Admin {
  return {
    fetchTopicOffsets: async () => [{ partition: 0, offset: String(state.logEnd), high: String(state.logEnd), low: "0" }],
    fetchOffsets: async () => {
      if (!state.allowed) throw Object.assign(new Error("Not authorized to access group"), { name: "KafkaJSProtocolError", type: "GROUP_AUTHORIZATION_FAILED" });
      return [{ topic: "orders", partitions: [{ partition: 0, offset: "10", metadata: "om1 p=0 w=60000/5000/65000 c=10 m=- f=- b=- i= d= n=1e" }] }];
    },
  } as unknown as Admin;
}

describe("KafkaLagReader", () => {
  it("degrades a refused OffsetFetch (GROUP_AUTHORIZATION_FAILED) to a reason, logged once, and recovers when allowed", async () => {
    const state = { allowed: false, logEnd: 100 };
    const log = memoryLog();
    let closed = 0;
    const reader = new KafkaLagReader(async () => ({ admin: fakeAdmin(state), close: async () => void closed++ }), "orders", "orderpulse-metrics", log, 60_000);
    expect(await reader.read(1_000)).toEqual([{ ok: false, worker: "metrics", reason: "KafkaJSProtocolError: Not authorized to access group" }]);
    expect(await reader.read(2_000)).toEqual([{ ok: false, worker: "metrics", reason: "KafkaJSProtocolError: Not authorized to access group" }]);
    expect(log.lines.filter((l) => l.level === "warn")).toHaveLength(1);
    expect(closed).toBe(2);

    state.allowed = true;
    // Processed position 10 + "1e" (base 36: 50) = 60: 40 waiting, not the 90 after the committed offset.
    expect(await reader.read(3_000)).toEqual([{ ok: true, worker: "metrics", partitions: [{ partition: 0, lag: 40, from: "processed", waitedMs: 0, waitedAtLeast: true }] }]);
    expect(log.lines.at(-1)).toMatchObject({ level: "info", message: "consumer lag readable from Kafka again" });
  });

  it("keeps one admin client across reads, and connects afresh after a failed one", async () => {
    const state = { allowed: true, logEnd: 100 };
    let opened = 0;
    let closed = 0;
    const reader = new KafkaLagReader(async () => (opened++, { admin: fakeAdmin(state), close: async () => void closed++ }), "orders", "orderpulse-metrics", memoryLog(), 60_000);
    for (let t = 0; t < 3; t++) expect((await reader.read(t * 1_000))[0]).toMatchObject({ ok: true });
    expect({ opened, closed }).toEqual({ opened: 1, closed: 0 });
    state.allowed = false;
    expect((await reader.read(4_000))[0]).toMatchObject({ ok: false });
    expect({ opened, closed }).toEqual({ opened: 1, closed: 1 });
    state.allowed = true;
    expect((await reader.read(5_000))[0]).toMatchObject({ ok: true });
    await reader.close();
    expect({ opened, closed }).toEqual({ opened: 2, closed: 2 });
    // Stopping: no reconnection behind the shutdown's back.
    expect((await reader.read(6_000))[0]).toMatchObject({ ok: false, reason: /closed/ });
    expect(opened).toBe(2);
  });

  it("a broker that cannot be reached is a reason too, never a throw", async () => {
    const reader = new KafkaLagReader(async () => Promise.reject(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:1")), "orders", "orderpulse-metrics", memoryLog(), 60_000);
    expect(await reader.read(0)).toEqual([{ ok: false, worker: "metrics", reason: "Error: Connection error: connect ECONNREFUSED 127.0.0.1:1" }]);
  });
});
