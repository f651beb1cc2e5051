/**
 * `npm run worker:lake`: the cold path. Consumes `<topic>` in group
 * `orderpulse-lake` (`<KAFKA_GROUP_PREFIX>-lake`) and lands every message, once, in the Parquet lake under
 * LAKE_DIR: valid orders in `orders/`, invalid messages (with reason and raw
 * bytes) and offset-gap records in `orders_invalid/`. The lake is the
 * checkpoint (see LakeWriter); Kafka commits follow each commit marker only so
 * lag shows up in the usual tools.
 *
 * Per partition, after every (re)assignment: recover the partition from its
 * marker, seek Kafka to the marker, buffer, and flush on rotation (rows, bytes,
 * age). Parquet encoding runs on a worker thread; the consume loop only decodes
 * and hands rows over. Compaction of quiet hours runs on a schedule.
 */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import type { Kafka } from "kafkajs";
import type { Logger } from "pino";
import { connectEnvSchema, kafkaEnvSchema, lakeEnvSchema, portsEnvSchema, windowEnvSchema, type KafkaConfig, type LakeConfig } from "../lib/contract/config.ts";
import { gapSize, type OffsetGap } from "../lib/lake/offsets.ts";
import { listLakeFiles } from "./shared/lake-files.ts";
import { checkLakeOrigin, LakeAheadOfTopicError, LakeOriginMismatchError } from "../lib/lake/recovery.ts";
import { configsOrExit, loadEnv } from "./shared/env.ts";
import { EXIT, exitOnHelp, runMain } from "./shared/entry-point.ts";
import { requireLakeDirectory } from "./shared/lake-state.ts";
import { waitForKafka } from "./shared/startup.ts";
import { LAKE_USAGE } from "./shared/worker-usage.ts";
import { createRegistry, serveHealth } from "./shared/health.ts";
import { AdminOffsetSource, createKafka, KafkaGroupConsumer, logStartOffset, openConsumer, requireTopics, type BatchPayload, type GroupConsumer, type OffsetSource } from "./shared/kafka.ts";
import { createLogger } from "./shared/log.ts";
import { compactLake, DEFAULT_OFFSETS_PER_FILE, type CompactLakeOptions, type CompactionSummary } from "./lake/compactor.ts";
import { ThreadEncoder, type ParquetEncoder } from "./lake/encoder.ts";
import { diskLakeStore, type LakeStore } from "./lake/lake-store.ts";
import { LEASE_TTL_MS } from "../lib/lake/lease.ts";
import { LakeWriter, MarkerMovedError, RecoveryAbandonedError, type FlushReport } from "./lake/lake-writer.ts";
import { createLakeMetrics, type LakeMetrics } from "./lake/prometheus.ts";
import { checkMarkersWithinTopic } from "./lake/topic-check.ts";
import { SHUTDOWN_MS, stopOnSignals } from "./shared/shutdown.ts";
import { settleWithin } from "./shared/settle-within.ts";

/** Flush and commit must be done by then, leaving the rest of SHUTDOWN_MS to disconnect. */
const SHUTDOWN_FLUSH_MS = SHUTDOWN_MS - 2_000;
const STATS_INTERVAL_MS = 10_000;
const FLUSH_RETRY_PAUSE_MS = 2_000;
/** Rows the worker may hold in memory (buffered plus being written) are bounded by max(2 × LAKE_ROTATE_ROWS, this). */
const PENDING_ROWS_FLOOR = 100_000;
/** Exit code when the lake refuses the configured Kafka (another cluster or topic). */
export const EXIT_REFUSED = EXIT.refused;

export interface LakeWorkerSettings {
  kafka: KafkaConfig;
  lake: LakeConfig;
  maxEventSkewMs: number;
  clusterId: string;
}

/**
 * What the lake worker's loop talks to, passed in so that fakes can drive it
 * (lake-worker.test.ts; workers/shared/fake-group.ts, lake/memory-lake.ts), as
 * MetricsWorkerIO does for the metrics worker.
 */
export interface LakeWorkerIO {
  /** Its consumer group (`orderpulse-lake`): assignment, fetches, seeks to the markers, commits for lag monitoring. */
  consumer: GroupConsumer;
  /** Log-end offsets (the markers-within-topic check) and log-start offsets (an offset jump: how much is lost). */
  offsets: Pick<OffsetSource, "fetchTopicOffsets" | "disconnect">;
  encoder: ParquetEncoder;
  store: LakeStore;
  /** Compacts quiet (directory, partition) groups; none when absent. */
  compact?: (options: CompactLakeOptions) => Promise<CompactionSummary>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class LakeWorker {
  private readonly consumer: GroupConsumer;
  private readonly offsets: LakeWorkerIO["offsets"];
  private readonly encoder: ParquetEncoder;
  private readonly writer: LakeWriter;
  private assigned: number[] = [];
  private generation = 0;
  private opening: Promise<void> = Promise.resolve();
  private readonly lagByPartition = new Map<number, number>();
  private commitChain: Promise<void> = Promise.resolve();
  private batchInProgress: Promise<void> | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private compactionTimer: NodeJS.Timeout | undefined;
  private compaction: Promise<void> | undefined;
  private readonly compactionAbort = new AbortController();
  private stopping = false;
  private started = false;
  private consumedSinceStats = 0;
  private loopSample = performance.eventLoopUtilization();
  lastProgressAt = Date.now();

  constructor(
    private readonly io: LakeWorkerIO,
    private readonly settings: LakeWorkerSettings,
    private readonly log: Logger,
    private readonly metrics: LakeMetrics,
    /** A condition the worker must not continue under (another writer, a lake ahead of its topic). */
    private readonly onFatal: (error: Error) => void,
  ) {
    const { lake, kafka: kafkaConfig, clusterId, maxEventSkewMs } = settings;
    ({ consumer: this.consumer, offsets: this.offsets, encoder: this.encoder } = io);
    this.writer = new LakeWriter(
      {
        origin: { clusterId, topic: kafkaConfig.topic },
        limits: { rows: lake.rotateRows, bytes: lake.rotateBytes, ageMs: lake.rotateAgeMs },
        maxEventSkewMs,
      },
      this.encoder,
      log,
      {
        onFlushed: (report) => this.onFlushed(report),
        onFlushFailed: (partition, error) => this.onFlushFailed(partition, error),
        onLeaseLost: (partition, error) => {
          this.log.warn({ partition, err: error.message }, "the partition's lease lapsed or was taken; recovering it from its commit marker");
          this.recoverLater(partition);
        },
      },
      io.store,
    );
  }

  get totalLag(): number {
    let lag = 0;
    for (const value of this.lagByPartition.values()) lag += value;
    return lag;
  }

  private get topic(): string {
    return this.settings.kafka.topic;
  }

  async start(): Promise<void> {
    this.started = true;
    // A revoke (a rebalance starts, the consumer restarts) is like losing every partition: running flushes settle,
    // buffers are dropped, and the next join recovers each assigned partition from its marker.
    // Not while stopping: stop() is flushing those buffers (each marker write checks the lease), and dropping them
    // would only make the next owner read more again.
    this.consumer.on("revoke", () => {
      if (!this.stopping) this.onAssignment([]);
    });
    this.consumer.on("join", (assignment) => this.onAssignment((assignment as Record<string, number[]>)[this.topic] ?? []));
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => {
        const batch = this.onBatch(payload).catch((error: Error) => this.onFatal(error));
        this.batchInProgress = batch;
        return batch;
      },
    });
    const { rotateAgeMs } = this.settings.lake;
    this.timers.push(setInterval(() => this.flushAged(), Math.max(50, Math.min(1_000, rotateAgeMs / 2))));
    this.timers.push(setInterval(() => this.reportStats(), STATS_INTERVAL_MS));
    this.timers.push(setInterval(() => void this.writer.renewLeases().catch((error: Error) => this.log.warn({ err: error.message }, "renewing partition leases failed")), LEASE_TTL_MS / 3));
    this.scheduleCompaction();
  }

  // ------------------------------------------------------------ assignment and positioning

  /** Every (re)assignment: settle running flushes, drop buffers, recover each assigned partition from its marker. */
  private onAssignment(partitions: number[]): void {
    const generation = ++this.generation;
    this.assigned = [...partitions].sort((a, b) => a - b);
    this.lagByPartition.clear();
    // Partitions taken away keep no lag here; those assigned get theirs again with their next batch.
    this.metrics.lag.reset();
    this.log.info({ partitions: this.assigned, generation }, "partitions assigned");
    // One recovery at a time; a newer assignment makes an older, not yet started one moot.
    this.opening = this.opening
      .catch(() => undefined)
      .then(async () => {
        if (generation !== this.generation) return;
        await this.writer.closeAll();
        // Flushes settled: a marker moved by one of them is not this worker's to show any more, unless reopened below.
        this.metrics.committedOffset.reset();
        // A stopping worker recovers nothing: an assignment during its stop (another worker left) would write a
        // lease after stop() waited for `opening`, and the process could exit in the middle of that write.
        if (generation !== this.generation || this.stopping) return;
        const stillWanted = () => generation === this.generation && !this.stopping;
        const next = await this.writer.recoverAndOpen(this.assigned, stillWanted);
        if (next.size > 0) await checkMarkersWithinTopic(() => this.offsets.fetchTopicOffsets(this.topic), next, { lakeDir: resolve(this.settings.lake.lakeDir), topic: this.topic, stillWanted, log: this.log, sleep });
        this.seekToMarkers(next);
        // kafkajs keeps pauses across a rebalance: one a failed flush set must not outlive the assignment.
        // (Not while stopping: kafkajs throws once its group is gone.)
        if (this.assigned.length > 0 && !this.stopping) {
          try {
            this.consumer.resume([{ topic: this.topic, partitions: this.assigned }]);
          } catch (error) {
            this.log.warn({ err: (error as Error).message }, "could not resume the assigned partitions");
          }
        }
        this.log.info({ nextOffsets: Object.fromEntries(next) }, "partitions recovered; resuming from the lake's commit markers");
      });
    this.opening.catch((error: Error) => {
      // A newer assignment retries on its own.
      if (generation === this.generation && !(error instanceof RecoveryAbandonedError)) this.onFatal(error);
    });
  }

  /**
   * Points Kafka at the lake's markers. The group's committed offset is only a
   * hint (it trails the marker, or is ahead of it for a new or restored lake), so
   * every (re)opened partition is sought, even one with nothing new to fetch.
   * From a marker below the log start, Kafka resets to the earliest offset and
   * the lake records the gap.
   */
  private seekToMarkers(next: ReadonlyMap<number, number>): void {
    for (const [partition, offset] of next) {
      this.metrics.committedOffset.set({ partition }, offset);
      this.consumer.seek({ topic: this.topic, partition, offset: String(offset) });
    }
  }

  /** Handles one fetched batch; public so fakes can drive it as kafkajs's runner does. */
  async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: BatchPayload): Promise<void> {
    if (batch.messages.length === 0) return;
    await this.whileHeartbeating(this.opening, heartbeat);
    const { partition } = batch;
    if (this.stopping || !this.assigned.includes(partition)) return;
    // Fetched before the seek to the lake's marker: nothing here counts, Kafka fetches again from the marker.
    if (isStale()) return;
    if (!this.writer.isOpen(partition)) {
      // Its last flush failed: recover it like after a restart (one recovery at a time), and read on from its marker.
      await this.whileHeartbeating(this.reopen(partition), heartbeat);
      return;
    }
    const ingestedAt = Date.now();
    const label = { partition };
    let last: string | undefined;
    // Counted per batch: a labelled prom-client inc per message is a visible share of the consume loop.
    let consumed = 0;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      const offset = Number(message.offset);
      // Offsets jumped: only those below the log start are lost (transactions and compaction leave holes too).
      const logStart = offset > this.writer.nextOffset(partition) ? await logStartOffset(this.offsets, this.topic, partition, this.log) : undefined;
      const result = this.writer.append(partition, { offset, value: message.value, timestamp: Number(message.timestamp) }, ingestedAt, logStart);
      last = message.offset;
      if (result.status === "skipped") continue;
      consumed++;
      if (result.status === "invalid") this.metrics.invalid.inc({ partition, reason: result.code });
      if (result.gap) this.reportGap(result.gap);
    }
    this.consumedSinceStats += consumed;
    if (consumed > 0) this.metrics.consumed.inc(label, consumed);
    // Resolved = taken into the buffer, so kafkajs fetches on from here. Durability is the marker's job.
    if (last !== undefined) resolveOffset(last);
    const lag = Math.max(0, Number(batch.highWatermark) - this.writer.nextOffset(partition));
    this.lagByPartition.set(partition, lag);
    this.metrics.lag.set(label, lag);
    this.lastProgressAt = Date.now();
    await this.rotate(partition, heartbeat);
    // A rebalance answers the heartbeat with an error: the next fetch rejoins, so it must not end the worker.
    await heartbeat().catch(() => undefined);
  }

  private reportGap(gap: OffsetGap): void {
    const missed = gapSize(gap);
    this.metrics.gaps.inc({ partition: gap.partition });
    this.metrics.missed.inc({ partition: gap.partition }, missed);
    this.log.error(
      { topic: this.topic, partition: gap.partition, firstMissing: gap.firstMissing, lastMissing: gap.lastMissing, missed },
      `OFFSET GAP: ${missed} messages of ${this.topic}/${gap.partition} (offsets ${gap.firstMissing}..${gap.lastMissing}) were removed from Kafka before the lake read them; recorded in orders_invalid with reason_code offset_gap`,
    );
  }

  // ------------------------------------------------------------ flushing

  /**
   * Starts a flush when rotation is due. Blocks the consume loop (heartbeating)
   * only as backpressure: when this partition's buffer is twice over while its
   * flush runs, or when rows held in memory across partitions pass the pending
   * bound (then running flushes are awaited, or the biggest buffer flushed early).
   */
  private async rotate(partition: number, heartbeat: () => Promise<void>): Promise<void> {
    const reason = this.writer.dueForFlush(partition, Date.now());
    const { rotateRows, rotateBytes } = this.settings.lake;
    if (reason) {
      const running = this.writer.flushing(partition);
      const { rows, bytes } = this.writer.stats(partition);
      if (running && (rows >= 2 * rotateRows || bytes >= 2 * rotateBytes)) await this.whileHeartbeating(running, heartbeat);
      if (this.writer.isOpen(partition) && !this.writer.flushing(partition)) void this.writer.flush(partition, reason);
    }
    const limits = { rows: Math.max(2 * rotateRows, PENDING_ROWS_FLOOR), bytes: 2 * rotateBytes };
    for (let pending = this.writer.pending; pending.rows > limits.rows || pending.bytes > limits.bytes; pending = this.writer.pending) {
      const oldest = this.writer.oldestFlush;
      if (oldest) {
        await this.whileHeartbeating(oldest, heartbeat);
        continue;
      }
      const largest = this.writer.largestIdleBuffer();
      if (largest === undefined) break;
      void this.writer.flush(largest, "memory");
    }
  }

  private flushAged(): void {
    if (this.stopping) return;
    const now = Date.now();
    for (const partition of this.writer.partitions) {
      const reason = this.writer.dueForFlush(partition, now);
      if (reason && !this.writer.flushing(partition)) void this.writer.flush(partition, reason);
    }
    this.metrics.buffered.set(this.writer.pending.rows);
  }

  private onFlushed(report: FlushReport): void {
    const { partition } = report;
    for (const file of report.files) {
      this.metrics.filesWritten.inc({ kind: file.kind });
      this.metrics.rowsWritten.inc({ kind: file.kind }, file.rows);
    }
    this.metrics.flushes.inc({ reason: report.reason });
    this.metrics.flushSeconds.observe(report.flushMs / 1000);
    this.metrics.encodeSeconds.observe(report.encodeMs / 1000);
    this.metrics.handoffSeconds.inc(report.handoffMs / 1000);
    this.metrics.committedOffset.set({ partition }, report.nextOffset);
    this.log.info(
      {
        partition,
        reason: report.reason,
        offsets: [report.fromOffset, report.nextOffset - 1],
        files: report.files.length,
        orders: report.orders,
        invalid: report.invalid,
        gaps: report.gaps.length,
        encodeMs: Math.round(report.encodeMs),
        handoffMs: Math.round(report.handoffMs * 10) / 10,
        flushMs: Math.round(report.flushMs),
      },
      "flushed",
    );
    this.lastProgressAt = Date.now();
    this.commitToKafka(partition, report.nextOffset);
  }

  /** Kafka's committed offset only feeds lag monitoring; commits go out in order, and a failed one is just logged. */
  private commitToKafka(partition: number, nextOffset: number): void {
    if (!this.started) return;
    this.commitChain = this.commitChain.then(() =>
      this.consumer.commitOffsets([{ topic: this.topic, partition, offset: String(nextOffset), metadata: "" }]).catch((error: Error) => {
        this.log.warn({ partition, nextOffset, err: error.message }, "Kafka commit failed (lag monitoring only; the lake's marker is the checkpoint)");
      }),
    );
  }

  private onFlushFailed(partition: number, error: Error): void {
    this.metrics.flushErrors.inc({ partition });
    if (error instanceof MarkerMovedError) {
      this.onFatal(error);
      return;
    }
    this.log.error({ partition, err: error.message, context: (error as { context?: unknown }).context }, "flush failed; the partition is recovered from its commit marker and read again");
    if (this.stopping || !this.started) return;
    this.recoverLater(partition);
  }

  /**
   * After a pause (so a persistent failure such as a full disk does not spin),
   * recovers the partition and seeks back to its marker at once: waiting for its
   * next batch would leave a quiet partition's rows outside the lake, with lag 0.
   */
  private recoverLater(partition: number): void {
    if (this.stopping || !this.started) return;
    this.consumer.pause([{ topic: this.topic, partitions: [partition] }]);
    const generation = this.generation;
    setTimeout(() => {
      if (this.stopping || generation !== this.generation) return; // the new assignment resumes it
      void this.reopen(partition).finally(() => {
        if (!this.stopping && generation === this.generation) this.consumer.resume([{ topic: this.topic, partitions: [partition] }]);
      });
    }, FLUSH_RETRY_PAUSE_MS).unref();
  }

  /** Recovers one closed partition on the opening chain (one recovery at a time), while it stays assigned to this generation. */
  private reopen(partition: number): Promise<void> {
    const generation = this.generation;
    const stillWanted = () => !this.stopping && generation === this.generation && this.assigned.includes(partition);
    this.opening = this.opening
      .catch(() => undefined)
      .then(async () => {
        if (!stillWanted() || this.writer.isOpen(partition)) return;
        this.seekToMarkers(await this.writer.recoverAndOpen([partition], stillWanted));
      })
      .catch((error: Error) => {
        if (!(error instanceof RecoveryAbandonedError)) this.log.error({ partition, err: error.message }, "recovering the partition failed; retried at its next batch");
      });
    return this.opening;
  }

  /** Awaits `work`, sending heartbeats meanwhile so a long flush or recovery does not cost the group membership. */
  private async whileHeartbeating(work: Promise<unknown>, heartbeat: () => Promise<void>): Promise<void> {
    let done = false;
    const settled = work.then(
      () => (done = true),
      () => (done = true),
    );
    while (!done) {
      await settleWithin(settled, 1_000);
      if (!done) await heartbeat().catch(() => undefined);
    }
  }

  // ------------------------------------------------------------ compaction and stats

  private scheduleCompaction(): void {
    const { rotateAgeMs } = this.settings.lake;
    const everyMs = Math.max(10_000, 10 * rotateAgeMs);
    this.compactionTimer = setTimeout(() => {
      this.compaction = this.compactOwnPartitions(Math.max(5_000, 5 * rotateAgeMs)).finally(() => {
        this.compaction = undefined;
        if (!this.stopping) this.scheduleCompaction();
      });
    }, everyMs);
  }

  /** Compacts the assigned partitions' quiet (directory, partition) groups (DuckDB, one thread, beside the encoder threads). */
  private async compactOwnPartitions(quietMs: number): Promise<void> {
    const compact = this.io.compact;
    if (this.assigned.length === 0 || !compact) return;
    try {
      const summary = await compact({ quietMs, offsetsPerFile: DEFAULT_OFFSETS_PER_FILE, partitions: new Set(this.assigned), signal: this.compactionAbort.signal });
      this.metrics.compactionMerges.inc(summary.merges);
      this.metrics.compactionFailures.inc(summary.failed);
      if (summary.merges + summary.deleted + summary.temporaries + summary.failed > 0) this.log.info({ ...summary, ms: Math.round(summary.ms) }, "compaction done");
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, "compaction failed; trying again later");
    }
  }

  private reportStats(): void {
    const utilization = performance.eventLoopUtilization(this.loopSample);
    this.loopSample = performance.eventLoopUtilization();
    this.metrics.loopUtilization.set(utilization.utilization);
    const pending = this.writer.pending;
    if (this.consumedSinceStats === 0 && pending.rows === 0) return;
    this.log.info(
      {
        consumedPerSecond: Math.round((this.consumedSinceStats * 1000) / STATS_INTERVAL_MS),
        eventLoopUtilization: Math.round(utilization.utilization * 1000) / 1000,
        buffered: pending.bufferedRows,
        pending: pending.rows,
        lag: this.totalLag,
      },
      "stats",
    );
    this.consumedSinceStats = 0;
  }

  // ------------------------------------------------------------ shutdown

  /** Stops at once, without flushing (the markers are the checkpoint), but leaves the group so partitions move on quickly. */
  async halt(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.compactionTimer);
    this.compactionAbort.abort();
    await settleWithin(this.consumer.stop(), 2_000);
    await settleWithin(this.offsets.disconnect(), 1_000);
    await this.encoder.close();
  }

  /** Stops consuming, flushes and commits what is buffered (as far as the deadline allows), and leaves the group. */
  async stop(): Promise<void> {
    const startedAt = Date.now();
    const deadline = startedAt + SHUTDOWN_FLUSH_MS;
    this.stopping = true;
    this.consumer.beginStop();
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.compactionTimer);
    this.compactionAbort.abort();
    this.consumer.pause([{ topic: this.topic }]);
    const until = (work: Promise<unknown> | undefined) => settleWithin(work, deadline - Date.now());
    await until(this.batchInProgress);
    await until(this.opening);
    const { flushed, abandoned } = await this.writer.flushAll(deadline);
    await until(this.commitChain);
    // The abort stops compaction between merges, not inside DuckDB's COPY: let the merge in flight finish its
    // rename, or its temporary file outlives the process (recovery would only remove it at the next start).
    await until(this.compaction);
    // A writer that died mid-write after this one recovered a partition left temporaries no one else would remove now.
    await until(
      this.writer.sweepDeadTemporaries().then(
        (removed) => removed.length > 0 && this.log.info({ removed }, "removed temporary files of lake workers that are gone"),
        (error: Error) => this.log.warn({ err: error.message }, "could not remove temporary files of lake workers that are gone"),
      ),
    );
    if (abandoned.length > 0) this.log.warn({ abandoned }, "shutdown deadline: these partitions' buffers were not flushed; they are read again from their markers");
    this.log.info({ flushed }, "flushed and committed; leaving the group");
    // Leaving the group waits for the fetch in flight (up to kafkajs's fetch wait): give it the rest of the shutdown
    // time, or a restart waits a whole session timeout for partitions.
    await settleWithin(this.consumer.stop(), Math.max(1_000, startedAt + SHUTDOWN_MS - 500 - Date.now()));
    await settleWithin(this.offsets.disconnect(), 1_000);
    await until(this.compaction);
    // An assignment that arrived during the stop (its recovery returns at once now) must not be mid-write at exit.
    await until(this.opening);
    await this.encoder.close();
  }
}

async function clusterIdOf(kafka: Kafka): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.describeCluster()).clusterId;
  } finally {
    await admin.disconnect();
  }
}

async function main(): Promise<void> {
  exitOnHelp(LAKE_USAGE);
  const config = configsOrExit({ kafka: kafkaEnvSchema, lake: lakeEnvSchema, windows: windowEnvSchema, ports: portsEnvSchema, connect: connectEnvSchema }, loadEnv());
  const { kafka: kafkaConfig, lake, ports } = config;
  const { maxEventSkewMs } = config.windows;
  await requireLakeDirectory(lake.lakeDir);
  const log = createLogger("lake");
  const kafka = createKafka(kafkaConfig, "orderpulse-lake", log);
  await waitForKafka(kafkaConfig, { name: "lake", timeoutMs: config.connect.connectTimeoutMs });

  await requireTopics(kafka, kafkaConfig.brokers, [kafkaConfig.topic]);
  const clusterId = await clusterIdOf(kafka);
  // Refuse before joining the group: a lake from another cluster or topic must not move anyone's offsets.
  checkLakeOrigin(resolve(lake.lakeDir), (await listLakeFiles(lake.lakeDir)).markers, { clusterId, topic: kafkaConfig.topic });

  const registry = createRegistry("lake");
  let halting = false;
  const fatal = (error: Error) => {
    if (halting) return;
    halting = true;
    console.error(`lake: ${error.message}`);
    log.fatal({ err: error.message, context: (error as { context?: unknown }).context }, "stopping: cannot continue safely");
    const code = error instanceof LakeAheadOfTopicError || error instanceof LakeOriginMismatchError ? EXIT_REFUSED : EXIT.failure;
    void worker.halt().finally(() => process.exit(code));
  };
  const offsets = new AdminOffsetSource(kafka);
  const consumer = new KafkaGroupConsumer(await openConsumer(kafka, kafkaConfig, kafkaConfig.groups.lake, [kafkaConfig.topic]), kafkaConfig.groups.lake, kafkaConfig.sessionTimeoutMs, log, (error) => fatal(error));
  const io: LakeWorkerIO = {
    consumer,
    offsets,
    encoder: new ThreadEncoder(lake.encoderThreads ?? availableParallelism(), lake.writer),
    store: diskLakeStore(lake.lakeDir),
    compact: (options) => compactLake(lake.lakeDir, options, { log }),
  };
  const worker: LakeWorker = new LakeWorker(io, { kafka: kafkaConfig, lake, maxEventSkewMs, clusterId }, log, createLakeMetrics(registry), fatal);
  if (ports.healthPort !== undefined) await serveHealth(ports.healthPort, registry, { lastProgressAt: () => worker.lastProgressAt, lag: () => worker.totalLag }, log);

  stopOnSignals(log, "flush, commit, leave the group", "the commit markers", () => worker.stop());
  await worker.start();
  log.info({ topic: kafkaConfig.topic, clusterId, lakeDir: resolve(lake.lakeDir), group: kafkaConfig.groups.lake }, "lake worker running");
}

if (process.argv[1]?.endsWith("lake.ts")) runMain("lake", main, (error) => (error instanceof LakeOriginMismatchError ? EXIT_REFUSED : undefined));
