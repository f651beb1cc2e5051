/**
 * `npm run worker:metrics`: the hot path. Consumes `<topic>` in group
 * `orderpulse-metrics`, feeds valid orders through one WindowEngine per
 * partition, writes window values and anomalies to InfluxDB and to
 * `<topic>.metrics`, dead-letters invalid messages to `<topic>.dlq`, and commits
 * each partition's engine commit point (offset + metadata) only after everything
 * it released is durably written. A restart replays from there and gives what an
 * uninterrupted run gives.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from "kafkajs";
import type { Logger } from "pino";
import { Counter, Gauge } from "prom-client";
import { influxBufferEnvSchema, influxEnvSchema, kafkaEnvSchema, portsEnvSchema, windowEnvSchema, type KafkaConfig, type WindowConfig } from "../lib/contract/config.ts";
import { dlqHeaders } from "../lib/contract/dead-letter.ts";
import { anomalyPoint, pipelinePoint, windowPoints, type InfluxPoint } from "../lib/hot/influx-points.ts";
import { windowMessageOf } from "../lib/hot/window-values.ts";
import { decodeOrder, type DecodeResult } from "../lib/contract/order.ts";
import { CommitMetadataError, WindowEngine, type CommitPoint } from "../lib/hot/window-engine.ts";
import { configOrExit, loadEnv } from "./shared/env.ts";
import { createRegistry, serveHealth } from "./shared/health.ts";
import { InfluxSink } from "./shared/influx-sink.ts";
import { COMPRESSION, createKafka, LogStartOffsets, openConsumer, openProducer, exitWhenConsumerKeepsStopping, SupervisedConsumer } from "./shared/kafka.ts";
import { createLogger } from "./shared/log.ts";
import { PartitionState } from "./metrics/partition-state.ts";
import { stopOnSignals } from "./shared/shutdown.ts";

export const GROUP_ID = "orderpulse-metrics";
const PIPELINE_SAMPLE_MS = 5_000;

function createMetrics(registry: ReturnType<typeof createRegistry>) {
  const labelNames = ["partition"] as const;
  return {
    consumed: new Counter({ name: "orderpulse_consumed_total", help: "messages consumed", labelNames, registers: [registry] }),
    invalid: new Counter({ name: "orderpulse_invalid_total", help: "invalid messages sent to the dead-letter topic", labelNames, registers: [registry] }),
    duplicates: new Counter({ name: "orderpulse_duplicates_total", help: "duplicate orders (not counted in windows)", labelNames, registers: [registry] }),
    late: new Counter({ name: "orderpulse_late_total", help: "late orders (not counted in windows)", labelNames, registers: [registry] }),
    lag: new Gauge({ name: "orderpulse_lag", help: "messages waiting in Kafka", labelNames, registers: [registry] }),
    watermark: new Gauge({ name: "orderpulse_watermark_ms", help: "partition watermark, epoch ms", labelNames, registers: [registry] }),
    emits: new Counter({ name: "orderpulse_window_emits_total", help: "window values emitted", labelNames: ["final"], registers: [registry] }),
    writeErrors: new Gauge({ name: "orderpulse_influx_write_errors", help: "failed InfluxDB writes since start", registers: [registry] }),
    buffered: new Gauge({ name: "orderpulse_buffered_points", help: "points waiting for InfluxDB", registers: [registry] }),
    gaps: new Counter({ name: "orderpulse_offset_gaps_total", help: "offset gaps: data removed before it was read", labelNames, registers: [registry] }),
    missed: new Counter({ name: "orderpulse_missed_messages_total", help: "messages removed before they were read", labelNames, registers: [registry] }),
    blocked: new Counter({ name: "orderpulse_blocked_emits_total", help: "emits held back because commit metadata would not fit", labelNames, registers: [registry] }),
  };
}

export class MetricsWorker {
  private readonly partitions = new Map<number, PartitionState>();
  /** The latest commit point per partition, with the state that produced it (a rebuilt state's commits are its own). */
  private readonly pendingCommits = new Map<number, { state: PartitionState; commit: CommitPoint }>();
  /** Bumped whenever unsent outputs are discarded, so in-flight sends do not act on the new ones. */
  private generation = 0;
  private stopping = false;
  private pendingMessages: Message[] = [];
  private consumer!: Consumer;
  private control!: SupervisedConsumer;
  /** Partitions to point back at their commit (after a failed commit), retried each cycle until it works. */
  private readonly reseek = new Set<number>();
  private producer!: Producer;
  private admin!: Admin;
  private logStart!: LogStartOffsets;
  private paused = false;
  private emitTimer: NodeJS.Timeout | undefined;
  private emitting: Promise<void> | undefined;
  private lastSampleAt = 0;
  lastProgressAt = Date.now();

  constructor(
    private readonly kafka: Kafka,
    private readonly config: KafkaConfig,
    private readonly windows: WindowConfig,
    private readonly sink: InfluxSink,
    private readonly log: Logger,
    private readonly metrics: ReturnType<typeof createMetrics>,
  ) {}

  get totalLag(): number {
    let lag = 0;
    for (const state of this.partitions.values()) lag += state.lag;
    return lag;
  }

  async start(): Promise<void> {
    await this.sink.init();
    this.producer = await openProducer(this.kafka, this.config, [this.config.dlqTopic, this.config.metricsTopic], { idempotent: false });
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.logStart = new LogStartOffsets(this.kafka, this.log);
    this.consumer = await openConsumer(this.kafka, this.config, GROUP_ID, [this.config.topic]);
    // kafkajs passes transaction control records and aborted records without handing them to onBatch
    // (a batch of only those never reaches it): its position, not our last record, says we are caught up.
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === this.config.topic) this.partitions.get(payload.partition)?.passed(Number(payload.lastOffset));
    });
    this.control = new SupervisedConsumer(this.consumer, GROUP_ID, {
      log: this.log,
      onRestart: () => this.discardUncommitted("consumer restart"),
      onGiveUp: exitWhenConsumerKeepsStopping(this.log),
      isStopping: () => this.stopping,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.discardUncommitted("rebalance");
      // What made us pause went with the buffers (and a restarted kafkajs consumer has forgotten the pause anyway).
      if (this.paused && !this.stopping) {
        this.paused = false;
        this.control.resume([{ topic: this.config.topic }]);
      }
      this.log.info({ assignment: payload.memberAssignment }, "partitions assigned");
    });
    await this.control.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.onBatch(payload) });
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
    this.generation++;
    this.partitions.clear();
    this.pendingCommits.clear();
    this.reseek.clear();
    this.pendingMessages = [];
    const dropped = this.sink.discard();
    this.log.info({ reason, droppedPoints: dropped }, "engines rebuilt from the last commit");
  }

  /**
   * The engine for a partition, resumed from its committed offset and metadata when there is one;
   * undefined when the engines were discarded meanwhile (the caller's batch is stale).
   */
  private async stateFor(partition: number): Promise<PartitionState | undefined> {
    const existing = this.partitions.get(partition);
    if (existing) return existing;
    const generation = this.generation;
    const [committed] = await this.admin.fetchOffsets({ groupId: GROUP_ID, topics: [this.config.topic] });
    if (generation !== this.generation) return undefined;
    const entry = committed?.partitions.find((p) => p.partition === partition);
    const offset = entry && Number(entry.offset) >= 0 ? Number(entry.offset) : 0;
    let engine = new WindowEngine(partition, this.windows);
    if (entry?.metadata) {
      try {
        engine = WindowEngine.resume(partition, this.windows, entry.metadata);
      } catch (error) {
        if (!(error instanceof CommitMetadataError)) throw error;
        // Exact resume is impossible (e.g. WINDOW_SIZE changed): say so loudly, then start afresh from the committed offset.
        this.log.error({ topic: this.config.topic, partition, offset, err: error.message }, "cannot resume from commit metadata; windows around the restart may be inexact");
      }
    }
    const state = new PartitionState(partition, engine, offset, Date.now());
    this.partitions.set(partition, state);
    this.log.info({ partition, offset, resumed: Boolean(entry?.metadata) }, "partition ready");
    return state;
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    if (this.backlogged) {
      this.pause();
      return; // nothing resolved: these messages are fetched again after resume
    }
    const state = await this.stateFor(partition);
    if (!state) return; // nothing resolved: fetched again
    state.highWatermark = Number(batch.highWatermark);
    const first = Number(batch.firstOffset() ?? state.nextExpectedOffset);
    if (first !== state.nextExpectedOffset && !state.sought && state.lastProcessedOffset < 0) {
      // kafkajs starts where it left off, or at the log start; the engine must start at its resume offset.
      state.sought = true;
      this.control.seek({ topic, partition, offset: String(state.nextExpectedOffset) });
      return;
    }
    // Pass 1: decode, and make dead letters durable before any record of the batch reaches the engine:
    // commits follow the engine, so none can pass an invalid message that was not dead-lettered.
    const decoded: { message: KafkaMessage; offset: number; result: DecodeResult }[] = [];
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      const offset = Number(message.offset);
      if (offset < state.nextExpectedOffset) continue; // already in the engine
      decoded.push({ message, offset, result: decodeOrder(message.value, Number(message.timestamp), this.windows.maxEventSkewMs) });
    }
    const deadLetters: Message[] = decoded.flatMap(({ message, result }) =>
      result.ok ? [] : [{ key: message.key, value: message.value, headers: dlqHeaders(result.rejection, { topic, partition, offset: message.offset, timestamp: message.timestamp }) }],
    );
    // At least once: a replay may dead-letter a message again; its headers name the source offset.
    if (deadLetters.length > 0) await this.producer.send({ topic: this.config.dlqTopic, messages: deadLetters, compression: COMPRESSION, acks: -1 });
    if (this.partitions.get(partition) !== state) return; // rebuilt meanwhile: kafkajs delivers these again

    // Pass 2: the engine.
    let last: string | undefined;
    for (const { message, offset, result } of decoded) {
      // Offsets jumped: only those below the log start are lost (transactions and compaction leave holes too).
      if (offset > state.nextExpectedOffset) this.reportGap(state, Math.min(offset, (await this.logStart.of(this.config.topic, partition)) ?? offset));
      if (result.ok) {
        const kind = state.engine.ingest({ offset, order: result.order });
        if (kind === "late") {
          state.late++;
          this.metrics.late.inc({ partition });
        } else if (kind === "duplicate") {
          state.duplicates++;
          this.metrics.duplicates.inc({ partition });
        }
      } else {
        state.invalid++;
        this.metrics.invalid.inc({ partition });
      }
      state.consumed++;
      this.metrics.consumed.inc({ partition });
      state.nextExpectedOffset = offset + 1;
      state.lastProcessedOffset = offset;
      state.lastRecordAt = Date.now();
      last = message.offset;
    }
    if (last !== undefined) resolveOffset(last);
    this.lastProgressAt = Date.now();
    this.metrics.lag.set({ partition }, state.lag);
    await heartbeat();
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
    if (this.paused || !this.control.running) return;
    this.paused = true;
    this.control.pause([{ topic: this.config.topic }]);
    this.log.warn({ bufferedPoints: this.sink.buffered, pendingMessages: this.pendingMessages.length }, "InfluxDB or the metrics topic is behind: pausing consumption until the buffers drain");
  }

  private resumeIfDrained(): void {
    const half = this.sink.maxBufferedPoints / 2;
    if (this.stopping || !this.paused || !this.control.running || this.sink.buffered > half || this.pendingMessages.length > half) return;
    this.paused = false;
    this.control.resume([{ topic: this.config.topic }]);
    this.log.info("resuming consumption");
  }

  /** One emit cycle at a time: idle ticks, emit, write, publish, then commit what is durable. */
  emitCycle(): Promise<void> {
    this.emitting ??= this.runEmitCycle().finally(() => (this.emitting = undefined));
    return this.emitting;
  }

  private async runEmitCycle(): Promise<void> {
    if (this.reseek.size > 0) await this.seekToCommits();
    const now = Date.now();
    const points: InfluxPoint[] = [];
    for (const state of this.partitions.values()) {
      if (!this.paused && state.lag === 0 && now - state.lastRecordAt >= this.windows.idleTimeoutMs) state.engine.idleAdvance(now - state.lastRecordAt);
      const result = state.engine.emit();
      if (result.blocked) this.metrics.blocked.inc({ partition: state.partition });
      for (const w of result.windows) {
        points.push(...windowPoints(w));
        this.pendingMessages.push({ key: String(state.partition), value: JSON.stringify(windowMessageOf(w)) });
        this.metrics.emits.inc({ final: String(w.final) });
      }
      for (const a of result.anomalies) points.push(anomalyPoint(a, this.windows.windowSizeMs));
      const watermark = state.engine.stats().watermark;
      if (watermark !== null && watermark !== state.lastPublishedWatermark && !result.blocked) {
        this.pendingMessages.push({ key: String(state.partition), value: JSON.stringify({ type: "watermark", partition: state.partition, watermark }) });
        state.lastPublishedWatermark = watermark;
        this.metrics.watermark.set({ partition: state.partition }, watermark);
      }
      if (result.commit) this.pendingCommits.set(state.partition, { state, commit: result.commit });
    }
    // Enqueue what the engines released before any await: a rebalance during the await then discards these with the
    // rest of the buffer, instead of letting the old engines' values in after the new owner's.
    this.sink.enqueue(points);
    if (now - this.lastSampleAt >= PIPELINE_SAMPLE_MS) {
      this.lastSampleAt = now;
      await this.refreshLag();
      for (const s of this.partitions.values()) {
        this.sink.enqueue([pipelinePoint({ worker: "metrics", partition: s.partition, at: now, lag: s.lag, watermark: s.lastPublishedWatermark, consumed: s.consumed, invalid: s.invalid, late: s.late, duplicates: s.duplicates, offsetGaps: s.offsetGaps, missedMessages: s.missedMessages, bufferedPoints: this.sink.buffered })]);
      }
    }
    const written = await this.sink.flush();
    this.metrics.buffered.set(this.sink.buffered);
    this.metrics.writeErrors.set(this.sink.writeErrors);
    if (this.backlogged) this.pause();
    else this.resumeIfDrained();
    const published = await this.publishPending();
    if (written && published) await this.commitPending();
    if (this.totalLag === 0) this.lastProgressAt = Date.now();
  }

  /** Log end offsets from the broker: fetches stop while paused, so lag must not come from the last batch alone. */
  private async refreshLag(): Promise<void> {
    try {
      for (const { partition, high } of await this.admin.fetchTopicOffsets(this.config.topic)) {
        const state = this.partitions.get(partition);
        if (state) {
          state.highWatermark = Math.max(state.highWatermark, Number(high));
          this.metrics.lag.set({ partition }, state.lag);
        }
      }
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, "could not read log end offsets");
    }
  }

  private async publishPending(): Promise<boolean> {
    if (this.pendingMessages.length === 0) return true;
    const messages = this.pendingMessages;
    const generation = this.generation;
    try {
      await this.producer.send({ topic: this.config.metricsTopic, messages, compression: COMPRESSION, acks: -1 });
      if (generation !== this.generation) return false;
      this.pendingMessages = this.pendingMessages.slice(messages.length);
      return true;
    } catch (error) {
      this.log.warn({ err: (error as Error).message, pending: messages.length }, "publishing window values failed; retrying next cycle");
      return false;
    }
  }

  private async commitPending(): Promise<void> {
    const commits = [...this.pendingCommits]
      .filter(([partition, { state }]) => this.partitions.get(partition) === state)
      .map(([partition, { commit }]) => ({ topic: this.config.topic, partition, offset: String(commit.offset), metadata: commit.metadata }));
    this.pendingCommits.clear();
    // Not in a group (restarting): nothing to commit to, and the restart discarded these anyway.
    if (commits.length === 0 || !this.control.running) return;
    try {
      await this.consumer.commitOffsets(commits);
    } catch (error) {
      // The engines may have released outputs (e.g. after idle advances) that the last successful commit does not
      // describe: rebuild them from that commit, as after a rebalance, so a replay classifies exactly as it did.
      this.log.warn({ err: (error as Error).message }, "commit failed");
      const partitions = [...this.partitions.keys()];
      this.discardUncommitted("commit failed");
      // Kafka fetches nothing again by itself (a caught-up partition would never see another batch): go back to the commit.
      for (const partition of partitions) this.reseek.add(partition);
      await this.seekToCommits();
    }
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
      if (!state || !this.reseek.has(partition) || !this.control.running) return;
      state.sought = true;
      this.control.seek({ topic: this.config.topic, partition, offset: String(state.nextExpectedOffset) });
      this.reseek.delete(partition);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.emitTimer);
    this.stopping = true;
    // Commit while still a group member: pause, let the running cycle finish, then a last emit, flush and commit.
    this.control?.pause([{ topic: this.config.topic }]);
    this.paused = true;
    await this.emitting;
    await this.emitCycle();
    await this.consumer?.stop();
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
    await this.admin?.disconnect();
    await this.logStart?.close();
  }
}

async function main(): Promise<void> {
  const env = loadEnv();
  const kafkaConfig = configOrExit(kafkaEnvSchema, env);
  const windows = configOrExit(windowEnvSchema, env);
  const influx = configOrExit(influxEnvSchema, env);
  const ports = configOrExit(portsEnvSchema, env);
  const { bufferPoints } = configOrExit(influxBufferEnvSchema, env);
  const log = createLogger("metrics");
  const registry = createRegistry("metrics");
  const sink = new InfluxSink(influx, { maxBufferedPoints: bufferPoints, log });
  const worker = new MetricsWorker(createKafka(kafkaConfig, "orderpulse-metrics", log), kafkaConfig, windows, sink, log, createMetrics(registry));
  if (ports.healthPort !== undefined) await serveHealth(ports.healthPort, registry, { lastProgressAt: () => worker.lastProgressAt, lag: () => worker.totalLag }, log);
  stopOnSignals(log, "final emit, flush and commit", "the last commit", () => worker.stop());
  await worker.start();
  log.info({ topic: kafkaConfig.topic, influx: influx.url }, "metrics worker running");
}

if (process.argv[1]?.endsWith("metrics.ts")) {
  main().catch((error: Error) => {
    console.error(`metrics: ${error.message}`);
    process.exit(1);
  });
}
