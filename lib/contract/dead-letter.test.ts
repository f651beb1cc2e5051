import { describe, expect, it } from "vitest";
import { dlqHeaders, dlqSourceKey } from "./dead-letter.ts";

describe("dead-letter headers", () => {
  it("carry the rejection and a source identity that survives Kafka's Buffer headers", () => {
    const headers = dlqHeaders({ code: "not_json", reason: "not JSON: x" }, { topic: "orders", partition: 3, offset: "42", timestamp: "1700000000000" });
    expect(headers["orderpulse-reject-code"]).toBe("not_json");
    const asReceived = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(String(v))]));
    expect(dlqSourceKey(asReceived)).toBe("orders/3/42");
    expect(dlqSourceKey({})).toBeUndefined();
  });

  it("keep the producer's original headers beside orderpulse's own, which win a name clash", () => {
    const original = { traceparent: Buffer.from("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), "x-tags": [Buffer.from("a"), Buffer.from("b")], "orderpulse-reject-code": Buffer.from("forged") };
    const headers = dlqHeaders({ code: "duplicate_key", reason: 'key "amount" appears twice in one object' }, { topic: "orders", partition: 1, offset: "7", timestamp: "-1" }, original);
    expect(headers).toEqual({
      traceparent: original.traceparent,
      "x-tags": original["x-tags"],
      "orderpulse-reject-code": "duplicate_key",
      "orderpulse-reject-reason": 'key "amount" appears twice in one object',
      "orderpulse-source-topic": "orders",
      "orderpulse-source-partition": "1",
      "orderpulse-source-offset": "7",
      "orderpulse-source-timestamp": "-1",
    });
  });
});
