/**
 * Dead letters an operator can act on: reading a dead-letter record (the headers the metrics
 * worker writes, lib/contract/dead-letter.ts), paging the dead-letter topic newest first across
 * its partitions, selecting dead letters (by id, or by reason, offsets and time), and building
 * the redrive record that goes back to the source topic. Pure: records, offsets and `now` come in.
 */
import { z } from "zod";
import { DLQ_HEADERS, dlqSourceKey, type RecordHeaders } from "../contract/dead-letter.ts";
import { previewBytes, type PartitionOffsets } from "./pipeline.ts";

/**
 * Headers a redriven record carries beside the producer's own: what it replays and when. The
 * metrics and lake workers read no header (they are metadata: a redriven order is validated and
 * de-duplicated like any other); a redriven order that is invalid again is dead-lettered again with
 * these headers kept, so its new dead letter shows it was a redrive.
 */
export const REDRIVE_HEADERS = {
  /** `<dlq topic>/<partition>/<offset>`: the dead letter replayed. */
  of: "orderpulse-redrive-of",
  /** `<topic>/<partition>/<offset>`: where the order was first produced (the dead letter's source coordinates). */
  source: "orderpulse-redrive-source",
  /** ISO-8601 UTC time of the redrive. */
  at: "orderpulse-redrive-at",
  /** Who asked for it (the audit log's `who`). */
  by: "orderpulse-redrive-by",
  /** `true` when the payload was edited before the redrive, else `false`. */
  edited: "orderpulse-redrive-edited",
} as const;

/** A dead-letter record as a consumer reads it (kafkajs shapes: offsets and timestamps are strings). */
export interface DeadLetterRecord {
  partition: number;
  offset: string;
  /** Epoch ms as a string (kafkajs). */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders;
}

export interface DeadLetter {
  /** `<partition>:<offset>` in the dead-letter topic: the id a selection names. */
  id: string;
  partition: number;
  offset: number;
  /** Epoch ms the dead letter was written. */
  at: number;
  code: string;
  reason: string;
  source: { topic: string | null; partition: number | null; offset: string | null; timestamp: number | null };
  /** `<topic>/<partition>/<offset>` of the source record, if the headers name it: re-sends of one source share it. */
  sourceKey: string | null;
  /** Set when this dead letter is itself a redriven order that was invalid again: the dead letter it replayed. */
  redriveOf: string | null;
  preview: string;
  /** The value as UTF-8 text for editing; null when it is not valid UTF-8 (it can still be redriven as is). */
  text: string | null;
  bytes: number;
  key: string | null;
}

const headerText = (headers: RecordHeaders, name: string): string | null => {
  const v = headers[name];
  if (v === undefined) return null;
  return String(Array.isArray(v) ? v[0] : v);
};

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

export const deadLetterId = (partition: number, offset: number | string) => `${partition}:${offset}`;

/** A dead-letter record with its headers read. Missing headers (a record some other producer wrote) give nulls, never a throw. */
export function readDeadLetter(record: DeadLetterRecord): DeadLetter {
  const h = record.headers;
  const sourcePartition = headerText(h, DLQ_HEADERS.partition);
  const sourceTime = Number(headerText(h, DLQ_HEADERS.timestamp));
  let text: string | null = null;
  if (record.value) {
    try {
      text = strictUtf8.decode(record.value);
    } catch {
      text = null;
    }
  }
  return {
    id: deadLetterId(record.partition, record.offset),
    partition: record.partition,
    offset: Number(record.offset),
    at: Number(record.timestamp),
    code: headerText(h, DLQ_HEADERS.code) ?? "unknown",
    reason: headerText(h, DLQ_HEADERS.reason) ?? "",
    source: {
      topic: headerText(h, DLQ_HEADERS.topic),
      partition: sourcePartition !== null && /^\d+$/.test(sourcePartition) ? Number(sourcePartition) : null,
      offset: headerText(h, DLQ_HEADERS.offset),
      timestamp: Number.isFinite(sourceTime) && sourceTime > 0 ? sourceTime : null,
    },
    sourceKey: dlqSourceKey(h) ?? null,
    redriveOf: headerText(h, REDRIVE_HEADERS.of),
    preview: previewBytes(record.value),
    text,
    bytes: record.value?.length ?? 0,
    key: record.key ? record.key.toString("utf8") : null,
  };
}

/** Per partition of the dead-letter topic, the offset a page reads below (exclusive). */
export type PageCursor = Map<number, number>;

const cursorText = /^(\d+:\d+)(,\d+:\d+)*$/;

/** `0:120,1:87` ⇄ cursor. Throws on anything else (the route answers 400). */
export function parseCursor(text: string): PageCursor {
  if (!cursorText.test(text)) throw new Error(`cursor: expected <partition>:<offset>[,…], got ${JSON.stringify(text.slice(0, 40))}`);
  return new Map(text.split(",").map((pair) => pair.split(":").map(Number) as [number, number]));
}

export function formatCursor(cursor: PageCursor): string {
  return [...cursor].sort((a, b) => a[0] - b[0]).map(([p, o]) => `${p}:${o}`).join(",");
}

/** Offsets [from, to) to read per partition for the next `limit` dead letters below the cursor (the log end without one). */
export function pageRanges(offsets: PartitionOffsets[], cursor: PageCursor | undefined, limit: number): { partition: number; from: number; to: number }[] {
  return offsets
    .map((o) => {
      const to = Math.min(o.logEnd, Math.max(o.logStart, cursor?.get(o.partition) ?? o.logEnd));
      return { partition: o.partition, from: Math.max(o.logStart, to - limit), to };
    })
    .filter((r) => r.to > r.from);
}

/**
 * The newest `limit` dead letters of the read ranges, newest first (time, then partition and
 * offset), and the cursor after them. Merged partition by partition from the highest offset down,
 * stopping when a partition with older records left unread runs out, so what a page takes from a
 * partition is always a run ending at its cursor: the next page continues exactly where this one
 * stopped, whatever the timestamps. `more` is false once every partition is taken down to its log start.
 */
export function mergePage(
  read: Map<number, DeadLetter[]>,
  ranges: { partition: number; from: number; to: number }[],
  offsets: PartitionOffsets[],
  limit: number,
): { items: DeadLetter[]; cursor: PageCursor; more: boolean } {
  const starts = new Map(offsets.map((o) => [o.partition, o.logStart]));
  const queues = new Map(ranges.map((r) => [r.partition, [...(read.get(r.partition) ?? [])].sort((a, b) => b.offset - a.offset)]));
  const unreadBelow = new Set(ranges.filter((r) => r.from > (starts.get(r.partition) ?? 0)).map((r) => r.partition));
  // A partition with nothing to read is done (its cursor at its log start).
  const cursor: PageCursor = new Map(offsets.map((o) => [o.partition, o.logStart]));
  for (const r of ranges) cursor.set(r.partition, r.to);
  const items: DeadLetter[] = [];
  while (items.length < limit) {
    if ([...queues].some(([p, q]) => q.length === 0 && unreadBelow.has(p))) break;
    let best: DeadLetter | undefined;
    for (const q of queues.values()) {
      const head = q[0];
      if (head && (!best || head.at > best.at || (head.at === best.at && (head.partition > best.partition || (head.partition === best.partition && head.offset > best.offset))))) best = head;
    }
    if (!best) break;
    queues.get(best.partition)!.shift();
    items.push(best);
    cursor.set(best.partition, best.offset);
  }
  // A partition read to its log start and emptied is finished even where holes left its cursor above it.
  for (const r of ranges) if (!unreadBelow.has(r.partition) && queues.get(r.partition)!.length === 0) cursor.set(r.partition, starts.get(r.partition) ?? 0);
  const more = offsets.some((o) => cursor.get(o.partition)! > o.logStart);
  return { items, cursor, more };
}

const idSchema = z.string().regex(/^\d+:\d+$/, "a dead letter id <partition>:<offset>");

/** What an operator selects: dead letters by id, or every one matching a filter (reason, DLQ offsets, time). */
export const selectionSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("ids"), ids: z.array(idSchema).min(1).max(1_000) }),
  z
    .object({
      kind: z.literal("filter"),
      /** Rejection code (`orderpulse-reject-code`), e.g. `not_json`. */
      code: z.string().min(1).max(64).optional(),
      /** Offsets of one dead-letter partition, inclusive. */
      partition: z.number().int().min(0).optional(),
      fromOffset: z.number().int().min(0).optional(),
      toOffset: z.number().int().min(0).optional(),
      /** Dead-letter time range, ISO-8601 with an offset (inclusive from, exclusive to). */
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
      /** Confirms "every dead letter" when no other criterion is given. */
      all: z.boolean().optional(),
    })
    .refine((f) => f.fromOffset === undefined || f.toOffset === undefined || f.fromOffset <= f.toOffset, { message: "fromOffset must not exceed toOffset" })
    .refine((f) => (f.fromOffset === undefined && f.toOffset === undefined) || f.partition !== undefined, { message: "an offset range names its partition" })
    .refine((f) => f.from === undefined || f.to === undefined || Date.parse(f.from) < Date.parse(f.to), { message: "from must be before to" })
    .refine((f) => f.all === true || f.code !== undefined || f.partition !== undefined || f.from !== undefined || f.to !== undefined, {
      message: "a filter needs a reason code, a range, or all: true",
    }),
]);
export type Selection = z.output<typeof selectionSchema>;

/** The most dead letters one redrive resends: past it the operator narrows the selection. */
export const MAX_REDRIVE = 10_000;

export const redriveRequestSchema = z.object({
  select: selectionSchema,
  /** Replacement payloads (the fixed order as UTF-8 text) by dead-letter id. */
  edits: z.record(idSchema, z.string().max(1_000_000)).default({}),
  /** Only report what would be redriven. */
  dryRun: z.boolean().default(false),
});
export type RedriveRequest = z.output<typeof redriveRequestSchema>;

/** Whether a dead letter is in a selection. */
export function selects(selection: Selection, d: DeadLetter): boolean {
  if (selection.kind === "ids") return selection.ids.includes(d.id);
  if (selection.code !== undefined && d.code !== selection.code) return false;
  if (selection.partition !== undefined && d.partition !== selection.partition) return false;
  if (selection.fromOffset !== undefined && d.offset < selection.fromOffset) return false;
  if (selection.toOffset !== undefined && d.offset > selection.toOffset) return false;
  if (selection.from !== undefined && d.at < Date.parse(selection.from)) return false;
  if (selection.to !== undefined && d.at >= Date.parse(selection.to)) return false;
  return true;
}

/** The offsets [from, to) of each dead-letter partition a selection can touch (time bounds are applied to records, afterwards). */
export function selectionRanges(selection: Selection, offsets: PartitionOffsets[]): { partition: number; from: number; to: number }[] {
  return offsets
    .flatMap((o) => {
      if (selection.kind === "ids") {
        const mine = selection.ids.map((id) => id.split(":").map(Number) as [number, number]).filter(([p]) => p === o.partition).map(([, off]) => off);
        if (mine.length === 0) return [];
        return [{ partition: o.partition, from: Math.max(o.logStart, Math.min(...mine)), to: Math.min(o.logEnd, Math.max(...mine) + 1) }];
      }
      if (selection.partition !== undefined && selection.partition !== o.partition) return [];
      return [{ partition: o.partition, from: Math.max(o.logStart, selection.fromOffset ?? 0), to: Math.min(o.logEnd, selection.toOffset === undefined ? o.logEnd : selection.toOffset + 1) }];
    })
    .filter((r) => r.to > r.from);
}

export interface RedriveRecord {
  topic: string;
  /** The source partition, so every replay of an order lands where its first copy and its duplicates are (per-partition de-duplication). */
  partition: number | undefined;
  key: string | null;
  value: string | Buffer | null;
  headers: RecordHeaders;
  /** The dead letter it replays. */
  of: string;
  edited: boolean;
}

export type RedrivePlan = { redrive: RedriveRecord[]; skipped: { id: string; why: string }[] };

/**
 * What to send for the selected dead letters: each to its source topic and partition with its
 * key, its (possibly edited) value, the producer's own headers without orderpulse's rejection
 * headers, and {@link REDRIVE_HEADERS}. Skipped, with why: a dead letter whose source is not
 * `topic` (the dashboard redrives only there), and a second dead letter of the same source record
 * (the metrics worker dead-letters at least once; one replay per source record).
 */
export function planRedrive(selected: DeadLetter[], records: Map<string, DeadLetterRecord>, options: { topic: string; dlqTopic: string; edits: Record<string, string>; now: number; who: string }): RedrivePlan {
  const redrive: RedriveRecord[] = [];
  const skipped: { id: string; why: string }[] = [];
  const bySource = new Map<string, string>();
  // An edited dead letter wins over an unedited re-send of the same source record.
  const ordered = [...selected].sort((a, b) => Number(b.id in options.edits) - Number(a.id in options.edits) || a.partition - b.partition || a.offset - b.offset);
  for (const d of ordered) {
    if (d.source.topic !== null && d.source.topic !== options.topic) {
      skipped.push({ id: d.id, why: `source topic ${d.source.topic} is not ${options.topic}` });
      continue;
    }
    if (d.sourceKey !== null) {
      const first = bySource.get(d.sourceKey);
      if (first !== undefined) {
        skipped.push({ id: d.id, why: `same source record ${d.sourceKey} as dead letter ${first}` });
        continue;
      }
      bySource.set(d.sourceKey, d.id);
    }
    const record = records.get(d.id)!;
    const kept = Object.fromEntries(Object.entries(record.headers).filter(([name]) => !(Object.values(DLQ_HEADERS) as string[]).includes(name) && !(Object.values(REDRIVE_HEADERS) as string[]).includes(name)));
    const edited = d.id in options.edits;
    const of = `${options.dlqTopic}/${d.partition}/${d.offset}`;
    redrive.push({
      topic: options.topic,
      partition: d.source.partition ?? undefined,
      key: d.key,
      value: edited ? options.edits[d.id]! : record.value,
      headers: {
        ...kept,
        [REDRIVE_HEADERS.of]: of,
        [REDRIVE_HEADERS.source]: d.sourceKey ?? "unknown",
        [REDRIVE_HEADERS.at]: new Date(options.now).toISOString(),
        [REDRIVE_HEADERS.by]: options.who,
        [REDRIVE_HEADERS.edited]: String(edited),
      },
      of,
      edited,
    });
  }
  const unused = Object.keys(options.edits).filter((id) => !selected.some((d) => d.id === id));
  for (const id of unused) skipped.push({ id, why: "edited but not selected (or no longer in the dead-letter topic)" });
  return { redrive: redrive.sort((a, b) => a.of.localeCompare(b.of, "en", { numeric: true })), skipped };
}
