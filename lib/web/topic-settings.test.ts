import { describe, expect, it } from "vitest";
import { formatRetention, topicSettings } from "./topic-settings.ts";

const entries = (values: Record<string, string>) => Object.entries(values).map(([name, value]) => ({ name, value }));

describe("topic settings", () => {
  it("reads retention and cleanup policy; -1 is no limit", () => {
    expect(topicSettings("orders", "orders", entries({ "retention.ms": "-1", "retention.bytes": "1073741824", "cleanup.policy": "delete" }))).toEqual({
      topic: "orders",
      role: "orders",
      retentionMs: null,
      retentionBytes: 1_073_741_824,
      cleanupPolicy: "delete",
      warnings: [],
    });
    expect(topicSettings("orders", "orders", [])).toMatchObject({ retentionMs: null, retentionBytes: null, cleanupPolicy: "delete", warnings: [] });
  });

  it("warns of a compacted or short-lived orders topic and of dead letters kept under a week", () => {
    expect(topicSettings("orders", "orders", entries({ "cleanup.policy": "compact,delete", "retention.ms": "604800000" })).warnings).toEqual([
      expect.stringMatching(/^compacted: Kafka deletes older orders of the same key/),
    ]);
    expect(topicSettings("orders", "orders", entries({ "retention.ms": "43200000" })).warnings).toEqual([expect.stringMatching(/^keeps orders for 12 h: a worker stopped/)]);
    expect(topicSettings("orders", "orders", entries({ "retention.ms": String(86_400_000) })).warnings).toEqual([]);
    expect(topicSettings("orders.dlq", "dead letters", entries({ "retention.ms": String(3 * 86_400_000) })).warnings).toEqual(["keeps dead letters for 3 d: fix and redrive them before then"]);
    // Window values may be compacted or short-lived: the feed reads only what is recent.
    expect(topicSettings("orders.metrics", "window values", entries({ "retention.ms": "3600000", "cleanup.policy": "compact" })).warnings).toEqual([]);
  });

  it("formats retention in the unit a person would say", () => {
    expect([formatRetention(30 * 60_000), formatRetention(36 * 3_600_000), formatRetention(7 * 86_400_000)]).toEqual(["30 min", "36 h", "7 d"]);
  });
});
