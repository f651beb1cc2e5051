import { WindowEngine } from "../../lib/hot/window-engine.ts";

/** What the worker knows of one assigned partition besides its engine. */
export class PartitionState {
  /** Offset the next message should have; a larger one means data was removed before we read it. */
  nextExpectedOffset: number;
  lastProcessedOffset = -1;
  /** Log-end offset (Kafka calls it the high watermark) as of the last fetch or offset refresh. */
  logEndOffset = 0;
  /** A periodic log-end read has covered this partition since its state was created (not just the creation's read). */
  logEndRefreshed = false;
  /** Wall-clock ms when the last record was received (idle advancement counts from it). */
  lastRecordAt: number;
  /** Set once we asked the consumer to seek to the resume offset, so a later mismatch is a real gap. */
  sought = false;
  consumed = 0;
  invalid = 0;
  late = 0;
  duplicates = 0;
  offsetGaps = 0;
  missedMessages = 0;
  lastPublishedWatermark: number | null = null;
  /**
   * The engine took an idle advance (or, never having had a record, followed the wall clock: WindowEngine.advanceEmpty)
   * that no successful commit records yet. Records wait meanwhile (metrics-worker.ts
   * onBatch): classified after it, one could turn late, and its late point, once in InfluxDB, would stay there while a
   * replay from the last commit (which knows nothing of the advance) counts it on time.
   */
  idleAdvanceUncommitted = false;
  /**
   * Dead-letter sends not acknowledged yet, oldest first, each with the lowest source offset it carries: a
   * commit must stay at or below the first (metrics-worker.ts commitPending). They go out one at a time, in
   * offset order, chained on {@link deadLettering}.
   */
  readonly deadLettersInFlight: { lowestOffset: number; messages: number }[] = [];
  /** The last dead-letter send of this state: true once it (and so every one before it) was acknowledged, false if one failed. */
  deadLettering: Promise<boolean> = Promise.resolve(true);

  constructor(
    readonly partition: number,
    readonly engine: WindowEngine,
    /** The offset this engine expects to replay from. */
    readonly resumeOffset: number,
    now: number,
  ) {
    this.nextExpectedOffset = resumeOffset;
    this.lastRecordAt = now;
  }

  /** The last offset the consumer has moved past, control records and aborted records included. */
  private passedOffset = -1;

  passed(offset: number): void {
    if (offset > this.passedOffset) this.passedOffset = offset;
  }

  /** Offsets below this have every dead letter acknowledged (Infinity when none is in flight). */
  get deadLettersDurableBelow(): number {
    return this.deadLettersInFlight[0]?.lowestOffset ?? Infinity;
  }

  /** Dead letters handed to the producer and not acknowledged yet. */
  get deadLettersPending(): number {
    let n = 0;
    for (const send of this.deadLettersInFlight) n += send.messages;
    return n;
  }

  get lag(): number {
    // passedOffset: kafkajs moves past control and aborted records without handing them over.
    return Math.max(0, this.logEndOffset - Math.max(this.lastProcessedOffset + 1, this.resumeOffset, this.passedOffset + 1));
  }
}
