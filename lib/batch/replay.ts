/**
 * The hot path re-run over the lake: every valid lake row of a partition, in
 * offset order, through a fresh WindowEngine per partition with the hot path's
 * window settings. Pure; the caller streams the rows in.
 *
 * Exact except for idle advances: the hot path raises a quiet partition's
 * watermark by wall-clock time (IDLE_TIMEOUT), and that time is not in the lake.
 * So an event arriving after a partition was idle long enough is late on the hot
 * path but may be on-time here, and windows still open at the lake's end are
 * emitted as partial values (final = false) where the hot path closed them by
 * idling. Everything else (de-duplication, lateness, window values) is the hot
 * path's classification, record for record, since the engine is deterministic.
 */
import type { Order } from "../contract/order.ts";
import { WindowEngine, type AnomalyRecord, type Classification, type WindowEngineConfig, type WindowValue } from "../hot/window-engine.ts";

/** One valid lake row as the engine sees it. */
export interface LakeRecord {
  partition: number;
  offset: number;
  order: Order;
}

export interface ReplayObserver {
  /** Each record's classification, as it is ingested. */
  classified?(record: LakeRecord, classification: Classification): void;
  /** Every released window value, partial or final, in release order (later values supersede earlier ones). */
  window?(value: WindowValue): void;
  anomaly?(anomaly: AnomalyRecord): void;
}

export interface ReplayOptions {
  /** Emit a partition's engine every this many of its records, so final windows leave memory; default 10 000. */
  emitEvery?: number;
}

export class LakeReplay {
  private readonly engines = new Map<number, WindowEngine>();
  private readonly sinceEmit = new Map<number, number>();
  private readonly emitEvery: number;
  records = 0;

  private readonly config: WindowEngineConfig;

  constructor(
    config: WindowEngineConfig,
    private readonly observer: ReplayObserver = {},
    options: ReplayOptions = {},
  ) {
    // Nothing is committed here, so commit metadata may grow as it likes: an emit is never blocked.
    this.config = { ...config, maxCommitMetadataBytes: Number.MAX_SAFE_INTEGER };
    this.emitEvery = options.emitEvery ?? 10_000;
    if (!Number.isSafeInteger(this.emitEvery) || this.emitEvery < 1) throw new RangeError(`emitEvery must be a whole number ≥ 1, got ${this.emitEvery}`);
    // Fail on a bad configuration now, not at the first record.
    new WindowEngine(0, this.config);
  }

  /**
   * Classifies one record. Records of one partition must come in increasing
   * offset order; partitions are independent and may interleave.
   * @throws InvalidOffsetError when an offset repeats or goes backwards (the lake holds a row twice).
   */
  ingest(record: LakeRecord): Classification {
    let engine = this.engines.get(record.partition);
    if (!engine) {
      engine = new WindowEngine(record.partition, this.config);
      this.engines.set(record.partition, engine);
      this.sinceEmit.set(record.partition, 0);
    }
    const classification = engine.ingest({ offset: record.offset, order: record.order });
    this.records++;
    this.observer.classified?.(record, classification);
    const count = this.sinceEmit.get(record.partition)! + 1;
    if (count >= this.emitEvery) {
      this.release(engine);
      this.sinceEmit.set(record.partition, 0);
    } else {
      this.sinceEmit.set(record.partition, count);
    }
    return classification;
  }

  /** Releases what every engine still holds: final windows, partial values of open windows, pending anomalies. */
  finish(): void {
    for (const partition of [...this.engines.keys()].sort((a, b) => a - b)) this.release(this.engines.get(partition)!);
  }

  /** Per partition: the watermark at the end of the replay (null before any record). */
  watermarks(): Map<number, number | null> {
    return new Map([...this.engines].sort(([a], [b]) => a - b).map(([partition, engine]) => [partition, engine.stats().watermark]));
  }

  private release(engine: WindowEngine): void {
    const { windows, anomalies } = engine.emit();
    for (const value of windows) this.observer.window?.(value);
    for (const anomaly of anomalies) this.observer.anomaly?.(anomaly);
  }
}
