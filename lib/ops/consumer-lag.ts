import { CommitMetadataError, decodeCommitMetadata } from "../hot/commit-metadata.ts";

/**
 * Consumer lag read from Kafka itself (issue 12, `consumer_lag`), for a worker that stopped
 * reporting its own lag to InfluxDB. Pure: offsets, commits and time come in.
 *
 * The metrics worker's committed offset deliberately trails what it processed: it commits the
 * first offset to replay, which holds the de-duplication horizon (lib/hot/window-engine.ts emit,
 * design.md "Recovery"), so log end − committed overstates lag by up to a horizon of messages
 * (on a busy shop, more than the 10,000-message default). Its commit metadata also records the
 * processed position at commit time (`n=`, ResumeState.processedNext): lag = log end − that.
 * A commit without it (an older worker, another kind of group) falls back to the committed offset,
 * and says so.
 */

/** Where a partition's lag is measured from. */
export type LagPosition = "processed" | "committed" | "log start";

/**
 * The position a group's commit says was processed, and what it is: the metadata's processed
 * position when present and decodable, else the committed offset, else the log start (never committed).
 * Clamped to [logStart, ∞): retention may have deleted what was never read.
 */
export function processedPosition(partition: number, commit: { offset: number | null; metadata: string | null } | undefined, logStart: number): { offset: number; from: LagPosition } {
  if (!commit || commit.offset === null) return { offset: logStart, from: "log start" };
  let processed: number | undefined;
  if (commit.metadata) {
    try {
      processed = decodeCommitMetadata(partition, commit.metadata).processedNext;
    } catch (error) {
      if (!(error instanceof CommitMetadataError)) throw error;
    }
  }
  return processed !== undefined && processed >= commit.offset ? { offset: Math.max(processed, logStart), from: "processed" } : { offset: Math.max(commit.offset, logStart), from: "committed" };
}

/**
 * Log-end offsets of a topic's partitions as sampled over time (each evaluation of the alerts
 * worker), so "how long has the oldest unprocessed message waited" has an answer while the
 * consumer is down: the message at offset P was produced by the first sample whose log end
 * exceeds P. Only the first sample of each log-end value is kept (that is when it was reached),
 * and none older than `keepMs`.
 */
export class LogEndHistory {
  private readonly samples = new Map<number, { at: number; logEnd: number }[]>();

  constructor(private readonly keepMs: number) {}

  /** A sample: `logEnd` of `partition` at `at` (epoch ms, non-decreasing per partition). */
  record(partition: number, at: number, logEnd: number): void {
    let list = this.samples.get(partition);
    if (!list) this.samples.set(partition, (list = []));
    // A log end that went down is a recreated topic: its history no longer applies.
    if (logEnd < (list.at(-1)?.logEnd ?? 0)) list.length = 0;
    if (list.at(-1)?.logEnd !== logEnd) list.push({ at, logEnd });
    // Keep one sample older than the horizon: it says the log end had reached that value by then.
    let drop = 0;
    while (drop + 1 < list.length && list[drop + 1]!.at < at - this.keepMs) drop++;
    if (drop > 0) list.splice(0, drop);
  }

  /**
   * Milliseconds the message at `position` has waited by `now` (0 when the log end is not past
   * it): now − the first sample above it. A lower bound when the history starts after that message
   * was produced (e.g. the alerts worker started later); `exact` says which.
   */
  waited(partition: number, position: number, now: number): { ms: number; exact: boolean } {
    const list = this.samples.get(partition) ?? [];
    const first = list.findIndex((s) => s.logEnd > position);
    if (first < 0) return { ms: 0, exact: true };
    return { ms: Math.max(0, now - list[first]!.at), exact: first > 0 };
  }
}

/** One partition's lag as Kafka sees it. */
export interface KafkaPartitionLag {
  partition: number;
  /** Messages: log end − the processed position. */
  lag: number;
  from: LagPosition;
  /** How long the oldest unprocessed message has waited, ms (LogEndHistory.waited). */
  waitedMs: number;
  /** True when waitedMs is only a lower bound (the samples start after that message). */
  waitedAtLeast: boolean;
}

/** A group's lag from Kafka, per partition, for the pipeline `worker` that consumes in it; or why the broker would not say. */
export type KafkaLag = { ok: true; worker: string; partitions: KafkaPartitionLag[] } | { ok: false; worker: string; reason: string };

/** Each partition's Kafka-side lag; also records the log ends in `history`. */
export function kafkaPartitionLags(
  offsets: readonly { partition: number; logStart: number; logEnd: number }[],
  commits: ReadonlyMap<number, { offset: number | null; metadata: string | null }>,
  history: LogEndHistory,
  now: number,
): KafkaPartitionLag[] {
  return offsets.map((o) => {
    history.record(o.partition, now, o.logEnd);
    const position = processedPosition(o.partition, commits.get(o.partition), o.logStart);
    const waited = history.waited(o.partition, position.offset, now);
    return { partition: o.partition, lag: Math.max(0, o.logEnd - position.offset), from: position.from, waitedMs: waited.ms, waitedAtLeast: !waited.exact };
  });
}
