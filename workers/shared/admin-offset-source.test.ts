import { describe, expect, it } from "vitest";
import type { Admin } from "kafkajs";
import { AdminOffsetSource } from "./kafka.ts";

/** Admin clients that answer with their own number as the log end; `failing` ones refuse like a moved leader. */
function admins(failing: Set<number>) {
  const made: { id: number; connected: boolean; disconnected: boolean }[] = [];
  const kafka = {
    admin: () => {
      const state = { id: made.length, connected: false, disconnected: false };
      made.push(state);
      return {
        connect: async () => void (state.connected = true),
        disconnect: async () => void (state.disconnected = true),
        fetchTopicOffsets: async () => {
          if (failing.has(state.id)) throw new Error("This server is not the leader for that topic-partition");
          return [{ partition: 0, high: String(state.id), low: "0", offset: String(state.id) }];
        },
        fetchOffsets: async () => [{ topic: "orders", partitions: [{ partition: 0, offset: String(state.id), metadata: null }] }],
      } as unknown as Admin;
    },
  };
  return { kafka, made };
}

describe("AdminOffsetSource", () => {
  it("keeps one connected client while requests succeed", async () => {
    const { kafka, made } = admins(new Set());
    const source = new AdminOffsetSource(kafka);
    await source.fetchTopicOffsets("orders");
    await source.fetchOffsets({ groupId: "g", topics: ["orders"] });
    expect(await source.fetchTopicOffsets("orders")).toEqual([{ partition: 0, high: "0", low: "0", offset: "0" }]);
    expect(made).toEqual([{ id: 0, connected: true, disconnected: false }]);
    await source.disconnect();
    expect(made[0]!.disconnected).toBe(true);
  });

  it("rethrows a failed request, disconnects that client and asks a new one (fresh metadata) next time", async () => {
    const { kafka, made } = admins(new Set([0]));
    const source = new AdminOffsetSource(kafka);
    await expect(source.fetchTopicOffsets("orders")).rejects.toThrow(/not the leader/);
    expect(await source.fetchTopicOffsets("orders")).toEqual([{ partition: 0, high: "1", low: "0", offset: "1" }]);
    await Promise.resolve();
    expect(made.map((a) => [a.id, a.disconnected])).toEqual([
      [0, true],
      [1, false],
    ]);
  });

  it("replaces a client that could not connect", async () => {
    let attempts = 0;
    const kafka = {
      admin: () =>
        ({
          connect: async () => {
            if (attempts++ === 0) throw new Error("Connection error: ECONNREFUSED");
          },
          disconnect: async () => undefined,
          fetchTopicOffsets: async () => [{ partition: 0, high: "7", low: "0", offset: "7" }],
        }) as unknown as Admin,
    };
    const source = new AdminOffsetSource(kafka);
    await expect(source.fetchTopicOffsets("orders")).rejects.toThrow(/ECONNREFUSED/);
    expect((await source.fetchTopicOffsets("orders"))[0]!.high).toBe("7");
  });
});
