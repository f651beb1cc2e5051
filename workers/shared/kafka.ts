import { createRequire } from "node:module";
import { CompressionTypes, Kafka, logLevel, type Admin, Partitioners, type Batch, type Consumer, type EachBatchPayload, type ConsumerConfig, type ConsumerRunConfig, type Producer, type ProducerConfig, type SASLOptions } from "kafkajs";
import { compressFrame, decompressFrame } from "lz4-napi";
import { compress as zstdCompress, decompress as zstdDecompress } from "@mongodb-js/zstd";
import type { Logger } from "pino";
import type { KafkaConfig } from "../../lib/contract/config.ts";
import { EXIT } from "./entry-point.ts";

/** What orderpulse's own producers use (dead letters, window values, the simulator's default). */
export const COMPRESSION = CompressionTypes.GZIP;

/** `--compression` names → kafkajs compression types; Kafka has exactly these five. */
export const COMPRESSION_BY_NAME = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
} as const;
export type CompressionName = keyof typeof COMPRESSION_BY_NAME;

/** A kafkajs codec: compress gets the encoder holding the record bytes, decompress the batch's compressed records. */
interface KafkaCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/**
 * kafkajs reads only gzip by itself and throws "not implemented" on a Snappy,
 * LZ4 or ZSTD batch, which librdkafka, Java and Go producers commonly send
 * (issue 9). The codec table is kafkajs's module state, so registering here,
 * on the first import of this module, covers every Kafka client in the process
 * (workers, simulator, CLIs, tests' own clients). Libraries: kafkajs-snappy
 * (pure JS, reads xerial-framed and raw Snappy); lz4-napi (LZ4 frame format,
 * which Kafka uses since record batch v1) and @mongodb-js/zstd, both prebuilt
 * Node-API binaries shipped as npm packages (the kafkajs-lz4 and @kafkajs/zstd
 * codecs need a native compile that fails on Node 20+).
 */
function registerCodecs(): void {
  const require = createRequire(import.meta.url);
  // Not a named export Node can see in kafkajs's CommonJS; the required module is the one ESM imports share.
  const { CompressionCodecs } = require("kafkajs") as typeof import("kafkajs");
  const snappy = require("kafkajs-snappy") as () => KafkaCodec;
  const lz4: KafkaCodec = {
    compress: (encoder) => compressFrame(encoder.buffer),
    decompress: (buffer) => decompressFrame(buffer),
  };
  const zstd: KafkaCodec = {
    compress: (encoder) => zstdCompress(encoder.buffer, 3),
    decompress: (buffer) => zstdDecompress(buffer),
  };
  CompressionCodecs[CompressionTypes.Snappy] = snappy;
  CompressionCodecs[CompressionTypes.LZ4] = () => lz4;
  CompressionCodecs[CompressionTypes.ZSTD] = () => zstd;
}
registerCodecs();

export class MissingTopicError extends Error {
  override name = "MissingTopicError";
  /** A configuration problem (KAFKA_TOPIC, or services not set up): exit 2. */
  readonly exitCode = EXIT.usage;
  constructor(readonly topics: string[], readonly brokers: string[]) {
    super(`topic${topics.length > 1 ? "s" : ""} ${topics.map((t) => `"${t}"`).join(", ")} do${topics.length > 1 ? "" : "es"} not exist on ${brokers.join(",")}; orderpulse never creates topics (npm run services:up and the Docker stack's kafka-init do)`);
  }
}

/**
 * The one place that builds Kafka clients. Auto topic creation is off on every
 * client, and every client checks its topics first with a metadata request for
 * all topics: the librdkafka mock broker ignores the "do not auto-create" flag
 * and would silently create a 4-partition topic for a typo.
 */
export function createKafka(config: KafkaConfig, clientId: string, log?: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers: config.brokers,
    ssl: config.ssl,
    // zod checked the mechanism is one kafkajs knows; its type is a union per mechanism.
    sasl: config.sasl as SASLOptions | undefined,
    connectionTimeout: 5_000,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      if (!log) return;
      // kafkajs attaches a stack to every retried connection error: the message says enough, once per line.
      const { message, stack: _stack, ...extra } = entry.log as typeof entry.log & { stack?: string };
      const level = entry.level <= logLevel.ERROR ? "error" : entry.level === logLevel.WARN ? "warn" : "debug";
      log[level]({ kafka: entry.namespace, ...extra }, message);
    },
  });
}

/** Throws MissingTopicError unless every topic exists; asks without naming them, so nothing is created. */
export async function requireTopics(kafka: Kafka, brokers: string[], topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) throw new MissingTopicError(missing, brokers);
  } finally {
    await admin.disconnect();
  }
}

/** A connected producer for the given topics, which must exist. */
export async function openProducer(kafka: Kafka, config: KafkaConfig, topics: string[], options: Omit<ProducerConfig, "allowAutoTopicCreation"> = {}): Promise<Producer> {
  await requireTopics(kafka, config.brokers, topics);
  // The Java-compatible murmur2 partitioner: the same key lands on the same partition as with Java clients.
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...options, allowAutoTopicCreation: false });
  await producer.connect();
  return producer;
}

/** A connected consumer subscribed to the given topics (which must exist); new groups start from the earliest offset. */
export async function openConsumer(kafka: Kafka, config: KafkaConfig, groupId: string, topics: string[], options: Partial<ConsumerConfig> = {}): Promise<Consumer> {
  await requireTopics(kafka, config.brokers, topics);
  const consumer = kafka.consumer({
    heartbeatInterval: Math.max(100, Math.floor(config.sessionTimeoutMs / 10)),
    // kafkajs heartbeats between fetches: a fetch may not wait longer than a third of the session.
    maxWaitTimeInMs: Math.min(config.fetchMaxWaitMs, Math.floor(config.sessionTimeoutMs / 3)),
    rebalanceTimeout: Math.max(config.sessionTimeoutMs * 2, 10_000),
    ...options,
    groupId,
    sessionTimeout: config.sessionTimeoutMs,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  return consumer;
}

/** kafkajs gave up on a consumer more often than a restart can fix. */
export class ConsumerCrashError extends Error {
  override name = "ConsumerCrashError";
  constructor(readonly groupId: string, readonly restarts: number, cause: Error) {
    super(`the Kafka consumer of group "${groupId}" stopped ${restarts + 1} times within ${CONSUMER_RESTART_WINDOW_MS / 60_000} min; last error: ${cause.message}`, { cause });
  }
}

export const CONSUMER_RESTARTS = 5;
export const CONSUMER_RESTART_WINDOW_MS = 5 * 60_000;

export interface ConsumerSupervision {
  log: Logger;
  /** Runs when kafkajs gives up, before the restart: whatever is not committed must be forgotten, the group replays it. */
  onRestart: (error: Error) => void;
  /** Runs when restarting does not help: the process should exit and let its supervisor start it afresh. */
  onGiveUp: (error: Error) => void;
  isStopping: () => boolean;
}

/** The usual `onGiveUp`: exit 1, so the process supervisor starts the worker afresh (it replays from its last commit). */
export const exitWhenConsumerKeepsStopping = (log: Logger) => (error: Error): never => {
  log.error({ err: error.message }, "the Kafka consumer keeps stopping; exiting");
  process.exit(1);
};

type TopicPartitions = Parameters<Consumer["pause"]>[0];

/**
 * A kafkajs consumer that is restarted in-process when kafkajs stops it for
 * good. kafkajs restarts only after errors it deems retriable; a group error
 * such as INVALID_REQUEST to a SyncGroup (librdkafka's mock cluster's answer to a member
 * whose session ran out mid-rebalance) stops it forever. A restart rejoins the
 * group and replays from the last commit, as after any rebalance. More than
 * CONSUMER_RESTARTS within CONSUMER_RESTART_WINDOW_MS means something is really
 * wrong: give up.
 *
 * Between a crash and the next group join kafkajs has no consumer group, and
 * its pause, resume and seek throw. Here they do nothing then: the join resets
 * positions and pauses, and every worker rebuilds its state on GROUP_JOIN.
 * Create this before registering a worker's own GROUP_JOIN listener, so
 * `running` is already true when that listener runs.
 */
export class SupervisedConsumer {
  private joined = false;
  private readonly restarts: number[] = [];
  private config: ConsumerRunConfig | undefined;

  constructor(
    readonly consumer: Consumer,
    private readonly groupId: string,
    private readonly supervision: ConsumerSupervision,
  ) {
    consumer.on(consumer.events.GROUP_JOIN, () => (this.joined = true));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.joined = false;
      if (!payload.restart) this.restart(payload.error);
    });
  }

  /** In a group, with partitions to pause, resume and seek. */
  get running(): boolean {
    return this.joined;
  }

  async run(config: ConsumerRunConfig): Promise<void> {
    this.config = config;
    await this.consumer.run(config);
  }

  pause(topics: TopicPartitions): void {
    if (this.joined) this.consumer.pause(topics);
  }

  resume(topics: TopicPartitions): void {
    if (this.joined) this.consumer.resume(topics);
  }

  seek(target: { topic: string; partition: number; offset: string }): void {
    if (this.joined) this.consumer.seek(target);
  }

  private restart(error: Error): void {
    const { log, onRestart, onGiveUp, isStopping } = this.supervision;
    if (isStopping() || !this.config) return;
    const now = Date.now();
    while (this.restarts.length > 0 && now - this.restarts[0]! > CONSUMER_RESTART_WINDOW_MS) this.restarts.shift();
    if (this.restarts.length >= CONSUMER_RESTARTS) {
      onGiveUp(new ConsumerCrashError(this.groupId, this.restarts.length, error));
      return;
    }
    this.restarts.push(now);
    const delayMs = 500 * 2 ** (this.restarts.length - 1);
    log.warn({ groupId: this.groupId, err: error.message, restart: this.restarts.length, delayMs }, "the Kafka consumer stopped; restarting it (uncommitted work is replayed from the last commit)");
    try {
      onRestart(error);
    } catch (hookError) {
      onGiveUp(hookError as Error);
      return;
    }
    const config = this.config;
    setTimeout(() => {
      if (isStopping()) return;
      // A failed reconnect counts as one more stop.
      this.consumer
        .connect()
        .then(() => (isStopping() ? undefined : this.consumer.run(config)))
        .catch((reconnectError: Error) => this.restart(reconnectError));
    }, delayMs);
  }
}

/** Offsets as committed to a consumer group, with the engine's metadata. */
export interface GroupCommit {
  topic: string;
  partition: number;
  offset: string;
  metadata: string;
}

/** kafkajs Admin's surface the workers use: committed offsets and log-end offsets. */
export interface OffsetSource {
  fetchOffsets(request: { groupId: string; topics: string[] }): Promise<{ topic: string; partitions: { partition: number; offset: string; metadata: string | null }[] }[]>;
  /** `low` = the log-start offset (kafkajs gives it; a source without it makes every offset jump a gap). */
  fetchTopicOffsets(topic: string): Promise<{ partition: number; high: string; low?: string }[]>;
  disconnect(): Promise<void>;
}

/**
 * The log-start offset of `topic`/`partition` (ListOffsets, earliest), asked when a
 * worker sees offsets jump: only offsets below the log start were removed by
 * retention; a jump above it is a transaction marker, an aborted transaction or
 * compaction. `undefined` when the broker does not answer or gives no `low` (logged;
 * the caller then counts the whole jump: a false alarm rather than a silent loss).
 */
export async function logStartOffset(offsets: Pick<OffsetSource, "fetchTopicOffsets">, topic: string, partition: number, log: Logger): Promise<number | undefined> {
  try {
    const low = (await offsets.fetchTopicOffsets(topic)).find((o) => o.partition === partition)?.low;
    return low === undefined ? undefined : Number(low);
  } catch (error) {
    log.warn({ topic, partition, err: (error as Error).message }, "could not read the log-start offset; an offset jump counts as a gap");
    return undefined;
  }
}

/**
 * An OffsetSource on a kafkajs admin client that is replaced after any failed
 * request. kafkajs's `fetchTopicOffsets` does not retry a `NOT_LEADER_OR_FOLLOWER`
 * and refreshes its cached metadata only on connection errors (kafkajs 2.2
 * admin/index.js, cluster/index.js), so after a leader moved, one long-lived
 * admin would keep asking the old leader until the metadata expires
 * (`metadataMaxAge`, 5 minutes). A new client starts from fresh metadata. The
 * failed request's error is rethrown; the caller retries.
 */
export class AdminOffsetSource implements OffsetSource {
  private admin: Promise<Admin> | undefined;

  constructor(private readonly kafka: Pick<Kafka, "admin">) {}

  private connected(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })();
    return this.admin;
  }

  private async request<T>(call: (admin: Admin) => Promise<T>): Promise<T> {
    const pending = this.connected();
    try {
      return await call(await pending);
    } catch (error) {
      // Only the client that failed is dropped: a newer one made meanwhile stays.
      if (this.admin === pending) {
        this.admin = undefined;
        void pending.then((admin) => admin.disconnect()).catch(() => undefined);
      }
      throw error;
    }
  }

  fetchOffsets(request: { groupId: string; topics: string[] }) {
    return this.request((admin) => admin.fetchOffsets(request));
  }

  fetchTopicOffsets(topic: string) {
    return this.request((admin) => admin.fetchTopicOffsets(topic));
  }

  async disconnect(): Promise<void> {
    const pending = this.admin;
    this.admin = undefined;
    await pending?.then((admin) => admin.disconnect()).catch(() => undefined);
  }
}

/** One fetched batch, as much of kafkajs's EachBatchPayload as the workers read. */
export type BatchPayload = Pick<EachBatchPayload, "resolveOffset" | "heartbeat" | "isRunning" | "isStale"> & {
  batch: Pick<Batch, "topic" | "partition" | "highWatermark" | "messages" | "firstOffset" | "lastOffset">;
};

/**
 * What a worker loop needs of its consumer group, kafkajs-style, so that a fake
 * can drive the loop in unit tests. Ownership follows the group protocol: a
 * member owns its assignment from a group join (one generation) until it starts
 * rebalancing, its consumer crashes or it stops, and only while its session is
 * alive: the coordinator expels a member whose heartbeats stop for a session
 * timeout and hands its partitions to others, and the member itself learns that
 * only at its next heartbeat (after a stall, a timer may fire first). So a
 * member whose last heartbeat is older than the session timeout owns nothing.
 * kafkajs does not always say `revoke` first (an UNKNOWN_MEMBER_ID rejoin goes
 * straight to a join), so a `join` must discard everything too.
 */
export interface GroupConsumer {
  /** In a group, with partitions to pause, resume and seek. */
  readonly running: boolean;
  /** Increases on every join; 0 before the first. */
  readonly generation: number;
  /** True while this member may still act for the assignment of `generation` (see above); `now` in epoch ms. */
  owns(generation: number, now: number): boolean;
  run(config: Pick<ConsumerRunConfig, "eachBatch" | "autoCommit" | "eachBatchAutoResolve">): Promise<void>;
  /** Without `partitions`, every partition of the topic (kafkajs's TopicPartitions). */
  pause(topics: { topic: string; partitions?: number[] }[]): void;
  resume(topics: { topic: string; partitions?: number[] }[]): void;
  seek(target: { topic: string; partition: number; offset: string }): void;
  commitOffsets(commits: GroupCommit[]): Promise<void>;
  /**
   * `join`: partitions assigned (a new generation); detail = the assignment, topic → partitions.
   * `revoke`: they are gone (rebalance started, consumer restarting); detail = the reason.
   */
  on(event: "join" | "revoke", listener: (detail: unknown) => void): void;
  /**
   * The worker has begun its graceful stop: from now on a crashed consumer is not
   * restarted (a restart would rejoin the group during the stop). The member keeps
   * its assignment, and may still commit, until stop().
   */
  beginStop(): void;
  /** Leaves the group (so a restart is assigned partitions at once) and disconnects. */
  stop(): Promise<void>;
}

/**
 * Whether a member whose last heartbeat succeeded at `lastHeartbeatAt` can still be in
 * its group at `now`: the coordinator counts the session from when it received that
 * heartbeat, a little before we saw the answer, so we keep a margin of a tenth.
 */
export function sessionAlive(lastHeartbeatAt: number, now: number, sessionTimeoutMs: number): boolean {
  return now - lastHeartbeatAt < sessionTimeoutMs * 0.9;
}

/** A kafkajs consumer, supervised (SupervisedConsumer), as a GroupConsumer. */
export class KafkaGroupConsumer implements GroupConsumer {
  private readonly supervised: SupervisedConsumer;
  private readonly listeners = { join: [] as ((detail: unknown) => void)[], revoke: [] as ((detail: unknown) => void)[] };
  private stopping = false;
  private stopBegun = false;
  private joined = false;
  private lastHeartbeatAt = 0;
  generation = 0;

  constructor(
    private readonly consumer: Consumer,
    groupId: string,
    /** KAFKA_SESSION_TIMEOUT: the coordinator expels a member silent for this long. */
    private readonly sessionTimeoutMs: number,
    log: Logger,
    onGiveUp: (error: Error) => void,
    private readonly clock: () => number = Date.now,
  ) {
    this.supervised = new SupervisedConsumer(consumer, groupId, {
      log,
      onRestart: () => this.revoke("consumer restart"),
      onGiveUp,
      isStopping: () => this.stopBegun,
    });
    const { GROUP_JOIN, HEARTBEAT, REBALANCING, CRASH } = consumer.events;
    // kafkajs heartbeats between fetches (at most every heartbeatInterval), also while every partition is paused
    // (after each empty fetch, which waits maxWaitTimeInMs: openConsumer keeps that below a third of the session).
    consumer.on(HEARTBEAT, () => (this.lastHeartbeatAt = this.clock()));
    consumer.on(REBALANCING, () => this.revoke("rebalance"));
    consumer.on(CRASH, () => (this.joined = false));
    consumer.on(GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      this.generation++;
      this.lastHeartbeatAt = this.clock();
      for (const listener of this.listeners.join) listener(payload.memberAssignment);
    });
  }

  private revoke(reason: string): void {
    this.joined = false;
    for (const listener of this.listeners.revoke) listener(reason);
  }

  get running(): boolean {
    return this.supervised.running;
  }

  owns(generation: number, now: number): boolean {
    return this.joined && !this.stopping && generation === this.generation && sessionAlive(this.lastHeartbeatAt, now, this.sessionTimeoutMs);
  }

  run(config: Pick<ConsumerRunConfig, "eachBatch" | "autoCommit" | "eachBatchAutoResolve">): Promise<void> {
    return this.supervised.run(config);
  }

  pause(topics: { topic: string; partitions?: number[] }[]): void {
    this.supervised.pause(topics);
  }

  resume(topics: { topic: string; partitions?: number[] }[]): void {
    this.supervised.resume(topics);
  }

  seek(target: { topic: string; partition: number; offset: string }): void {
    this.supervised.seek(target);
  }

  commitOffsets(commits: GroupCommit[]): Promise<void> {
    return this.consumer.commitOffsets(commits);
  }

  on(event: "join" | "revoke", listener: (detail: unknown) => void): void {
    this.listeners[event].push(listener);
  }

  beginStop(): void {
    this.stopBegun = true;
  }

  async stop(): Promise<void> {
    this.beginStop();
    this.stopping = true;
    this.joined = false;
    await this.consumer.stop();
    await this.consumer.disconnect();
  }
}
