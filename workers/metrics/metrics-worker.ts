/**
 * The metrics worker's loop (design.md, "Windows" and "InfluxDB"): decode,
 * dead-letter, WindowEngine per partition, then per emit cycle write the
 * released window values and anomalies to InfluxDB, publish them on
 * `<topic>.metrics`, and commit each partition's engine commit point only after
 * both acknowledged everything released before it. Its IO comes in as
 * arguments (consumer group, producer, offsets, InfluxDB sink, clock), kafkajs
 * runner style, so unit tests drive it with fakes; workers/metrics.ts wires the
 * real ones.
 */
import type { KafkaMessage, Message } from "kafkajs";
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import type { WindowConfig } from "../../lib/contract/config.ts";
import { dlqHeaders } from "../../lib/contract/dead-letter.ts";
import { decodeOrder, type DecodeResult } from "../../lib/contract/order.ts";
import { anomalyPoint, pipelinePoint, windowPoints, type InfluxPoint } from "../../lib/hot/influx-points.ts";
import { windowMessageOf } from "../../lib/hot/window-values.ts";
import { CommitMetadataError, WindowEngine, type CommitPoint, type WindowEngineConfig } from "../../lib/hot/window-engine.ts";
import { CustomerSegments } from "../../lib/contract/dims.ts";
import { COMPRESSION, logStartOffset, type BatchPayload, type GroupConsumer, type OffsetSource } from "../shared/kafka.ts";
import { PartitionState } from "./partition-state.ts";
import { settleWithin } from "../shared/settle-within.ts";

const PIPELINE_SAMPLE_MS = 5_000;
const PROGRESS_LOG_MS = 10_000;
/** Per partition: dead letters handed to the producer and not acknowledged before a batch waits for them. */
const MAX_DEAD_LETTERS_IN_FLIGHT = 10_000;

/** The topics the worker reads and writes. */
export interface MetricsTopics {
  topic: string;
  dlqTopic: string;
  windowValuesTopic: string;
  /** `metrics` is this worker's consumer group (KAFKA_GROUP_PREFIX: lib/contract/config.ts consumerGroupNames). */
  groups: { metrics: string };
}

/** InfluxSink's surface (workers/shared/influx-sink.ts): a bounded buffer of points and its writer. */
export interface WindowSink {
  init(): Promise<void>;
  enqueue(points: InfluxPoint[]): void;
  /** Writes what is buffered, checking `mayWrite` before each chunk; true when nothing is left. Never throws. */
  flush(mayWrite?: () => boolean): Promise<boolean>;
  /** Drops everything buffered; returns how many. */
  discard(): number;
  readonly full: boolean;
  readonly buffered: number;
  readonly maxBufferedPoints: number;
  readonly writeErrors: number;
  /** Points InfluxDB refused as malformed (dropped), per measurement, since start. */
  readonly refused: ReadonlyMap<string, number>;
  readonly lastRefusal: { measurement: string; field: string | undefined; message: string } | undefined;
  close(): Promise<void>;
}

/** kafkajs Producer's surface the worker uses. */
export interface RecordProducer {
  send(record: { topic: string; messages: Message[]; compression?: number; acks?: number }): Promise<unknown>;
  disconnect(): Promise<void>;
}

export interface MetricsWorkerIO {
  consumer: GroupConsumer;
  producer: RecordProducer;
  offsets: OffsetSource;
  sink: WindowSink;
  /** Wall-clock epoch ms (idle advances, progress). */
  now: () => number;
  log: Logger;
  registry: Registry;
  /**
   * The dim_customer version loaded now (workers/dims/customer-watch.ts): asked
   * when a window opens, which keeps it for its life. Default: none (segment UNKNOWN).
   */
  segments?: () => CustomerSegments;
  /**
   * dim_customer at an exact version (CustomerDimensionWatch.at): undefined when the lake
   * has none. Asked at resume for the versions the commit metadata pins to open windows,
   * so they re-open with the version their points before the restart were written with.
   * Default: none available (they re-open with the current version).
   */
  segmentsAt?: (version: string) => Promise<CustomerSegments | undefined>;
}

export function createPrometheusMetrics(registry: Registry) {
  const labelNames = ["partition"] as const;
  return {
    consumed: new Counter({ name: "orderpulse_consumed_total", help: "messages consumed", labelNames, registers: [registry] }),
    invalid: new Counter({ name: "orderpulse_invalid_total", help: "invalid messages sent to the dead-letter topic", labelNames, registers: [registry] }),
    duplicates: new Counter({ name: "orderpulse_duplicates_total", help: "duplicate orders (not counted in windows)", labelNames, registers: [registry] }),
    late: new Counter({ name: "orderpulse_late_total", help: "late orders (not counted in windows)", labelNames, registers: [registry] }),
    lag: new Gauge({ name: "orderpulse_lag", help: "messages waiting in Kafka", labelNames, registers: [registry] }),
    watermark: new Gauge({ name: "orderpulse_watermark_ms", help: "partition watermark, epoch ms", labelNames, registers: [registry] }),
    remembered: new Gauge({ name: "orderpulse_remembered_order_ids", help: "order ids held for de-duplication (rate × horizon at a steady rate: the worker's main memory use)", labelNames, registers: [registry] }),
    emits: new Counter({ name: "orderpulse_window_emits_total", help: "window values emitted", labelNames: ["final"], registers: [registry] }),
    writeErrors: new Gauge({ name: "orderpulse_influx_write_errors", help: "failed InfluxDB writes since start", registers: [registry] }),
    buffered: new Gauge({ name: "orderpulse_buffered_points", help: "points waiting for InfluxDB", registers: [registry] }),
    gaps: new Counter({ name: "orderpulse_offset_gaps_total", help: "offset gaps: data removed before it was read", labelNames, registers: [registry] }),
    missed: new Counter({ name: "orderpulse_missed_messages_total", help: "messages removed before they were read", labelNames, registers: [registry] }),
    refused: new Gauge({ name: "orderpulse_influx_refused_points", help: "points InfluxDB refused as malformed (e.g. a field-type conflict) and that were dropped, since start", labelNames: ["measurement"], registers: [registry] }),
    blocked: new Counter({ name: "orderpulse_blocked_emits_total", help: "emits held back because commit metadata would not fit", labelNames, registers: [registry] }),
  };
}

export class MetricsWorker {
  private readonly partitions = new Map<number, PartitionState>();
  private readonly creating = new Map<number, Promise<PartitionState | undefined>>();
  /** The latest commit point per partition, with the state that produced it (a rebuilt state's commits are its own). */
  private readonly pendingCommits = new Map<number, { state: PartitionState; commit: CommitPoint; recordsIdleAdvances: boolean }>();
  /** Bumped whenever unsent outputs are discarded, so in-flight sends do not act on the new ones (not the group generation). */
  private discardEpoch = 0;
  private stopping = false;
  /** Partitions of the topic in this member's current assignment. */
  private assigned: number[] = [];
  private pendingMessages: Message[] = [];
  /** Partitions to point back at their commit (after a failed commit), retried each cycle until it works. */
  private readonly reseek = new Set<number>();
  private paused = false;
  private emitTimer: NodeJS.Timeout | undefined;
  private emitting: Promise<void> | undefined;
  private lastSampleAt = 0;
  private lastProgressLogAt = 0;
  lastProgressAt: number;
  private readonly consumer: GroupConsumer;
  private readonly producer: RecordProducer;
  private readonly offsets: OffsetSource;
  private readonly sink: WindowSink;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly metrics: ReturnType<typeof createPrometheusMetrics>;
  /** The engines' configuration: the window settings and where a new window gets its segments. */
  private readonly engineConfig: WindowEngineConfig;
  private readonly segments: () => CustomerSegments;
  private readonly segmentsAt: (version: string) => Promise<CustomerSegments | undefined>;

  constructor(
    io: MetricsWorkerIO,
    private readonly config: MetricsTopics,
    private readonly windows: WindowConfig,
  ) {
    ({ consumer: this.consumer, producer: this.producer, offsets: this.offsets, sink: this.sink, now: this.now, log: this.log } = io);
    this.metrics = createPrometheusMetrics(io.registry);
    this.lastProgressAt = this.now();
    const segments = (this.segments = io.segments ?? (() => CustomerSegments.NONE));
    this.segmentsAt = io.segmentsAt ?? (() => Promise.resolve(undefined));
    this.engineConfig = { ...windows, segmentsFor: () => segments() };
  }

  get totalLag(): number {
    let lag = 0;
    for (const state of this.partitions.values()) lag += state.lag;
    return lag;
  }

  /**
   * Initialises the sink, joins the group and starts consuming; with `emitTimer`
   * (the default) an emit cycle runs every EMIT_INTERVAL. Tests pass false and
   * call {@link emitCycle} themselves.
   */
  async start(options: { emitTimer?: boolean } = {}): Promise<void> {
    await this.sink.init();
    // Losing the assignment (a rebalance starts, the consumer restarts) and a new one both discard what is not committed.
    this.consumer.on("revoke", (reason) => {
      this.assigned = [];
      this.discardUncommitted(String(reason));
    });
    this.consumer.on("join", (assignment) => {
      this.discardUncommitted("rebalance");
      this.assigned = (assignment as Record<string, number[] | undefined>)[this.config.topic] ?? [];
      // What made us pause went with the buffers (and a restarted kafkajs consumer has forgotten the pause anyway).
      if (this.paused && !this.stopping) {
        this.paused = false;
        this.consumer.resume([{ topic: this.config.topic }]);
      }
      this.log.info({ assignment }, "partitions assigned");
    });
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.onBatch(payload) });
    if (options.emitTimer ?? true)
      this.emitTimer = setInterval(() => {
        this.emitCycle().catch((error: Error) => this.log.error({ err: error.message }, "emit cycle failed"));
      }, this.windows.emitIntervalMs);
  }

  /**
   * Forgets every engine and every output not yet sent: all of it comes after the
   * last commit, and whoever owns each partition now replays from there. Keeping
   * it would let stale partials overwrite the new owner's final values.
   */
  private discardUncommitted(reason: string): void {
    this.discardEpoch++;
    this.partitions.clear();
    this.pendingCommits.clear();
    this.reseek.clear();
    this.pendingMessages = [];
    const dropped = this.sink.discard();
    // The partitions' figures went with their engines; those still owned are set again as they are rebuilt.
    for (const gauge of [this.metrics.lag, this.metrics.watermark, this.metrics.remembered]) gauge.reset();
    this.log.info({ reason, droppedPoints: dropped }, "engines rebuilt from the last commit");
  }

  /**
   * The engine for a partition, resumed from its committed offset and metadata when there is one;
   * undefined when the engines were discarded meanwhile (the caller's batch is stale).
   */
  private stateFor(partition: number): Promise<PartitionState | undefined> {
    const existing = this.partitions.get(partition);
    if (existing) return Promise.resolve(existing);
    // One creation per partition at a time: a batch and an emit cycle may both ask.
    let creating = this.creating.get(partition);
    if (!creating) {
      creating = this.createState(partition).finally(() => this.creating.delete(partition));
      this.creating.set(partition, creating);
    }
    return creating;
  }

  private async createState(partition: number): Promise<PartitionState | undefined> {
    const epoch = this.discardEpoch;
    const [committed] = await this.offsets.fetchOffsets({ groupId: this.config.groups.metrics, topics: [this.config.topic] });
    // The log end now bounds what a crashed predecessor read: the partition is not idle (lag > 0, invalid records
    // included) until the replay has passed it, so idle time cannot turn replayed on-time orders late.
    const logEnd = Number((await this.offsets.fetchTopicOffsets(this.config.topic)).find((o) => o.partition === partition)?.high ?? 0);
    if (epoch !== this.discardEpoch) return undefined;
    const entry = committed?.partitions.find((p) => p.partition === partition);
    const offset = entry && Number(entry.offset) >= 0 ? Number(entry.offset) : 0;
    let engine = new WindowEngine(partition, this.engineConfig);
    if (entry?.metadata) {
      try {
        const pinned = await this.pinnedSegments(partition, entry.metadata);
        if (epoch !== this.discardEpoch) return undefined;
        engine = WindowEngine.resume(partition, { ...this.engineConfig, segmentsAt: (version) => pinned.get(version) }, entry.metadata);
      } catch (error) {
        if (!(error instanceof CommitMetadataError)) throw error;
        // Exact resume is impossible (e.g. WINDOW_SIZE changed): say so loudly, then start afresh from the committed offset.
        this.log.error({ topic: this.config.topic, partition, offset, err: error.message }, "cannot resume from commit metadata; windows around the restart may be inexact");
      }
    }
    const state = new PartitionState(partition, engine, offset, this.now());
    state.logEndOffset = logEnd;
    this.partitions.set(partition, state);
    this.log.info({ partition, offset, logEndOffset: logEnd, resumed: Boolean(entry?.metadata) }, "partition ready");
    return state;
  }

  /**
   * The dim_customer versions the commit metadata pins to windows open at the commit, loaded
   * from the lake. One the lake does not have (or cannot read) is logged, and its windows
   * re-open with the current version: their segment points from before the restart may
   * then stay beside the new ones until reconcile --repair.
   * @throws CommitMetadataError when the metadata is malformed (as WindowEngine.resume would)
   */
  private async pinnedSegments(partition: number, metadata: string): Promise<Map<string, CustomerSegments>> {
    const loaded = new Map<string, CustomerSegments>();
    for (const version of WindowEngine.pinnedDimsVersions(partition, metadata)) {
      const current = this.segments();
      let segments: CustomerSegments | undefined;
      let reason = "not in the lake";
      try {
        segments = version === current.version ? current : await this.segmentsAt(version);
      } catch (error) {
        reason = `unreadable: ${(error as Error).message}`;
      }
      if (segments) loaded.set(version, segments);
      else
        this.log.error(
          { topic: this.config.topic, partition, version, currentVersion: current.version, reason },
          "dim_customer version of windows open at the commit is not available; they re-open with the current version (run reconcile --repair for them)",
        );
    }
    return loaded;
  }

  /** Handles one fetched batch; public so fakes can drive it as kafkajs's runner does. */
  async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: BatchPayload): Promise<void> {
    const { topic, partition } = batch;
    if (this.backlogged) {
      this.pause();
      return; // nothing resolved: these messages are fetched again after resume
    }
    const generation = this.consumer.generation;
    const state = await this.stateFor(partition);
    if (!state) return; // nothing resolved: fetched again
    if (state.idleAdvanceUncommitted) {
      // Classifying these now would depend on an idle advance a replay may not know (PartitionState): wait for the
      // running emit cycle's commit (the usual case; at most EMIT_INTERVAL, so a slow InfluxDB cannot hold this fetch),
      // else leave them unresolved: fetched again, and taken once a commit records the advance.
      await settleWithin(this.emitting, this.windows.emitIntervalMs);
      if (this.partitions.get(partition) !== state || state.idleAdvanceUncommitted) return;
    }
    state.logEndOffset = Number(batch.highWatermark);
    const first = Number(batch.firstOffset() ?? state.nextExpectedOffset);
    if (first !== state.nextExpectedOffset && !state.sought && state.lastProcessedOffset < 0) {
      // kafkajs starts where it left off, or at the log start; the engine must start at its resume offset.
      state.sought = true;
      this.consumer.seek({ topic, partition, offset: String(state.nextExpectedOffset) });
      return;
    }
    // Pass 1: decode, and hand the dead letters to the producer before any record of the batch reaches the engine.
    // No wait for the acknowledgement (a broker round trip per batch that has an invalid message): a commit
    // stays at or below the first dead letter not acknowledged yet (commitPending), so none passes one.
    const decoded: { message: KafkaMessage; offset: number; result: DecodeResult }[] = [];
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      const offset = Number(message.offset);
      if (offset < state.nextExpectedOffset) continue; // already in the engine
      decoded.push({ message, offset, result: decodeOrder(message.value, Number(message.timestamp), this.windows.maxEventSkewMs) });
    }
    const deadLetters: Message[] = decoded.flatMap(({ message, result }) =>
      result.ok ? [] : [{ key: message.key, value: message.value, headers: dlqHeaders(result.rejection, { topic, partition, offset: message.offset, timestamp: message.timestamp }, message.headers) }],
    );
    // At least once: a replay may dead-letter a message again; its headers name the source offset.
    if (deadLetters.length > 0) {
      if (this.partitions.get(partition) !== state || !this.consumer.owns(generation, this.now())) return; // revoked: the new owner dead-letters them
      // Bounded: past MAX_DEAD_LETTERS_IN_FLIGHT (a broker slow to acknowledge), wait for what is in flight.
      if (state.deadLettersPending + deadLetters.length > MAX_DEAD_LETTERS_IN_FLIGHT && !(await state.deadLettering)) return; // failed: rewound
      this.deadLetter(state, deadLetters, decoded.find(({ result }) => !result.ok)!.offset);
    }
    if (this.partitions.get(partition) !== state) return; // rebuilt meanwhile: kafkajs delivers these again

    // Offsets jumped: only those below the log start are lost (transaction markers, aborted
    // transactions and compaction leave holes too), so ask for the log start once.
    const jumped = decoded.some(({ offset }, i) => offset > (i === 0 ? state.nextExpectedOffset : decoded[i - 1]!.offset + 1));
    const logStart = jumped ? await logStartOffset(this.offsets, this.config.topic, partition, this.log) : undefined;
    if (this.partitions.get(partition) !== state) return; // rebuilt meanwhile: kafkajs delivers these again

    // Pass 2: the engine.
    let last: string | undefined;
    // Counted per batch: a labelled prom-client inc per message cost more than the engine's ingest.
    const counts = { consumed: 0, late: 0, duplicates: 0, invalid: 0 };
    try {
      for (const { message, offset, result } of decoded) {
        if (offset > state.nextExpectedOffset) this.reportGap(state, Math.min(offset, logStart ?? offset));
        if (result.ok) {
          const kind = state.engine.ingest({ offset, order: result.order });
          if (kind === "late") counts.late++;
          else if (kind === "duplicate") counts.duplicates++;
        } else {
          counts.invalid++;
        }
        counts.consumed++;
        state.nextExpectedOffset = offset + 1;
        state.lastProcessedOffset = offset;
        last = message.offset;
      }
    } finally {
      // Also when ingest throws mid-batch: what was processed is counted.
      if (counts.consumed > 0) state.lastRecordAt = this.now();
      for (const key of ["consumed", "late", "duplicates", "invalid"] as const) {
        state[key] += counts[key];
        if (counts[key] > 0) this.metrics[key].inc({ partition }, counts[key]);
      }
    }
    if (last !== undefined) resolveOffset(last);
    // Every record handed over is processed: the batch's last offset (control records after the last
    // data record included, which kafkajs counts but never hands over) is passed too.
    if (last !== undefined && last === batch.messages.at(-1)?.offset) state.passed(Number(batch.lastOffset()));
    this.lastProgressAt = this.now();
    this.metrics.lag.set({ partition }, state.lag);
    await heartbeat();
  }

  /**
   * Sends `messages` (dead letters of `state`'s partition, the lowest from source offset `lowestOffset`) after
   * the partition's earlier ones were acknowledged, so they reach the dead-letter topic in source order. A
   * failed send (after kafkajs's own retries) rewinds every partition to its commit, as a failed commit does:
   * the commit is below these offsets, so the replay dead-letters them again (at least once).
   */
  private deadLetter(state: PartitionState, messages: Message[], lowestOffset: number): void {
    const send = { lowestOffset, messages: messages.length };
    state.deadLettersInFlight.push(send);
    state.deadLettering = state.deadLettering.then(async (earlierSent) => {
      // Discarded (a rebalance, a failed commit or send): nothing of this state is committed, the replay sends them.
      if (!earlierSent || this.partitions.get(state.partition) !== state) return false;
      try {
        await this.producer.send({ topic: this.config.dlqTopic, messages, compression: COMPRESSION, acks: -1 });
        state.deadLettersInFlight.shift(); // this send: the chain acknowledges them in order
        return true;
      } catch (error) {
        if (this.partitions.get(state.partition) === state) {
          this.log.warn({ topic: this.config.dlqTopic, partition: state.partition, fromOffset: lowestOffset, messages: messages.length, err: (error as Error).message }, "dead-letter send failed; replaying from the last commit");
          await this.rewindToCommits("dead-letter send failed").catch((e: Error) => this.log.warn({ err: e.message }, "seeking back to the commits failed; retrying next cycle"));
        }
        return false;
      }
    });
  }

  /** `offset` = where the removed range ends: the delivered offset or the log start, whichever is lower. */
  private reportGap(state: PartitionState, offset: number): void {
    const missed = offset - state.nextExpectedOffset;
    if (missed <= 0) return;
    state.offsetGaps++;
    state.missedMessages += missed;
    this.metrics.gaps.inc({ partition: state.partition });
    this.metrics.missed.inc({ partition: state.partition }, missed);
    this.log.error(
      { topic: this.config.topic, partition: state.partition, expected: state.nextExpectedOffset, got: offset, missed },
      `OFFSET GAP: ${missed} messages of ${this.config.topic}/${state.partition} were removed (retention) before the metrics worker read them`,
    );
  }

  /** Outputs waiting for InfluxDB or for the metrics topic reached the bound (INFLUX_BUFFER_POINTS bounds both). */
  private get backlogged(): boolean {
    return this.sink.full || this.pendingMessages.length >= this.sink.maxBufferedPoints;
  }

  private pause(): void {
    // Not in a group: the next join starts with empty buffers and no pause.
    if (this.paused || !this.consumer.running) return;
    this.paused = true;
    this.consumer.pause([{ topic: this.config.topic }]);
    this.log.warn({ bufferedPoints: this.sink.buffered, pendingMessages: this.pendingMessages.length }, "InfluxDB or the metrics topic is behind: pausing consumption until the buffers drain");
  }

  private resumeIfDrained(): void {
    const half = this.sink.maxBufferedPoints / 2;
    if (this.stopping || !this.paused || !this.consumer.running || this.sink.buffered > half || this.pendingMessages.length > half) return;
    this.paused = false;
    this.consumer.resume([{ topic: this.config.topic }]);
    this.log.info("resuming consumption");
  }

  /**
   * One emit cycle at a time: idle ticks, emit, write and publish (at once), then commit what is
   * durable. Writes, publishes and commits happen only while this member still owns
   * the assignment the cycle started with (GroupConsumer.owns): a revoked worker's
   * buffered partials must never overwrite the new owner's final values.
   */
  emitCycle(): Promise<void> {
    this.emitting ??= this.runEmitCycle().finally(() => (this.emitting = undefined));
    return this.emitting;
  }

  private async runEmitCycle(): Promise<void> {
    if (this.reseek.size > 0) await this.seekToCommits();
    // Assigned partitions kafkajs has delivered nothing from (an empty partition) get a state too, so they report a watermark.
    for (const partition of this.assigned) if (!this.partitions.has(partition)) await this.stateFor(partition).catch(() => undefined);
    const generation = this.consumer.generation;
    const owned = () => this.consumer.owns(generation, this.now());
    const now = this.now();
    const points: InfluxPoint[] = [];
    for (const state of this.partitions.values()) {
      if (!this.paused && state.lag === 0 && now - state.lastRecordAt >= this.windows.idleTimeoutMs && state.engine.idleAdvance(now - state.lastRecordAt))
        state.idleAdvanceUncommitted = true;
      // Before the emit, so that this emit's commit point records the advance.
      if (this.advanceIfEmpty(state, now)) state.idleAdvanceUncommitted = true;
      const result = state.engine.emit();
      if (result.blocked) this.metrics.blocked.inc({ partition: state.partition });
      for (const w of result.windows) {
        points.push(...windowPoints(w));
        this.pendingMessages.push({ key: String(state.partition), value: JSON.stringify(windowMessageOf(w)) });
        this.metrics.emits.inc({ final: String(w.final) });
      }
      for (const a of result.anomalies) points.push(anomalyPoint(a, this.windows.windowSizeMs));
      const { watermark, rememberedOrderIds } = state.engine.stats();
      this.metrics.remembered.set({ partition: state.partition }, rememberedOrderIds);
      if (watermark !== null && watermark !== state.lastPublishedWatermark && !result.blocked) {
        this.pendingMessages.push({ key: String(state.partition), value: JSON.stringify({ type: "watermark", partition: state.partition, watermark }) });
        state.lastPublishedWatermark = watermark;
        this.metrics.watermark.set({ partition: state.partition }, watermark);
      }
      // A released emit's commit point records every idle advance before it; a blocked one repeats an older point.
      if (result.commit) this.pendingCommits.set(state.partition, { state, commit: result.commit, recordsIdleAdvances: !result.blocked });
    }
    // Enqueue what the engines released before any await: a rebalance during the await then discards these with the
    // rest of the buffer, instead of letting the old engines' values in after the new owner's.
    this.sink.enqueue(points);
    if (now - this.lastSampleAt >= PIPELINE_SAMPLE_MS) {
      this.lastSampleAt = now;
      await this.refreshLag();
      for (const s of this.partitions.values()) {
        this.sink.enqueue([pipelinePoint({ worker: "metrics", partition: s.partition, at: now, lag: s.lag, watermark: s.lastPublishedWatermark, consumed: s.consumed, invalid: s.invalid, late: s.late, duplicates: s.duplicates, offsetGaps: s.offsetGaps, missedMessages: s.missedMessages, bufferedPoints: this.sink.buffered, refusedPoints: this.refusedTotal })]);
      }
    }
    // The feed does not wait for InfluxDB (issue 13: produce → browser latency): both go out at once, and the commit waits for both.
    const [written, published] = await Promise.all([this.sink.flush(owned), this.publishPending(owned)]);
    this.metrics.buffered.set(this.sink.buffered);
    this.metrics.writeErrors.set(this.sink.writeErrors);
    for (const [measurement, count] of this.sink.refused) this.metrics.refused.set({ measurement }, count);
    if (this.backlogged) this.pause();
    else this.resumeIfDrained();
    if (written && published && owned()) await this.commitPending();
    if (this.totalLag === 0) this.lastProgressAt = this.now();
    this.logProgress(now);
  }

  /**
   * A partition that has never had a record would leave every window open in the
   * feed (design.md "Windows"): once it is caught up and quiet for IDLE_TIMEOUT,
   * its engine's event-time clock follows the wall clock (WindowEngine.advanceEmpty),
   * as an idle partition's does, so it reports watermark = now − WATERMARK_DELAY. Returns whether it
   * advanced: the advance is committed (at the partition's next offset) like an idle advance.
   */
  private advanceIfEmpty(state: PartitionState, now: number): boolean {
    if (state.lag > 0 || this.paused || now - state.lastRecordAt < this.windows.idleTimeoutMs) return false;
    // Following the wall clock turns every later record late, so one log-end read (the one taken when the
    // state was created) is not enough: a periodic refresh since then must agree that nothing is there.
    if (!state.logEndRefreshed) return false;
    if (!state.engine.advanceEmpty(now, state.nextExpectedOffset)) return false;
    // Logged once: the first advance is what gives the partition a watermark to publish.
    if (state.lastPublishedWatermark === null)
      this.log.info({ partition: state.partition, logEndOffset: state.logEndOffset, resumeOffset: state.resumeOffset, quietMs: now - state.lastRecordAt }, "empty partition: its watermark follows the wall clock");
    return true;
  }

  private get refusedTotal(): number {
    let total = 0;
    for (const count of this.sink.refused.values()) total += count;
    return total;
  }

  /** For /healthz: InfluxDB refusing points is a degraded worker (values are being dropped), named with the field. */
  degraded(): string | undefined {
    const last = this.sink.lastRefusal;
    if (!last) return undefined;
    const counts = [...this.sink.refused].map(([m, n]) => `${n} of ${m}`).join(", ");
    return `InfluxDB refused ${counts} points as malformed${last.field ? ` (latest: field ${last.field} of ${last.measurement})` : ""}: ${last.message.slice(0, 200)}`;
  }

  /** Every 10 s, one line: consumed, late, duplicates, invalid, lag and the lowest watermark. */
  private logProgress(now: number): void {
    if (now - this.lastProgressLogAt < PROGRESS_LOG_MS) return;
    this.lastProgressLogAt = now;
    const states = [...this.partitions.values()];
    if (states.length === 0) return;
    const sum = (pick: (s: PartitionState) => number) => states.reduce((total, s) => total + pick(s), 0);
    const watermarks = states.map((s) => s.lastPublishedWatermark).filter((w): w is number => w !== null);
    this.log.info(
      {
        partitions: states.length,
        consumed: sum((s) => s.consumed),
        late: sum((s) => s.late),
        duplicates: sum((s) => s.duplicates),
        invalid: sum((s) => s.invalid),
        lag: this.totalLag,
        watermark: watermarks.length > 0 ? new Date(Math.min(...watermarks)).toISOString() : null,
        bufferedPoints: this.sink.buffered,
      },
      "progress",
    );
  }

  /** Log end offsets from the broker: fetches stop while paused, so lag must not come from the last batch alone. */
  private async refreshLag(): Promise<void> {
    try {
      for (const { partition, high } of await this.offsets.fetchTopicOffsets(this.config.topic)) {
        const state = this.partitions.get(partition);
        if (state) {
          state.logEndOffset = Math.max(state.logEndOffset, Number(high));
          state.logEndRefreshed = true;
          this.metrics.lag.set({ partition }, state.lag);
        }
      }
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, "could not read log end offsets");
    }
  }

  private async publishPending(owned: () => boolean): Promise<boolean> {
    if (this.pendingMessages.length === 0) return true;
    if (!owned()) return false;
    const messages = this.pendingMessages;
    const epoch = this.discardEpoch;
    try {
      await this.producer.send({ topic: this.config.windowValuesTopic, messages, compression: COMPRESSION, acks: -1 });
      if (epoch !== this.discardEpoch) return false;
      this.pendingMessages = this.pendingMessages.slice(messages.length);
      return true;
    } catch (error) {
      this.log.warn({ err: (error as Error).message, pending: messages.length }, "publishing window values failed; retrying next cycle");
      return false;
    }
  }

  private async commitPending(): Promise<void> {
    const current = [...this.pendingCommits].filter(([partition, { state }]) => this.partitions.get(partition) === state);
    this.pendingCommits.clear();
    // A commit never passes a dead letter not acknowledged yet: such a point waits for a later cycle (unless a newer emit replaces it).
    const pending: typeof current = [];
    for (const [partition, entry] of current)
      if (entry.commit.offset <= entry.state.deadLettersDurableBelow) pending.push([partition, entry]);
      else this.pendingCommits.set(partition, entry);
    const commits = pending.map(([partition, { commit }]) => ({ topic: this.config.topic, partition, offset: String(commit.offset), metadata: commit.metadata }));
    // Not in a group (restarting): nothing to commit to, and the restart discarded these anyway.
    if (commits.length === 0 || !this.consumer.running) return;
    try {
      await this.consumer.commitOffsets(commits);
      for (const [, { state, recordsIdleAdvances }] of pending) if (recordsIdleAdvances) state.idleAdvanceUncommitted = false;
    } catch (error) {
      // The engines may have released outputs (e.g. after idle advances) that the last successful commit does not
      // describe: rebuild them from that commit, as after a rebalance, so a replay classifies exactly as it did.
      this.log.warn({ err: (error as Error).message }, "commit failed");
      await this.rewindToCommits("commit failed");
    }
  }

  /**
   * Discards everything not committed and points every assigned partition back at its commit: also one without
   * a state now (an earlier rewind discarded it and its seek had not happened yet), which, caught up, would
   * otherwise never be fetched again.
   */
  private async rewindToCommits(reason: string): Promise<void> {
    const partitions = [...new Set([...this.assigned, ...this.partitions.keys()])];
    this.discardUncommitted(reason);
    // Kafka fetches nothing again by itself (a caught-up partition would never see another batch): go back to the commit.
    for (const partition of partitions) this.reseek.add(partition);
    await this.seekToCommits();
  }

  /** Points each partition in `reseek` at its commit; one whose commit cannot be read now is tried again next cycle. */
  private async seekToCommits(): Promise<void> {
    for (const partition of [...this.reseek]) {
      let state: PartitionState | undefined;
      try {
        state = await this.stateFor(partition);
      } catch (error) {
        this.log.warn({ partition, err: (error as Error).message }, "cannot read the committed offset yet; seeking next cycle");
        return;
      }
      // Discarded meanwhile (a rebalance or restart): the group fetches from the commits anyway.
      if (!state || !this.reseek.has(partition) || !this.consumer.running) return;
      state.sought = true;
      this.consumer.seek({ topic: this.config.topic, partition, offset: String(state.nextExpectedOffset) });
      this.reseek.delete(partition);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.emitTimer);
    this.stopping = true;
    this.consumer.beginStop();
    // Commit while still a group member: pause, let the running cycle finish, then a last emit, flush and commit.
    this.consumer.pause([{ topic: this.config.topic }]);
    this.paused = true;
    await this.emitting;
    // The last commit can then pass every dead letter sent.
    await Promise.all([...this.partitions.values()].map((state) => state.deadLettering));
    await this.emitCycle();
    await this.consumer.stop();
    await this.producer.disconnect();
    await this.offsets.disconnect();
  }
}

