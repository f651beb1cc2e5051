/**
 * The dashboard's Kafka reads through the admin API (kafkajs): partition offsets, consumer
 * groups and their commits, and a tail of the dead-letter topic. Each read fails on its own,
 * with the broker's reason, so one refused call (an ACL, an old broker) greys out one panel only.
 */
import { randomUUID } from "node:crypto";
import type { Admin, Consumer, IHeaders, Kafka } from "kafkajs";
import { DLQ_HEADERS } from "../../lib/contract/dead-letter.ts";
import type { PartitionOffsets } from "../../lib/web/pipeline.ts";
import { previewBytes } from "../../lib/web/pipeline.ts";

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

/** Committed offset per partition of `topic` for a group; null where it never committed. */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, number | null>> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset) >= 0 ? Number(p.offset) : null]));
}

export interface Rejection {
  code: string;
  reason: string;
  sourceTopic: string;
  sourcePartition: number | null;
  sourceOffset: string;
  /** Epoch ms of the source record, null if absent. */
  sourceTime: number | null;
  preview: string;
}

const header = (headers: IHeaders | undefined, name: string) => {
  const v = headers?.[name];
  return v === undefined ? "" : String(Array.isArray(v) ? v[0] : v);
};

/**
 * The newest dead letters, kept by one consumer per web server process (its own group, never
 * committing): on join it seeks every partition to `keep` before the log end, then follows.
 */
export class DeadLetterTail {
  private consumer: Consumer | undefined;
  private starting: Promise<void> | undefined;
  private readonly latest: Rejection[] = [];
  private failure: string | undefined;

  constructor(private readonly kafka: Kafka, private readonly topic: string, private readonly keep = 20) {}

  /** The newest rejections (newest first), starting the tail on first use; throws the reason it could not start. */
  async read(admin: Admin): Promise<Rejection[]> {
    this.starting ??= this.start(admin).catch((error: Error) => {
      this.failure = error.message;
      this.starting = undefined;
    });
    await Promise.race([this.starting, new Promise((r) => setTimeout(r, 3_000))]);
    if (this.failure && !this.consumer) throw new Error(this.failure);
    return [...this.latest].sort((a, b) => (b.sourceTime ?? 0) - (a.sourceTime ?? 0));
  }

  private async start(admin: Admin): Promise<void> {
    const offsets = await topicOffsets(admin, this.topic);
    const consumer = this.kafka.consumer({ groupId: `orderpulse-dashboard-dlq-${randomUUID()}`, allowAutoTopicCreation: false });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: false });
    let sought = false;
    // Once: a later rejoin resumes where the tail is, it must not go back to the start-up offsets.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (sought) return;
      sought = true;
      for (const o of offsets) consumer.seek({ topic: this.topic, partition: o.partition, offset: String(Math.max(o.logStart, o.logEnd - this.keep)) });
    });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const sourcePartition = header(message.headers, DLQ_HEADERS.partition);
        const sourceTime = Number(header(message.headers, DLQ_HEADERS.timestamp) || message.timestamp);
        this.latest.push({
          code: header(message.headers, DLQ_HEADERS.code) || "unknown",
          reason: header(message.headers, DLQ_HEADERS.reason),
          sourceTopic: header(message.headers, DLQ_HEADERS.topic),
          sourcePartition: sourcePartition === "" ? null : Number(sourcePartition),
          sourceOffset: header(message.headers, DLQ_HEADERS.offset) || `dlq ${partition}/${message.offset}`,
          sourceTime: Number.isFinite(sourceTime) && sourceTime > 0 ? sourceTime : null,
          preview: previewBytes(message.value),
        });
        this.latest.sort((a, b) => (b.sourceTime ?? 0) - (a.sourceTime ?? 0));
        this.latest.splice(this.keep);
      },
    });
    this.consumer = consumer;
  }
}
