import type { Rejection } from "./order.ts";

/** Where an invalid message came from: dead letters carry it so a replay's re-sends can be recognised. */
export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
}

export const DLQ_HEADERS = {
  code: "orderpulse-reject-code",
  reason: "orderpulse-reject-reason",
  topic: "orderpulse-source-topic",
  partition: "orderpulse-source-partition",
  offset: "orderpulse-source-offset",
  timestamp: "orderpulse-source-timestamp",
} as const;

/** Kafka record headers as kafkajs gives and takes them (a repeated header is an array). */
export type RecordHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

/**
 * Headers of a dead letter: the producer's own headers of the source record,
 * unchanged (trace ids and the like: whoever reads the dead letter can follow
 * it back), beside orderpulse's rejection and source coordinates; the value
 * stays the original bytes. An original header that uses one of orderpulse's
 * names ({@link DLQ_HEADERS}) gives way to orderpulse's.
 */
export function dlqHeaders(rejection: Rejection, source: SourceRecord, original: RecordHeaders = {}): RecordHeaders {
  return {
    ...original,
    [DLQ_HEADERS.code]: rejection.code,
    [DLQ_HEADERS.reason]: rejection.reason,
    [DLQ_HEADERS.topic]: source.topic,
    [DLQ_HEADERS.partition]: String(source.partition),
    [DLQ_HEADERS.offset]: source.offset,
    [DLQ_HEADERS.timestamp]: source.timestamp,
  };
}

/** The identity of a dead letter's source record, for consumers that de-duplicate at-least-once re-sends. */
export function dlqSourceKey(headers: RecordHeaders): string | undefined {
  const text = (name: string) => {
    const v = headers[name];
    return v === undefined ? undefined : String(Array.isArray(v) ? v[0] : v);
  };
  const topic = text(DLQ_HEADERS.topic);
  const partition = text(DLQ_HEADERS.partition);
  const offset = text(DLQ_HEADERS.offset);
  return topic && partition && offset ? `${topic}/${partition}/${offset}` : undefined;
}
