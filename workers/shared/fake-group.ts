/**
 * In-memory stand-ins for a Kafka topic and consumer group, for unit tests that
 * drive a worker's loop through its GroupConsumer (metrics-worker.test.ts,
 * lake-worker.test.ts). They keep the rules of Kafka's that the workers'
 * correctness depends on: a fetch starts after the last resolved offset, a seek
 * moves it, a commit from a member that lost its assignment is refused
 * (ILLEGAL_GENERATION), a member silent for a session timeout is expelled and
 * learns it only at its next heartbeat. Failures are injected on demand.
 */
import type { KafkaMessage } from "kafkajs";
import { sessionAlive, type BatchPayload, type GroupCommit, type GroupConsumer, type OffsetSource } from "./kafka.ts";

/** The wall clock of a fake cluster, epoch ms, moved by the test. */
export class FakeClock {
  constructor(public ms: number) {}
  readonly now = (): number => this.ms;
}

export class InjectedFailure extends Error {
  override name = "InjectedFailure";
}

/** One topic's partitions, as plain arrays of records (offset = index). */
export class FakeTopic {
  readonly partitions: KafkaMessage[][];

  constructor(
    readonly name: string,
    partitions: number,
  ) {
    this.partitions = Array.from({ length: partitions }, () => []);
  }

  append(partition: number, value: string, timestamp: number): void {
    const log = this.partitions[partition]!;
    log.push({ offset: String(log.length), value: Buffer.from(value), key: null, timestamp: String(timestamp), attributes: 0, headers: {} } as KafkaMessage);
  }
}

/** A consumer group over one FakeTopic: commits, assignment, and the members. */
export class FakeGroup implements OffsetSource {
  readonly committed = new Map<number, { offset: number; metadata: string }>();
  readonly members: FakeMember[] = [];
  /** Called before a commit is accepted: the test's check of what must be durable by then. */
  beforeCommit: ((commit: GroupCommit) => void) | undefined;

  constructor(
    readonly topic: FakeTopic,
    readonly groupId: string,
    readonly clock: FakeClock,
    readonly sessionTimeoutMs: number,
  ) {}

  /**
   * Member `index` stalls past its session timeout: the coordinator expels it and deals
   * its partitions to the others, who rebalance at once; it learns at its next heartbeat.
   */
  expel(index: number): void {
    const expelled = this.members[index]!;
    if (!expelled.running || expelled.expelled) return;
    this.clock.ms += this.sessionTimeoutMs;
    expelled.expelled = true;
    const alive = this.members.filter((m) => !m.expelled);
    if (alive.length === 0) return;
    for (const m of alive) m.revoke();
    alive.forEach((m, i) => m.join(this.topic.partitions.flatMap((_, p) => (p % alive.length === i ? [p] : []))));
  }

  /** Time passes; every member that is not stalled heartbeats. */
  tick(ms: number): void {
    this.clock.ms += ms;
    for (const m of this.members) if (!m.expelled) m.heartbeat();
  }

  member(): FakeMember {
    const member = new FakeMember(this);
    this.members.push(member);
    return member;
  }

  /** An eager rebalance: every member loses its partitions, then they are dealt out anew (`owners[p]` = member index). */
  rebalance(owners: number[]): void {
    for (const member of this.members) member.expelled = false;
    for (const member of this.members) member.revoke();
    this.members.forEach((member, index) => member.join(owners.flatMap((owner, partition) => (owner === index ? [partition] : []))));
  }

  async fetchOffsets(request: { groupId: string; topics: string[] }) {
    await Promise.resolve();
    return request.topics.map((topic) => ({
      topic,
      partitions: this.topic.partitions.map((_, partition) => {
        const c = this.committed.get(partition);
        return { partition, offset: c ? String(c.offset) : "-1", metadata: c?.metadata ?? null };
      }),
    }));
  }

  /** The next this many log-end reads answer 0 for every partition (a stale or wrong answer). */
  staleLogEnds = 0;

  async fetchTopicOffsets(_topic: string) {
    await Promise.resolve();
    const stale = this.staleLogEnds > 0;
    if (stale) this.staleLogEnds--;
    return this.topic.partitions.map((log, partition) => ({ partition, high: String(stale ? 0 : log.length) }));
  }

  async disconnect(): Promise<void> {}
}

/** One member of a FakeGroup, as the GroupConsumer the worker sees. */
export class FakeMember implements GroupConsumer {
  running = false;
  generation = 0;
  assigned: number[] = [];
  /** Paused partitions (kafkajs pauses per partition, or a whole topic: every partition). */
  readonly paused = new Set<number>();
  commitFailures = 0;
  /** Expelled by the coordinator without knowing it yet. */
  expelled = false;
  private lastHeartbeatAt = 0;
  private readonly positions = new Map<number, number>();
  /** Partitions sought since their last fetch: kafkajs's isStale() is true for their batches in flight. */
  private readonly pendingSeeks = new Set<number>();
  private eachBatch: ((payload: BatchPayload) => Promise<void>) | undefined;
  private readonly listeners = { join: [] as ((detail: unknown) => void)[], revoke: [] as ((detail: unknown) => void)[] };

  constructor(private readonly group: FakeGroup) {}

  owns(generation: number, now: number): boolean {
    return this.running && generation === this.generation && sessionAlive(this.lastHeartbeatAt, now, this.group.sessionTimeoutMs);
  }

  /** A heartbeat: refreshes the session, or tells an expelled member that its partitions are gone (it rejoins with none). */
  heartbeat(): void {
    if (this.expelled) {
      this.expelled = false;
      this.revoke();
      this.join([]);
      return;
    }
    if (this.running) this.lastHeartbeatAt = this.group.clock.now();
  }

  async run(config: { eachBatch?: unknown }): Promise<void> {
    this.eachBatch = config.eachBatch as (payload: BatchPayload) => Promise<void>;
  }

  pause(topics: { topic: string; partitions?: number[] }[]): void {
    if (!this.running) return;
    for (const { partitions } of topics) for (const p of partitions ?? this.group.topic.partitions.keys()) this.paused.add(p);
  }

  resume(topics: { topic: string; partitions?: number[] }[]): void {
    if (!this.running) return;
    for (const { partitions } of topics) for (const p of partitions ?? this.group.topic.partitions.keys()) this.paused.delete(p);
  }

  seek(target: { partition: number; offset: string }): void {
    if (!this.running || !this.assigned.includes(target.partition)) return;
    this.positions.set(target.partition, Number(target.offset));
    this.pendingSeeks.add(target.partition);
  }

  async commitOffsets(commits: GroupCommit[]): Promise<void> {
    const generation = this.generation;
    const expelled = this.expelled;
    await Promise.resolve();
    if (this.commitFailures > 0) {
      this.commitFailures--;
      throw new InjectedFailure("commit failed");
    }
    // The broker refuses a commit from an old generation, or for partitions the member does not own.
    if (expelled || this.expelled || generation !== this.generation || !this.running || commits.some((c) => !this.assigned.includes(c.partition))) throw new InjectedFailure("ILLEGAL_GENERATION");
    for (const commit of commits) {
      this.group.beforeCommit?.(commit);
      this.group.committed.set(commit.partition, { offset: Number(commit.offset), metadata: commit.metadata });
    }
  }

  on(event: "join" | "revoke", listener: (detail: unknown) => void): void {
    this.listeners[event].push(listener);
  }

  /** Set by beginStop(): the real consumer restarts no more after it. */
  stopBegun = false;

  beginStop(): void {
    this.stopBegun = true;
  }

  async stop(): Promise<void> {
    this.running = false;
  }

  revoke(): void {
    if (!this.running) return;
    this.running = false;
    this.assigned = [];
    for (const listener of this.listeners.revoke) listener("rebalance");
  }

  join(partitions: number[]): void {
    this.running = true;
    this.generation++;
    this.paused.clear();
    this.assigned = partitions;
    this.lastHeartbeatAt = this.group.clock.now();
    this.positions.clear();
    this.pendingSeeks.clear();
    // A new assignment fetches from the committed offset (earliest without one), like kafkajs.
    for (const p of partitions) this.positions.set(p, this.group.committed.get(p)?.offset ?? 0);
    for (const listener of this.listeners.join) listener({ [this.group.topic.name]: partitions });
  }

  /** Fetches up to `max` records of `partition` from the member's position and hands them to the worker; false if nothing was delivered. */
  async deliver(partition: number, max: number): Promise<boolean> {
    this.heartbeat(); // a fetch is where an expelled member learns it
    if (!this.running || this.paused.has(partition) || !this.eachBatch || !this.assigned.includes(partition)) return false;
    const log = this.group.topic.partitions[partition]!;
    this.pendingSeeks.delete(partition); // the fetch starts from the sought offset
    const from = this.positions.get(partition) ?? 0;
    const messages = log.slice(from, from + max);
    if (messages.length === 0) return false;
    const generation = this.generation;
    // kafkajs catches an error thrown by eachBatch and fetches the unresolved records again.
    await this.eachBatch({
      batch: { topic: this.group.topic.name, partition, highWatermark: String(log.length), messages, firstOffset: () => messages[0]?.offset ?? null, lastOffset: () => messages.at(-1)?.offset ?? String(log.length - 1) },
      resolveOffset: (offset: string) => {
        if (this.generation === generation && this.positions.get(partition) === from) this.positions.set(partition, Number(offset) + 1);
      },
      heartbeat: async () => {},
      isRunning: () => this.running,
      isStale: () => this.generation !== generation || this.pendingSeeks.has(partition),
    }).catch((error: unknown) => {
      if (!(error instanceof InjectedFailure)) throw error;
    });
    return true;
  }
}
