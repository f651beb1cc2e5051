import { describe, expect, it } from "vitest";
import { dlqHeaders, dlqSourceKey } from "./dead-letter.ts";

describe("dead-letter headers", () => {
  it("carry the rejection and a source identity that survives Kafka's Buffer headers", () => {
    const headers = dlqHeaders({ code: "not_json", reason: "not JSON: x" }, { topic: "orders", partition: 3, offset: "42", timestamp: "1700000000000" });
    expect(headers["orderpulse-reject-code"]).toBe("not_json");
    const asReceived = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]));
    expect(dlqSourceKey(asReceived)).toBe("orders/3/42");
    expect(dlqSourceKey({})).toBeUndefined();
  });
});
