/**
 * The dead-letter topic as the Pipeline page acts on it: browse it newest first (paged), and
 * redrive selected dead letters to the source topic. The rules are lib/web/dead-letters.ts; this
 * reads offset ranges with a short-lived consumer (its own group, never committing) and sends
 * with a producer passed in.
 */
import { randomUUID } from "node:crypto";
import type { Admin, Kafka, Producer } from "kafkajs";
import { deadLetterId, formatCursor, MAX_REDRIVE, mergePage, pageRanges, planRedrive, readDeadLetter, selectionRanges, selects, type DeadLetter, type DeadLetterRecord, type PageCursor, type RedriveRequest, type RedrivePlan } from "../../lib/web/dead-letters.ts";
import { topicOffsets } from "./kafka-admin.ts";
import { COMPRESSION } from "./kafka.ts";

/** Most dead-letter records one request reads (a browse with a reason filter, a redrive by filter). */
export const MAX_SCAN = 50_000;

export class DeadLetterReadError extends Error {
  override name = "DeadLetterReadError";
}

/** The selection is larger than one redrive may send, or than one request may read: answered 400 with the count. */
export class SelectionTooLargeError extends Error {
  override name = "SelectionTooLargeError";
}

type Range = { partition: number; from: number; to: number };

/**
 * Reads the offsets [from, to) of each range of `topic`. A range is complete once a batch reaches
 * its last offset (holes such as transaction markers are skipped by the broker's batches); after
 * `timeoutMs` it throws DeadLetterReadError naming the partitions still short. The read joins a
 * group of its own, `<groupPrefix><uuid>` (KafkaConfig.groups.dashboardPrefix), and commits nothing.
 */
export async function readRanges(kafka: Kafka, groupPrefix: string, topic: string, ranges: Range[], timeoutMs = 20_000): Promise<DeadLetterRecord[]> {
  const wanted = ranges.filter((r) => r.to > r.from);
  if (wanted.length === 0) return [];
  const consumer = kafka.consumer({ groupId: `${groupPrefix}dlq-read-${randomUUID()}`, allowAutoTopicCreation: false, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const byPartition = new Map(wanted.map((r) => [r.partition, r]));
  const done = new Set<number>();
  const records: DeadLetterRecord[] = [];
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let sought = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (sought) return;
      sought = true;
      for (const r of wanted) consumer.seek({ topic, partition: r.partition, offset: String(r.from) });
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const range = byPartition.get(batch.partition);
        if (!range || done.has(batch.partition)) return;
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          if (offset >= range.from && offset < range.to) records.push({ partition: batch.partition, offset: m.offset, timestamp: m.timestamp, key: m.key, value: m.value, headers: m.headers ?? {} });
        }
        if (Number(batch.lastOffset()) >= range.to - 1 || Number(batch.highWatermark) <= range.to - 1) {
          done.add(batch.partition);
          consumer.pause([{ topic, partitions: [batch.partition] }]);
          if (done.size === wanted.length) finish();
        }
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
    const outcome = await Promise.race([finished, timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      const short = wanted.filter((r) => !done.has(r.partition)).map((r) => `${topic}/${r.partition} offsets ${r.from}..${r.to - 1}`);
      throw new DeadLetterReadError(`reading ${short.join(", ")} did not finish within ${timeoutMs} ms`);
    }
    return records;
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

export interface DeadLetterPage {
  topic: string;
  /** Dead letters in the topic (log end − log start over its partitions). */
  total: number;
  items: DeadLetter[];
  /** Pass as `before` for the next (older) page; null when this page reached the oldest. */
  next: string | null;
}

/**
 * One page of dead letters, newest first, below `cursor` (the newest without). With `code`, only
 * that reason's, reading older pages until `limit` are found or MAX_SCAN records were read (then
 * `next` continues from there).
 */
export async function browseDeadLetters(kafka: Kafka, admin: Admin, topic: string, options: { cursor?: PageCursor; limit: number; code?: string; groupPrefix: string }): Promise<DeadLetterPage> {
  const offsets = await topicOffsets(admin, topic);
  const total = offsets.reduce((s, o) => s + o.logEnd - o.logStart, 0);
  const matches = (d: DeadLetter) => options.code === undefined || d.code === options.code;
  // Per partition, the offset below which nothing has been looked at yet.
  const cursor: PageCursor = new Map(offsets.map((o) => [o.partition, Math.min(o.logEnd, options.cursor?.get(o.partition) ?? o.logEnd)]));
  const items: DeadLetter[] = [];
  let scanned = 0;
  for (;;) {
    const ranges = pageRanges(offsets, cursor, options.code === undefined ? options.limit - items.length : options.limit);
    if (ranges.length === 0 || items.length >= options.limit || scanned >= MAX_SCAN) break;
    const read = await readRanges(kafka, options.groupPrefix, topic, ranges);
    scanned += read.length;
    const grouped = new Map<number, DeadLetter[]>(ranges.map((r) => [r.partition, []]));
    for (const r of read) grouped.get(r.partition)!.push(readDeadLetter(r));
    const page = mergePage(grouped, ranges, offsets, Number.MAX_SAFE_INTEGER);
    for (const d of page.items) {
      if (!matches(d)) {
        cursor.set(d.partition, d.offset);
        continue;
      }
      if (items.length >= options.limit) break;
      items.push(d);
      cursor.set(d.partition, d.offset);
    }
    // Ranges that held no record (holes only) are passed over.
    for (const r of ranges) if (grouped.get(r.partition)!.length === 0) cursor.set(r.partition, r.from);
  }
  const more = offsets.some((o) => cursor.get(o.partition)! > o.logStart);
  return { topic, total, items, next: more ? formatCursor(cursor) : null };
}

export interface RedriveOutcome extends RedrivePlan {
  dryRun: boolean;
  /** Dead letters selected (before skipping re-sends of one source record). */
  selected: number;
  /** Where the redriven records landed: partition → first offset written there. */
  written: { topic: string; partition: number; baseOffset: string }[];
}

/**
 * Redrives the selected dead letters of `dlqTopic` to `topic` (lib/web/dead-letters.ts planRedrive:
 * source partition, key, edited value, redrive headers) in one send (acks all). A selected id no
 * longer in the topic (retention) is skipped with why. Throws SelectionTooLargeError past
 * MAX_REDRIVE dead letters or MAX_SCAN records to read.
 */
export async function redriveDeadLetters(
  kafka: Kafka,
  admin: Admin,
  producer: Pick<Producer, "send">,
  options: { topic: string; dlqTopic: string; groupPrefix: string; request: RedriveRequest; who: string; now: number },
): Promise<RedriveOutcome> {
  const { request } = options;
  const offsets = await topicOffsets(admin, options.dlqTopic);
  const ranges = selectionRanges(request.select, offsets);
  const toRead = ranges.reduce((s, r) => s + r.to - r.from, 0);
  if (toRead > MAX_SCAN) throw new SelectionTooLargeError(`the selection spans ${toRead} dead-letter records; at most ${MAX_SCAN} are read per redrive: narrow it (reason, offsets, time)`);
  const records = await readRanges(kafka, options.groupPrefix, options.dlqTopic, ranges);
  const byId = new Map(records.map((r) => [deadLetterId(r.partition, r.offset), r]));
  const selected = records.map(readDeadLetter).filter((d) => selects(request.select, d));
  if (selected.length > MAX_REDRIVE) throw new SelectionTooLargeError(`the selection holds ${selected.length} dead letters; at most ${MAX_REDRIVE} are redriven at once: narrow it`);
  const plan = planRedrive(selected, byId, { topic: options.topic, dlqTopic: options.dlqTopic, edits: request.edits, now: options.now, who: options.who });
  const missing = request.select.kind === "ids" ? request.select.ids.filter((id) => !byId.has(id)).map((id) => ({ id, why: "not in the dead-letter topic (removed by retention, or never written)" })) : [];
  const outcome: RedriveOutcome = { ...plan, skipped: [...plan.skipped, ...missing], dryRun: request.dryRun, selected: selected.length, written: [] };
  if (request.dryRun || plan.redrive.length === 0) return outcome;
  const metadata = await producer.send({
    topic: options.topic,
    acks: -1,
    compression: COMPRESSION,
    messages: plan.redrive.map((r) => ({ key: r.key, value: r.value, headers: r.headers, partition: r.partition })),
  });
  outcome.written = metadata.map((m) => ({ topic: m.topicName, partition: m.partition, baseOffset: String(m.baseOffset ?? "") }));
  return outcome;
}
