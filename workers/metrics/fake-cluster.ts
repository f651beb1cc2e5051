/**
 * In-memory stand-ins for what the metrics worker talks to besides its consumer
 * group (workers/shared/fake-group.ts): a producer and InfluxDB, for unit tests
 * that drive its loop (metrics-worker.test.ts). FakeInflux keeps InfluxDB's rule
 * that the worker's correctness depends on: a point with the same measurement,
 * tags and timestamp overwrites the previous one. Failures are injected on demand.
 */
import type { Message } from "kafkajs";
import type { InfluxPoint } from "../../lib/hot/influx-points.ts";
import { InjectedFailure } from "../shared/fake-group.ts";
import type { RecordProducer, WindowSink } from "./metrics-worker.ts";

/**
 * What InfluxDB holds: the last point per series and timestamp. A partial value over
 * a final one is a violation when its writer does not own the partition at that
 * moment (a stale worker). The owner's own replay after a failed commit or a
 * takeover may rewrite a final value it cannot know is final (only the commit says
 * so) before writing it final again: `rewrites` counts those.
 */
export class FakeInflux {
  readonly points = new Map<string, InfluxPoint>();
  readonly violations: string[] = [];
  rewrites = 0;

  write(point: InfluxPoint, writerOwns: (partition: number) => boolean = () => true): void {
    const key = `${point.measurement},${Object.entries(point.tags).sort().join(",")} ${point.timestampNs}`;
    const previous = this.points.get(key);
    if (point.measurement === "order_window" && previous?.fields.final?.value === 1 && point.fields.final?.value === 0) {
      if (writerOwns(Number(point.tags.partition))) this.rewrites++;
      else this.violations.push(`final window ${key} overwritten by a partial value from a worker that no longer owns partition ${point.tags.partition}`);
    }
    this.points.set(key, point);
  }
}

/** A WindowSink writing chunks of `chunkSize` points into a FakeInflux; `between` runs before each chunk after the first. */
export class FakeSink implements WindowSink {
  private buffer: InfluxPoint[] = [];
  failures = 0;
  writeErrors = 0;
  readonly refused = new Map<string, number>();
  lastRefusal = undefined;
  between: (() => void) | undefined;

  /** Whether the writing worker's member owns a partition right now (set by the test's cluster). */
  owner: (partition: number) => boolean = () => true;

  constructor(
    private readonly influx: FakeInflux,
    readonly maxBufferedPoints = 100_000,
    private readonly chunkSize = 7,
  ) {}

  async init(): Promise<void> {}
  async close(): Promise<void> {}

  enqueue(points: InfluxPoint[]): void {
    this.buffer.push(...points);
  }

  get buffered(): number {
    return this.buffer.length;
  }

  get full(): boolean {
    return this.buffer.length >= this.maxBufferedPoints;
  }

  discard(): number {
    const dropped = this.buffer.length;
    this.buffer = [];
    return dropped;
  }

  async flush(mayWrite: () => boolean = () => true): Promise<boolean> {
    for (let first = true; this.buffer.length > 0; first = false) {
      if (!first) {
        const hook = this.between;
        this.between = undefined;
        hook?.();
      }
      await Promise.resolve();
      if (!mayWrite()) return false;
      if (this.failures > 0) {
        this.failures--;
        this.writeErrors++;
        return false;
      }
      for (const point of this.buffer.splice(0, this.chunkSize)) this.influx.write(point, this.owner);
    }
    return true;
  }
}

/**
 * A producer appending to in-memory topics; `failures` sends fail. While `holding` names a topic, sends to it
 * wait unacknowledged (a slow broker) until {@link release}.
 */
export class FakeProducer implements RecordProducer {
  readonly sent = new Map<string, Message[]>();
  failures = 0;
  holding: string | undefined;
  /** Each held send's answer: true makes it fail. */
  private held: ((fail: boolean) => void)[] = [];

  async send(record: { topic: string; messages: Message[] }): Promise<unknown> {
    await Promise.resolve();
    if (record.topic === this.holding) {
      const fail = await new Promise<boolean>((acknowledge) => this.held.push(acknowledge));
      if (fail) throw new InjectedFailure(`send to ${record.topic} failed after a wait`);
    }
    if (this.failures > 0) {
      this.failures--;
      throw new InjectedFailure(`send to ${record.topic} failed`);
    }
    const list = this.sent.get(record.topic) ?? [];
    list.push(...record.messages);
    this.sent.set(record.topic, list);
    return [];
  }

  /** Stops holding and answers the held sends in order: the first fails when `failFirst`, the rest succeed. */
  release(failFirst = false): void {
    this.holding = undefined;
    const held = this.held;
    this.held = [];
    held.forEach((acknowledge, i) => acknowledge(failFirst && i === 0));
  }

  async disconnect(): Promise<void> {}
}

