/**
 * The dashboard's Kafka reads through the admin API (kafkajs): partition offsets, consumer
 * groups and their commits (the dead-letter topic is read by dead-letters.ts). Each read fails on its own,
 * with the broker's reason, so one refused call (an ACL, an old broker) greys out one panel only.
 */
import kafkajs, { type Admin } from "kafkajs";
import type { PartitionOffsets } from "../../lib/web/pipeline.ts";
import type { OffsetAtTime } from "../../lib/web/dead-letter-rate.ts";
import { TOPIC_CONFIG_NAMES, topicSettings, type TopicRole, type TopicSettings } from "../../lib/web/topic-settings.ts";

// Not a named export under Node's ESM loader: its detection of kafkajs's CommonJS exports stops before this one.
const { ConfigResourceTypes } = kafkajs;

/** A panel's data, or why the broker would not give it. */
export type Panel<T> = { ok: true; data: T } | { ok: false; reason: string };

export async function panel<T>(read: () => Promise<T>): Promise<Panel<T>> {
  try {
    return { ok: true, data: await read() };
  } catch (error) {
    return { ok: false, reason: (error as Error).message || String(error) };
  }
}

export async function topicOffsets(admin: Admin, topic: string): Promise<PartitionOffsets[]> {
  const rows = await admin.fetchTopicOffsets(topic);
  return rows.map((r) => ({ partition: r.partition, logStart: Number(r.low), logEnd: Number(r.high) })).sort((a, b) => a.partition - b.partition);
}

/**
 * Each partition's first offset whose record timestamp is at or after `timestampMs` (epoch ms;
 * ListOffsets by timestamp), the log end where no record is that new.
 */
export async function topicOffsetsAt(admin: Admin, topic: string, timestampMs: number): Promise<OffsetAtTime[]> {
  const rows = await admin.fetchTopicOffsetsByTimestamp(topic, timestampMs);
  return rows.map((r) => ({ partition: r.partition, offset: Number(r.offset) })).sort((a, b) => a.partition - b.partition);
}

export interface GroupSummary {
  groupId: string;
  state: string;
  members: number;
}

/** Consumer groups whose id starts with `prefix`, with state and member count (ListGroups + DescribeGroups). */
export async function consumerGroups(admin: Admin, prefix: string): Promise<GroupSummary[]> {
  const { groups } = await admin.listGroups();
  const ids = groups.filter((g) => g.groupId.startsWith(prefix) && (g.protocolType === "consumer" || g.protocolType === "")).map((g) => g.groupId);
  if (ids.length === 0) return [];
  const described = await admin.describeGroups(ids);
  return described.groups.map((g) => ({ groupId: g.groupId, state: g.state, members: g.members.length })).sort((a, b) => a.groupId.localeCompare(b.groupId));
}

/** A group's commit for one partition: the offset (null where it never committed) and its metadata (null when none). */
export interface GroupCommit {
  offset: number | null;
  metadata: string | null;
}

/** Each partition's commit of `topic` for a group (OffsetFetch). */
export async function groupCommits(admin: Admin, groupId: string, topic: string): Promise<Map<number, GroupCommit>> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((entry?.partitions ?? []).map((p) => [p.partition, { offset: Number(p.offset) >= 0 ? Number(p.offset) : null, metadata: p.metadata || null }]));
}

/** Committed offset per partition of `topic` for a group; null where it never committed. */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, number | null>> {
  return new Map([...(await groupCommits(admin, groupId, topic))].map(([partition, c]) => [partition, c.offset]));
}

/**
 * Retention and cleanup policy of each topic (DescribeConfigs, one request for all). Throws the
 * broker's error when it refuses (TOPIC_AUTHORIZATION_FAILED without DescribeConfigs rights on
 * a managed cluster), which greys the one panel that shows them.
 */
export async function describeTopicSettings(admin: Admin, topics: { topic: string; role: TopicRole }[]): Promise<TopicSettings[]> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map(({ topic }) => ({ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [...TOPIC_CONFIG_NAMES] })),
  });
  return topics.map(({ topic, role }) => {
    const resource = resources.find((r) => r.resourceName === topic);
    if (!resource) throw new Error(`DescribeConfigs returned nothing for topic ${topic}`);
    if (resource.errorCode !== 0) throw new Error(`DescribeConfigs refused for topic ${topic}: ${resource.errorMessage || `error code ${resource.errorCode}`}`);
    return topicSettings(topic, role, resource.configEntries.map((e) => ({ name: e.configName, value: e.configValue })));
  });
}
