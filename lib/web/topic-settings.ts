/**
 * The Pipeline page's reading of the topics' settings (Kafka's DescribeConfigs): how long each
 * topic keeps its records and whether it is compacted, with what that means for orderpulse.
 * Pure: the broker's config entries come in. Topic config names and meanings: Kafka's
 * documentation, "Topic-Level Configs" (retention.ms -1 = no time limit, retention.bytes -1 =
 * no size limit, per partition).
 */

/** What a topic is to orderpulse (design.md: `<topic>`, `<topic>.dlq`, `<topic>.metrics`). */
export type TopicRole = "orders" | "dead letters" | "window values";

/** The config names read; anything else the broker returns is ignored. */
export const TOPIC_CONFIG_NAMES = ["retention.ms", "retention.bytes", "cleanup.policy"] as const;

export interface TopicSettings {
  topic: string;
  role: TopicRole;
  /** ms a record is kept; null: no time limit (retention.ms = -1). */
  retentionMs: number | null;
  /** Bytes kept per partition; null: no size limit (retention.bytes = -1). */
  retentionBytes: number | null;
  /** `delete`, `compact` or `compact,delete`. */
  cleanupPolicy: string;
  /** What an operator should know, one sentence each; empty when the settings suit the role. */
  warnings: string[];
}

const DAY_MS = 86_400_000;

/** `36 h`, `7 d`: retention in the largest whole-ish unit. */
export function formatRetention(ms: number): string {
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 2 * DAY_MS) return `${Math.round((ms / 3_600_000) * 10) / 10} h`;
  return `${Math.round((ms / DAY_MS) * 10) / 10} d`;
}

const limit = (value: string | undefined): number | null => {
  const n = Number(value);
  return value === undefined || !Number.isFinite(n) || n < 0 ? null : n;
};

/**
 * One topic's settings from its DescribeConfigs entries, with warnings:
 * - orders compacted: Kafka deletes older records of a key, and orders keyed by customer are not
 *   updates of one another, so a worker that is behind never reads the deleted ones;
 * - orders kept less than a day: a worker stopped longer loses orders (the workers report an offset gap);
 * - dead letters kept less than a week: that is all the time there is to fix and redrive them.
 */
export function topicSettings(topic: string, role: TopicRole, entries: { name: string; value: string | null }[]): TopicSettings {
  const get = (name: string) => entries.find((e) => e.name === name)?.value ?? undefined;
  const retentionMs = limit(get("retention.ms"));
  const cleanupPolicy = get("cleanup.policy") ?? "delete";
  const warnings: string[] = [];
  if (role === "orders" && cleanupPolicy.includes("compact"))
    warnings.push("compacted: Kafka deletes older orders of the same key, so a worker that is behind never reads them; orders need cleanup.policy=delete");
  if (role === "orders" && retentionMs !== null && retentionMs < DAY_MS)
    warnings.push(`keeps orders for ${formatRetention(retentionMs)}: a worker stopped for longer loses what was deleted meanwhile (reported as an offset gap)`);
  if (role === "dead letters" && retentionMs !== null && retentionMs < 7 * DAY_MS)
    warnings.push(`keeps dead letters for ${formatRetention(retentionMs)}: fix and redrive them before then`);
  return { topic, role, retentionMs, retentionBytes: limit(get("retention.bytes")), cleanupPolicy, warnings };
}
