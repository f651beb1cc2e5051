/**
 * A lake on disk as the lake worker writes it, from OrderGenerator output: the
 * messages are spread over partitions by key, get per-partition offsets, are
 * decoded with decodeOrder (valid → orders/, invalid → orders_invalid/) and
 * flushed every few messages per partition as real Parquet files with
 * writeParquetFile, then committed with markers. Optionally some (hour,
 * partition) groups are compacted with their inputs left in place, and a flush
 * past the marker (a crash before the commit) is left behind: readers must
 * ignore both.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { commitMarkerPath, invalidFilePath, ordersFilePath, ordersHourDir, serializeCommitMarker } from "../../lib/lake/layout.ts";
import { INVALID_TABLE, ORDERS_TABLE, toLakeInvalidRow, toLakeOrderRow, type LakeInvalidRow, type LakeOrderRow } from "../../lib/lake/schema.ts";
import { writeParquetFile } from "../../workers/lake/parquet-file.ts";
import { decodeOrder, type DecodeResult } from "../../lib/contract/order.ts";
import { OrderGenerator, type ChaosRates, type MessageKind } from "../../lib/sim/order-generator.ts";

export const FIXTURE_WINDOW = { windowSizeMs: 60_000, watermarkDelayMs: 120_000 };
export const FIXTURE_SKEW_MS = 600_000;
export const FIXTURE_CHAOS: ChaosRates = { duplicates: 0.04, late: 0.03, outOfOrder: 0.1, malformed: 0.03, nulls: 0.05, skew: 0.02 };
/** How long after its record timestamp the lake takes a message in. */
export const INGEST_DELAY_MS = 1_500;

export interface FixtureMessage {
  partition: number;
  offset: number;
  kind: MessageKind;
  key: string | null;
  value: Buffer;
  timestamp: number;
  ingestedAt: number;
  decoded: DecodeResult;
  /** Removed from Kafka before the lake read it (lostRange): not in the lake, recorded as an offset gap. */
  lost: boolean;
}

export interface LakeFixtureOptions {
  lakeDir: string;
  seed: number;
  count: number;
  startMs: number;
  partitions: number;
  ratePerSecond: number;
  chaos?: ChaosRates;
  /** Messages per partition per flush; default 400. */
  flushEvery?: number;
  /** Compact up to this many (hour, partition) groups, leaving their inputs; default 3. */
  compactions?: number;
  /** Leave a flush past partition 0's marker; default true. */
  uncommittedTail?: boolean;
  /** Offsets of a partition that Kafka's retention removed before the lake read them: left out, with an `offset_gap` row. */
  lostRange?: { partition: number; fromOffset: number; count: number };
}

/** Deterministic partitioner (any stable hash will do: copies of an order share a key, hence a partition). */
export function partitionOf(key: string | null, partitions: number): number {
  let hash = 2166136261;
  for (const c of key ?? "") hash = Math.imul(hash ^ c.charCodeAt(0), 16777619) >>> 0;
  return hash % partitions;
}

export function generateMessages(options: LakeFixtureOptions): FixtureMessage[] {
  const generator = new OrderGenerator({
    seed: options.seed,
    startMs: options.startMs,
    ratePerSecond: options.ratePerSecond,
    chaos: options.chaos ?? FIXTURE_CHAOS,
    windowSizeMs: FIXTURE_WINDOW.windowSizeMs,
    watermarkDelayMs: FIXTURE_WINDOW.watermarkDelayMs,
    maxEventSkewMs: FIXTURE_SKEW_MS,
  });
  const nextOffset = new Array<number>(options.partitions).fill(0);
  const messages: FixtureMessage[] = [];
  for (let i = 0; i < options.count; i++) {
    const m = generator.next();
    const partition = partitionOf(m.key, options.partitions);
    messages.push({
      partition,
      offset: nextOffset[partition]!++,
      kind: m.kind,
      key: m.key,
      value: m.value,
      timestamp: m.timestamp,
      ingestedAt: m.timestamp + INGEST_DELAY_MS,
      decoded: decodeOrder(m.value, m.timestamp, FIXTURE_SKEW_MS),
      lost: false,
    });
  }
  const lost = options.lostRange;
  if (lost)
    for (const m of messages)
      if (m.partition === lost.partition && m.offset >= lost.fromOffset && m.offset < lost.fromOffset + lost.count) m.lost = true;
  return messages;
}

const groupBy = <T>(items: readonly T[], key: (item: T) => string) => {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
};

async function writeMarker(lakeDir: string, partition: number, nextOffset: number): Promise<void> {
  const path = join(lakeDir, commitMarkerPath(partition));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, serializeCommitMarker({ nextOffset, clusterId: "fixture-cluster", topic: "orders" }));
}

/** Writes one flush of a partition: a file per event hour touched, plus one for the invalid messages. */
async function writeFlush(lakeDir: string, batch: FixtureMessage[]): Promise<{ hourFiles: { dir: string; rows: LakeOrderRow[] }[] }> {
  const valid: LakeOrderRow[] = [];
  const invalid: LakeInvalidRow[] = [];
  for (const m of batch) {
    const source = { partition: m.partition, offset: m.offset, ingestedAt: m.ingestedAt };
    if (m.lost) {
      // The lake worker's gap record: one row at the first missing offset.
      if (!batch.some((other) => other.lost && other.offset === m.offset - 1))
        invalid.push({
          kafka_partition: m.partition,
          kafka_offset: m.offset,
          record_timestamp: null,
          reason_code: "offset_gap",
          reason: `offsets from ${m.offset} were removed by Kafka before the lake read them`,
          raw: null,
          ingested_at: m.ingestedAt,
        });
      continue;
    }
    if (m.decoded.ok) valid.push(toLakeOrderRow(m.decoded.order, source, m.value));
    else invalid.push(toLakeInvalidRow(m.decoded.rejection, { ...source, recordTimestamp: m.timestamp }, m.value));
  }
  const hourFiles: { dir: string; rows: LakeOrderRow[] }[] = [];
  for (const [dir, rows] of groupBy(valid, (r) => ordersHourDir(r.event_time))) {
    const range = { partition: rows[0]!.kafka_partition, firstOffset: rows[0]!.kafka_offset, lastOffset: rows.at(-1)!.kafka_offset };
    await writeParquetFile(join(lakeDir, ordersFilePath(rows[0]!.event_time, range)), ORDERS_TABLE, rows);
    hourFiles.push({ dir, rows });
  }
  for (const rows of groupBy(invalid, (r) => invalidFilePath(r.ingested_at, { partition: 0, firstOffset: 0, lastOffset: 0 })).values()) {
    const range = { partition: rows[0]!.kafka_partition, firstOffset: rows[0]!.kafka_offset, lastOffset: rows.at(-1)!.kafka_offset };
    await writeParquetFile(join(lakeDir, invalidFilePath(rows[0]!.ingested_at, range)), INVALID_TABLE, rows);
  }
  return { hourFiles };
}

/** Writes the lake and returns every message with its partition, offset and decoding. */
export async function writeLakeFixture(options: LakeFixtureOptions): Promise<FixtureMessage[]> {
  const messages = generateMessages(options);
  const flushEvery = options.flushEvery ?? 400;
  const written = new Map<string, LakeOrderRow[][]>();
  for (const [partitionKey, partitionMessages] of groupBy(messages, (m) => String(m.partition))) {
    const partition = Number(partitionKey);
    for (let i = 0; i < partitionMessages.length; i += flushEvery) {
      const { hourFiles } = await writeFlush(options.lakeDir, partitionMessages.slice(i, i + flushEvery));
      for (const { dir, rows } of hourFiles) {
        const key = `${dir}\u0000${partition}`;
        written.set(key, [...(written.get(key) ?? []), rows]);
      }
    }
    await writeMarker(options.lakeDir, partition, partitionMessages.at(-1)!.offset + 1);
  }

  // Compactions whose inputs are not deleted yet: the covering file must win, no row counted twice.
  let compactions = options.compactions ?? 3;
  for (const files of written.values()) {
    if (compactions === 0) break;
    if (files.length < 2) continue;
    const rows = files.flat().sort((a, b) => a.kafka_offset - b.kafka_offset);
    const range = { partition: rows[0]!.kafka_partition, firstOffset: files[0]![0]!.kafka_offset, lastOffset: files.at(-1)!.at(-1)!.kafka_offset };
    await writeParquetFile(join(options.lakeDir, ordersFilePath(rows[0]!.event_time, range)), ORDERS_TABLE, rows);
    compactions--;
  }

  // A flush that died before its marker: rows past partition 0's committed offsets.
  if (options.uncommittedTail ?? true) {
    const last = messages.filter((m) => m.partition === 0).at(-1)!;
    const template = messages.find((m) => m.partition === 0 && m.decoded.ok)!;
    if (template.decoded.ok) {
      const ghost = toLakeOrderRow({ ...template.decoded.order, orderId: "ghost-order", amount: 999_999 }, { partition: 0, offset: last.offset + 1, ingestedAt: last.ingestedAt }, "{}");
      await writeParquetFile(join(options.lakeDir, ordersFilePath(ghost.event_time, { partition: 0, firstOffset: ghost.kafka_offset, lastOffset: ghost.kafka_offset })), ORDERS_TABLE, [ghost]);
    }
  }
  return messages;
}
