import { describe, expect, it } from "vitest";
import fc from "fast-check";
import pino from "pino";
import { Registry } from "prom-client";
import { decodeOrder } from "../../lib/contract/order.ts";
import { amountToCents } from "../../lib/contract/money.ts";
import { windowStartOf } from "../../lib/contract/time.ts";
import { DLQ_HEADERS } from "../../lib/contract/dead-letter.ts";
import { WindowEngine, type Classification, type WindowValue } from "../../lib/hot/window-engine.ts";
import { MEASUREMENTS } from "../../lib/hot/influx-points.ts";
import { consumerGroupNames, type WindowConfig } from "../../lib/contract/config.ts";
import type { GroupCommit } from "../shared/kafka.ts";
import { CustomerSegments } from "../../lib/contract/dims.ts";
import { FakeClock, FakeGroup, FakeTopic, type FakeMember } from "../shared/fake-group.ts";
import { FakeInflux, FakeProducer, FakeSink } from "./fake-cluster.ts";
import { MetricsWorker } from "./metrics-worker.ts";

const MIN = 60_000;
const T0 = Date.parse("2026-11-20T10:00:00Z");
const PARTITIONS = 3;
// No idle advances: the oracle below replays records only (idle ticks are not in the log).
const WINDOWS: WindowConfig = { windowSizeMs: MIN, watermarkDelayMs: 2 * MIN, idleTimeoutMs: 1e12, emitIntervalMs: 500, maxEventSkewMs: 10 * MIN };
const TOPICS = { topic: "orders", dlqTopic: "orders.dlq", windowValuesTopic: "orders.metrics", groups: consumerGroupNames("orderpulse") };
const silent = pino({ level: "silent" });

interface Node {
  worker: MetricsWorker;
  member: FakeMember;
  sink: FakeSink;
  producer: FakeProducer;
  registry: Registry;
}

/** A topic, a consumer group, one shared InfluxDB and `workers` metrics workers driven by hand. */
async function cluster(workers: number, windows: WindowConfig = WINDOWS) {
  const topic = new FakeTopic(TOPICS.topic, PARTITIONS);
  const clock = new FakeClock(T0);
  const group = new FakeGroup(topic, TOPICS.groups.metrics, clock, 10_000);
  const influx = new FakeInflux();
  const nodes: Node[] = [];
  for (let i = 0; i < workers; i++) {
    const member = group.member();
    const sink = new FakeSink(influx);
    sink.owner = (partition) => member.running && !member.expelled && member.assigned.includes(partition);
    const producer = new FakeProducer();
    const registry = new Registry();
    const worker = new MetricsWorker({ consumer: member, producer, offsets: group, sink, now: clock.now, log: silent, registry }, TOPICS, windows);
    await worker.start({ emitTimer: false });
    nodes.push({ worker, member, sink, producer, registry });
  }
  return { topic, group, influx, nodes, clock };
}

/** Record i of a partition: mostly on time, some duplicates, some late, some invalid. */
function recordValue(partition: number, i: number, kind: number): string {
  if (kind === 0) return "{not json";
  const id = kind === 1 && i > 0 ? `o-${partition}-${i - 1}` : `o-${partition}-${i}`; // kind 1: re-send the previous order
  const late = kind === 2 ? -5 * MIN : 0;
  return JSON.stringify({ order_id: id, customer_id: `c-${i % 5}`, country: ["US", "DE"][i % 2], category: "coffee", quantity: 1 + (i % 3), amount: 1.005 + i, event_time: T0 + i * 20_000 + late });
}

/**
 * What an uninterrupted run gives, per partition: each record's class and every final window value.
 * `idleAtEnd`: the run goes idle once it has read everything, so idle time closes its last windows too.
 */
function oracle(topic: FakeTopic, idleAtEnd = false) {
  return topic.partitions.map((log, partition) => {
    const engine = new WindowEngine(partition, WINDOWS);
    const classes: (Classification | "invalid")[] = [];
    log.forEach((message, offset) => {
      const decoded = decodeOrder(message.value, Number(message.timestamp), WINDOWS.maxEventSkewMs);
      classes.push(decoded.ok ? engine.ingest({ offset, order: decoded.order }) : "invalid");
    });
    if (idleAtEnd) engine.idleAdvance(365 * 24 * 60 * MIN);
    const finals = new Map<number, WindowValue>();
    for (const w of engine.emit().windows) if (w.final) finals.set(w.windowStart, w);
    const starts = log.map((m) => {
      const decoded = decodeOrder(m.value, Number(m.timestamp), WINDOWS.maxEventSkewMs);
      return decoded.ok ? windowStartOf(decoded.order.eventTime, MIN) : undefined;
    });
    const amounts = log.map((m) => {
      const decoded = decodeOrder(m.value, Number(m.timestamp), WINDOWS.maxEventSkewMs);
      return decoded.ok ? decoded.order.amount : 0;
    });
    return { classes, finals, starts, amounts };
  });
}

const windowKey = (partition: number, windowStart: number) => `${MEASUREMENTS.window},partition,${partition} ${BigInt(windowStart) * 1_000_000n}`;

/**
 * Everything before a commit offset must be durable: each on-time record's window is
 * final in InfluxDB with the uninterrupted run's value, each late or duplicate record
 * has its anomaly point, each invalid record is in the dead-letter topic.
 */
function checkCommit(commit: GroupCommit, truth: ReturnType<typeof oracle>, influx: FakeInflux, producers: FakeProducer[]): string[] {
  const problems: string[] = [];
  const p = commit.partition;
  const { classes, finals, starts, amounts } = truth[p]!;
  const deadLetters = new Set(
    producers.flatMap((producer) => (producer.sent.get(TOPICS.dlqTopic) ?? []).map((m) => `${(m.headers as Record<string, string>)[DLQ_HEADERS.partition]}/${(m.headers as Record<string, string>)[DLQ_HEADERS.offset]}`)),
  );
  const anomalies = [...influx.points.values()].filter((pt) => pt.measurement === MEASUREMENTS.anomaly && pt.tags.partition === String(p));
  for (let offset = 0; offset < Number(commit.offset); offset++) {
    const kind = classes[offset];
    if (kind === "invalid") {
      if (!deadLetters.has(`${p}/${offset}`)) problems.push(`commit ${p}@${commit.offset}: invalid record ${offset} not dead-lettered`);
    } else if (kind === "on-time") {
      const start = starts[offset]!;
      const point = influx.points.get(windowKey(p, start));
      const expected = finals.get(start);
      if (!expected) problems.push(`commit ${p}@${commit.offset}: window of record ${offset} is not final in an uninterrupted run`);
      else if (point?.fields.final?.value !== 1 || point.fields.orders?.value !== expected.orders || point.fields.revenue?.value !== expected.revenueCents / 100)
        problems.push(`commit ${p}@${commit.offset}: window ${new Date(start).toISOString()} of record ${offset} is not durable and final (${JSON.stringify(point?.fields)})`);
    } else if (kind === "late" || kind === "duplicate") {
      const cents = amountToCents(amounts[offset]!);
      if (!anomalies.some((pt) => pt.tags.kind === kind && pt.fields.revenue?.value === cents / 100 && pt.timestampNs >= BigInt(starts[offset]!) * 1_000_000n))
        problems.push(`commit ${p}@${commit.offset}: ${kind} record ${offset} has no anomaly point`);
    }
  }
  return problems;
}

type Op =
  | { op: "produce"; partition: number; kinds: number[] }
  | { op: "deliver"; node: number; partition: number; max: number }
  | { op: "emit"; node: number }
  | { op: "failWrite"; node: number }
  | { op: "failCommit"; node: number }
  | { op: "failPublish"; node: number }
  | { op: "holdDeadLetters"; node: number }
  | { op: "releaseDeadLetters"; node: number; failFirst: boolean }
  | { op: "rebalance"; owners: number[] }
  | { op: "rebalanceMidFlush"; node: number; owners: number[] }
  | { op: "expel"; node: number }
  | { op: "tick"; ms: number };

const opArb = (nodes: number): fc.Arbitrary<Op> => {
  const node = fc.integer({ min: 0, max: nodes - 1 });
  const partition = fc.integer({ min: 0, max: PARTITIONS - 1 });
  const owners = fc.array(node, { minLength: PARTITIONS, maxLength: PARTITIONS });
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant("produce" as const), partition, kinds: fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 10 }) }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant("deliver" as const), node, partition, max: fc.integer({ min: 1, max: 20 }) }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant("emit" as const), node }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("failWrite" as const), node }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("failCommit" as const), node }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("failPublish" as const), node }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("holdDeadLetters" as const), node }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("releaseDeadLetters" as const), node, failFirst: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("rebalance" as const), owners }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("rebalanceMidFlush" as const), node, owners }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("expel" as const), node }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("tick" as const), ms: fc.integer({ min: 100, max: 3_000 }) }) },
  );
};

/** Runs the ops, then lets the group settle on one owner per partition and drains every record. */
/**
 * `prefill`: every produced record (and the closing ones) is in the topic before the first op, so an
 * uninterrupted run is never caught up before the end and takes no idle tick mid-stream: the idle-free
 * oracle stays the truth even with a short IDLE_TIMEOUT.
 */
async function run(ops: Op[], nodeCount: number, options: { windows?: WindowConfig; prefill?: boolean } = {}) {
  const { topic, group, influx, nodes } = await cluster(nodeCount, options.windows);
  const counts = Array.from({ length: PARTITIONS }, () => 0);
  const commitProblems: string[] = [];
  let truth: ReturnType<typeof oracle> | undefined;
  // A pre-filled topic is read to its end before any idle tick can count, so idle time may close its last windows.
  const truthOf = () => oracle(topic, options.prefill);
  group.beforeCommit = (commit) => commitProblems.push(...checkCommit(commit, (truth ??= truthOf()), influx, nodes.map((n) => n.producer)));
  const produce = (partition: number, kind: number) => {
    topic.append(partition, recordValue(partition, counts[partition]!++, kind), T0 + 30 * MIN);
    truth = undefined;
  };
  const closeEveryWindow = () => {
    // Far-future records close every window (in every partition).
    for (let p = 0; p < PARTITIONS; p++) topic.append(p, JSON.stringify({ order_id: `end-${p}`, amount: 0, event_time: T0 + 25 * MIN }), T0 + 30 * MIN);
    truth = undefined;
  };
  if (options.prefill) {
    for (const op of ops) if (op.op === "produce") for (const kind of op.kinds) produce(op.partition, kind);
    closeEveryWindow();
  }
  group.rebalance(Array.from({ length: PARTITIONS }, (_, p) => p % nodeCount));
  for (const op of ops) {
    if (op.op === "produce") {
      if (!options.prefill) for (const kind of op.kinds) produce(op.partition, kind);
    }
    else if (op.op === "deliver") await nodes[op.node]!.member.deliver(op.partition, op.max);
    else if (op.op === "emit") await nodes[op.node]!.worker.emitCycle();
    else if (op.op === "failWrite") nodes[op.node]!.sink.failures++;
    else if (op.op === "failCommit") nodes[op.node]!.member.commitFailures++;
    else if (op.op === "failPublish") nodes[op.node]!.producer.failures++;
    else if (op.op === "holdDeadLetters") nodes[op.node]!.producer.holding = TOPICS.dlqTopic;
    else if (op.op === "releaseDeadLetters") nodes[op.node]!.producer.release(op.failFirst);
    else if (op.op === "rebalance") group.rebalance(op.owners);
    else if (op.op === "expel") group.expel(op.node);
    else if (op.op === "tick") group.tick(op.ms);
    else nodes[op.node]!.sink.between = () => group.rebalance(op.owners); // the group rebalances while this worker is writing
  }
  // Drain: every window closed, then the owners catch up.
  for (const n of nodes) {
    n.sink.between = undefined;
    n.producer.release();
  }
  if (!options.prefill) closeEveryWindow();
  const settled = Array.from({ length: PARTITIONS }, (_, p) => p % nodeCount);
  group.rebalance(settled);
  for (let round = 0; round < 200; round++) {
    let delivered = false;
    for (let p = 0; p < PARTITIONS; p++) delivered = (await nodes[settled[p]!]!.member.deliver(p, 50)) || delivered;
    for (const n of nodes) await n.worker.emitCycle();
    // Pre-filled: minutes pass, so idle time closes the last windows (as the oracle expects) and every offset commits.
    group.tick(options.prefill ? MIN : 500);
    const done = topic.partitions.every((log, p) => group.committed.get(p)?.offset === log.length || (!options.prefill && group.committed.get(p)?.offset === log.length - 1));
    if (!delivered && done) break;
  }
  return { topic, group, influx, commitProblems, truth: truthOf() };
}

describe("MetricsWorker driven by fakes", () => {
  it("emit → flush → publish → commit: windows, anomalies and dead letters are durable before the commit", async () => {
    const ops: Op[] = [];
    for (let i = 0; i < 12; i++) ops.push({ op: "produce", partition: i % PARTITIONS, kinds: [i === 4 ? 0 : i === 7 ? 1 : 5] });
    for (let p = 0; p < PARTITIONS; p++) ops.push({ op: "deliver", node: 0, partition: p, max: 10 });
    ops.push({ op: "emit", node: 0 });
    const { influx, commitProblems, group, truth, topic } = await run(ops, 1);
    expect(commitProblems).toEqual([]);
    expect(influx.violations).toEqual([]);
    // Every partition committed and every final window of an uninterrupted run is in InfluxDB, equal.
    for (let p = 0; p < PARTITIONS; p++) {
      expect(group.committed.get(p)?.offset).toBeGreaterThanOrEqual(topic.partitions[p]!.length - 1);
      for (const [start, w] of truth[p]!.finals) expect(influx.points.get(windowKey(p, start))?.fields).toMatchObject({ final: { value: 1 }, orders: { value: w.orders }, revenue: { value: w.revenueCents / 100 } });
    }
  });

  it("a commit waits for the broker to acknowledge the dead letters below it; a failed send is sent again from the commit", async () => {
    const { topic, group, nodes } = await cluster(1);
    const [{ worker, member, producer }] = nodes as [Node];
    group.rebalance([0, 0, 0]);
    const deadLettered = () => (producer.sent.get(TOPICS.dlqTopic) ?? []).map((m) => Number((m.headers as Record<string, string>)[DLQ_HEADERS.offset]));
    const committed = () => group.committed.get(0)?.offset;

    // An invalid record, then one far in event time that closes every window before it: the commit point passes the invalid one.
    const closing = (minutes: number) => JSON.stringify({ order_id: `end-${minutes}`, amount: 0, event_time: T0 + minutes * MIN });
    producer.holding = TOPICS.dlqTopic;
    topic.append(0, recordValue(0, 0, 0), T0);
    topic.append(0, closing(25), T0 + 30 * MIN);
    await member.deliver(0, 10);
    await worker.emitCycle();
    await worker.emitCycle();
    expect(committed()).toBeUndefined(); // not past offset 0: its dead letter is unacknowledged
    producer.release();
    await worker.emitCycle();
    expect(deadLettered()).toEqual([0]);
    expect(committed()).toBe(1);

    producer.holding = TOPICS.dlqTopic;
    topic.append(0, recordValue(0, 2, 0), T0 + 30 * MIN);
    topic.append(0, closing(50), T0 + 55 * MIN);
    await member.deliver(0, 10);
    producer.release(true); // the broker refuses it: the worker goes back to its commit
    for (let i = 0; i < 3; i++) {
      await worker.emitCycle();
      await member.deliver(0, 10);
    }
    await worker.emitCycle();
    expect(deadLettered()).toEqual([0, 2]);
    expect(committed()).toBe(3);
  });

  it("a worker whose partitions are revoked while it writes stops before the next chunk (no stale partial over a final value)", async () => {
    const { topic, group, influx, nodes } = await cluster(2);
    group.rebalance([0, 0, 0]);
    for (let i = 0; i < 30; i++) topic.append(0, recordValue(0, i, 5), T0 + 30 * MIN);
    const [a, b] = nodes as [Node, Node];
    await a.member.deliver(0, 30);
    // A's InfluxDB is slow: its first flush fails, so its window values stay buffered (final and partial ones).
    a.sink.failures = 1;
    await a.worker.emitCycle();
    expect(a.sink.buffered).toBeGreaterThan(14);
    // More records make more windows final; then the group moves partition 0 to B between A's chunks.
    for (let i = 30; i < 60; i++) topic.append(0, recordValue(0, i, 5), T0 + 30 * MIN);
    a.sink.between = () => group.rebalance([1, 1, 1]);
    await a.worker.emitCycle();
    // B replays from the last commit and finishes every window it can; A must not have written after the rebalance.
    for (let round = 0; round < 20; round++) {
      await b.member.deliver(0, 100);
      await b.worker.emitCycle();
      await a.worker.emitCycle();
    }
    expect(influx.violations).toEqual([]);
    const finals = oracle(topic)[0]!.finals;
    expect(finals.size).toBeGreaterThan(3);
    for (const [start, w] of finals) expect(influx.points.get(windowKey(0, start))?.fields).toMatchObject({ final: { value: 1 }, orders: { value: w.orders } });
  });

  it("a worker expelled during a stall writes nothing once its session has lapsed, though nothing told it yet", async () => {
    const { topic, group, influx, nodes } = await cluster(2);
    group.rebalance([0, 0, 0]);
    const [a, b] = nodes as [Node, Node];
    for (let i = 0; i < 30; i++) topic.append(0, recordValue(0, i, 5), T0 + 30 * MIN);
    await a.member.deliver(0, 30);
    a.sink.failures = 1; // A's values stay buffered, finals and partials alike
    await a.worker.emitCycle();
    expect(a.sink.buffered).toBeGreaterThan(0);
    group.expel(0); // A stalls; the coordinator gives partition 0 to B
    for (let i = 30; i < 60; i++) topic.append(0, recordValue(0, i, 5), T0 + 30 * MIN);
    for (let round = 0; round < 10; round++) {
      await b.member.deliver(0, 100);
      await b.worker.emitCycle();
    }
    await a.worker.emitCycle(); // A wakes up: its timer fires before any heartbeat tells it
    expect(influx.violations).toEqual([]);
    expect(a.sink.buffered).toBeGreaterThan(0);
    await a.member.deliver(0, 1); // its next fetch: it learns, and drops what it held
    expect(a.sink.buffered).toBe(0);
    for (const [start, w] of oracle(topic)[0]!.finals) expect(influx.points.get(windowKey(0, start))?.fields).toMatchObject({ final: { value: 1 }, orders: { value: w.orders } });
  });

  it("after a rebalance, the per-partition gauges name only the partitions the worker still owns", async () => {
    const { topic, group, nodes } = await cluster(2);
    const [a] = nodes as [Node, Node];
    const gauged = async (name: string) => new Set((await a.registry.getSingleMetric(name)!.get()).values.map((v) => v.labels.partition));
    const names = ["orderpulse_lag", "orderpulse_watermark_ms", "orderpulse_remembered_order_ids"];
    group.rebalance([0, 0, 0]);
    for (let p = 0; p < PARTITIONS; p++) {
      for (let i = 0; i < 5; i++) topic.append(p, recordValue(p, i, 5), T0);
      await a.member.deliver(p, 10);
    }
    await a.worker.emitCycle();
    for (const name of names) expect(await gauged(name), name).toEqual(new Set([0, 1, 2]));
    group.rebalance([0, 1, 1]);
    await a.member.deliver(0, 10);
    await a.worker.emitCycle();
    for (const name of names) expect(await gauged(name), name).toEqual(new Set([0]));
  });

  it("a partition that never had a record reports a watermark once quiet, so windows become final in the feed", async () => {
    const { topic, group, nodes, clock } = await cluster(1, { ...WINDOWS, idleTimeoutMs: 30_000 });
    group.rebalance([0, 0, 0]);
    const [a] = nodes as [Node];
    for (let i = 0; i < 5; i++) topic.append(0, recordValue(0, i, 5), T0 + 30 * MIN);
    await a.member.deliver(0, 10);
    const watermarks = () =>
      (a.producer.sent.get(TOPICS.windowValuesTopic) ?? []).map((m) => JSON.parse(String(m.value)) as { type: string; partition: number; watermark: number }).filter((m) => m.type === "watermark");
    await a.worker.emitCycle();
    expect(new Set(watermarks().map((w) => w.partition))).toEqual(new Set([0]));
    group.tick(29_000);
    await a.worker.emitCycle();
    expect(watermarks().some((w) => w.partition !== 0)).toBe(false); // not quiet for IDLE_TIMEOUT yet
    group.tick(2_000);
    await a.worker.emitCycle();
    const empty = watermarks().filter((w) => w.partition !== 0);
    expect(new Set(empty.map((w) => w.partition))).toEqual(new Set([1, 2]));
    for (const w of empty) expect(w.watermark).toBe(clock.ms - WINDOWS.watermarkDelayMs);
  });

  it("a partition whose log end first reads 0 (a stale answer) is not taken for empty: its watermark never jumps to the wall clock", async () => {
    const { topic, group, influx, nodes, clock } = await cluster(1, { ...WINDOWS, idleTimeoutMs: 1_000 });
    const [a] = nodes as [Node];
    for (let i = 0; i < 10; i++) topic.append(1, recordValue(1, i, 5), T0 + 30 * MIN);
    clock.ms = T0 + 30 * MIN; // a backlog: the wall clock is well past the records' event times
    await a.worker.emitCycle(); // the first cycle samples log ends before anything is assigned
    group.rebalance([0, 0, 0]);
    group.staleLogEnds = 3; // the reads made when the three partitions' states are created
    await a.worker.emitCycle();
    group.tick(2_000); // quiet for longer than IDLE_TIMEOUT, and the next periodic refresh is still ahead
    await a.worker.emitCycle();
    for (let round = 0; round < 10 && (await a.member.deliver(1, 4)); round++) await a.worker.emitCycle();
    group.tick(10 * MIN);
    await a.worker.emitCycle();
    await a.worker.emitCycle();
    expect([...influx.points.values()].filter((p) => p.measurement === MEASUREMENTS.anomaly)).toEqual([]);
    for (const [start, w] of oracle(topic, true)[1]!.finals) expect(influx.points.get(windowKey(1, start))?.fields).toMatchObject({ final: { value: 1 }, orders: { value: w.orders } });
  });

  it("a restarted worker takes no idle ticks while it replays, even long after the crash, and closes windows by idleness after an invalid tail", async () => {
    const windows = { ...WINDOWS, idleTimeoutMs: 30_000 };
    const { topic, group, influx, nodes, clock } = await cluster(2, windows);
    const [a, b] = nodes as [Node, Node];
    group.rebalance([0, 0, 0]);
    for (let i = 0; i < 40; i++) topic.append(0, recordValue(0, i, 5), T0 + 30 * MIN);
    await a.member.deliver(0, 20);
    await a.worker.emitCycle(); // commits mid-way: windows still open, orders remembered
    expect(group.committed.get(0)?.offset).toBeGreaterThan(0);
    // A dies; B gets the partition only after more than IDLE_TIMEOUT of wall-clock time.
    group.expel(0);
    clock.ms += 5 * 60_000;
    // B has just sampled log ends (its cycles ran before, with nothing assigned), so its next periodic refresh
    // is PIPELINE_SAMPLE_MS away: only the log end read when the partition's state is created can tell it is behind.
    await b.worker.emitCycle();
    group.rebalance([1, 1, 1]);
    // B's emit cycles run before its first fetch returns, for longer than IDLE_TIMEOUT (a slow broker, a paused consumer).
    await b.worker.emitCycle();
    group.tick(5 * 60_000);
    await b.worker.emitCycle();
    for (let round = 0; round < 40 && (await b.member.deliver(0, 3)); round++) await b.worker.emitCycle();
    await b.worker.emitCycle();
    // Replayed exactly as the uninterrupted run classified them: nothing turned late by idle time.
    expect([...influx.points.values()].filter((p) => p.measurement === MEASUREMENTS.anomaly)).toEqual([]);
    const truth = oracle(topic)[0]!;
    expect(truth.classes.every((c) => c === "on-time")).toBe(true);
    // An invalid record last: once caught up and quiet, idle time closes the last windows anyway.
    topic.append(0, "{not json", T0 + 30 * MIN);
    await b.member.deliver(0, 10);
    await b.worker.emitCycle();
    group.tick(31_000);
    await b.worker.emitCycle();
    group.tick(10 * MIN);
    await b.worker.emitCycle();
    const starts = new Set(truth.starts.filter((s): s is number => s !== undefined));
    for (const start of starts) expect(influx.points.get(windowKey(0, start))?.fields.final, new Date(start).toISOString()).toEqual({ type: "int", value: 1 });
    expect(influx.violations).toEqual([]);
  });

  it("after a dims:load while it was down, a restarted worker re-opens the windows open at the commit with their pinned version; one the lake lacks is logged", async () => {
    const v1 = new CustomerSegments("aaaaaaaaaaaaaaaa", [0, 1, 2, 3, 4].map((n) => [`c-${n}`, "consumer"] as const));
    const v2 = new CustomerSegments("bbbbbbbbbbbbbbbb", [0, 1, 2, 3, 4].map((n) => [`c-${n}`, "loyal"] as const));
    for (const lakeHasV1 of [true, false]) {
      const topic = new FakeTopic(TOPICS.topic, PARTITIONS);
      const clock = new FakeClock(T0);
      const group = new FakeGroup(topic, TOPICS.groups.metrics, clock, 10_000);
      const influx = new FakeInflux();
      let current = v1;
      const lines: string[] = [];
      const log = pino({ level: "error" }, { write: (line: string) => void lines.push(line) });
      const start = async () => {
        const member = group.member();
        const sink = new FakeSink(influx);
        sink.owner = (partition) => member.running && !member.expelled && member.assigned.includes(partition);
        const segmentsAt = (version: string) => Promise.resolve(lakeHasV1 && version === v1.version ? v1 : undefined);
        const worker = new MetricsWorker({ consumer: member, producer: new FakeProducer(), offsets: group, sink, now: clock.now, log, registry: new Registry(), segments: () => current, segmentsAt }, TOPICS, WINDOWS);
        await worker.start({ emitTimer: false });
        return { worker, member };
      };
      const a = await start();
      group.rebalance([0, 0, 0]);
      for (let i = 0; i < 12; i++) topic.append(0, recordValue(0, i, 5), T0 + 30 * MIN);
      await a.member.deliver(0, 12);
      await a.worker.emitCycle(); // windows from T0 + 1m on are open, pinned to v1 in the commit
      const openAtCommit = [...influx.points.values()].filter((p) => p.measurement === MEASUREMENTS.window && p.fields.final?.value === 0).map((p) => Number(p.timestampNs / 1_000_000n));
      expect(openAtCommit.length).toBeGreaterThan(1);
      group.expel(0); // killed; a dims:load runs while no worker is up
      current = v2;
      const b = await start();
      group.rebalance([1, 1, 1]);
      for (let i = 12; i < 24; i++) topic.append(0, recordValue(0, i, 5), T0 + 30 * MIN);
      for (let round = 0; round < 20 && (await b.member.deliver(0, 5)); round++) await b.worker.emitCycle();
      await b.worker.emitCycle();
      const version = (start: number) => influx.points.get(windowKey(0, start))?.fields.dims_version?.value;
      const segments = (start: number) => [...influx.points.values()].filter((p) => p.measurement === MEASUREMENTS.bySegment && p.timestampNs === BigInt(start) * 1_000_000n).map((p) => p.tags.segment);
      for (const start of openAtCommit) {
        expect([start, version(start)]).toEqual([start, lakeHasV1 ? v1.version : v2.version]);
        // Without the pinned version the window would carry both sets: consumer (before the crash) and loyal (after).
        if (lakeHasV1) expect(segments(start)).toEqual(["consumer"]);
      }
      const later = windowStartOf(T0 + 23 * 20_000, MIN);
      expect([version(later), segments(later)]).toEqual([v2.version, ["loyal"]]); // opened after the restart: the current version
      const errors = lines.filter((l) => l.includes("dim_customer version of windows open at the commit is not available"));
      expect(errors.length).toBe(lakeHasV1 ? 0 : 1);
      if (!lakeHasV1) expect(JSON.parse(errors[0]!)).toMatchObject({ partition: 0, version: v1.version, currentVersion: v2.version, topic: "orders" });
    }
  });

  it("a record that arrives after an idle advance no commit records yet (the metrics topic failing) counts once, even after a rebuild from the older commit", async () => {
    const { topic, group, influx, nodes } = await cluster(1, { ...WINDOWS, idleTimeoutMs: 30_000 });
    const [a] = nodes as [Node];
    group.rebalance([0, 0, 0]);
    for (let i = 0; i < 5; i++) topic.append(0, recordValue(0, i, 5), T0 + 30 * MIN);
    await a.member.deliver(0, 10);
    await a.worker.emitCycle(); // committed, before any idle advance
    const committed = group.committed.get(0)?.offset;
    // From now on publishing to the metrics topic fails while InfluxDB and fetching work (the broker restarting).
    a.producer.failures = 1_000;
    group.tick(10 * MIN);
    await a.worker.emitCycle(); // an idle advance makes every window final; InfluxDB has them, the commit never happens
    const eventTime = T0 + 4 * 20_000 + 1_000; // in the last window: late only by that idle advance
    topic.append(0, JSON.stringify({ order_id: "o-after-idle", amount: 7, event_time: eventTime }), T0 + 30 * MIN);
    for (let round = 0; round < 3; round++) {
      await a.member.deliver(0, 10);
      await a.worker.emitCycle();
    }
    expect(group.committed.get(0)?.offset).toBe(committed);
    // The group rebalances (the broker is back): the engine is rebuilt from the older commit, which knows no idle advance.
    a.producer.failures = 0;
    group.rebalance([0, 0, 0]);
    for (let round = 0; round < 10; round++) {
      await a.member.deliver(0, 10);
      await a.worker.emitCycle();
      group.tick(MIN);
    }
    expect(group.committed.get(0)?.offset).toBe(topic.partitions[0]!.length);
    const start = windowStartOf(eventTime, MIN);
    const inWindow = (ns: bigint) => ns >= BigInt(start) * 1_000_000n && ns < BigInt(start + MIN) * 1_000_000n;
    const onTime = influx.points.get(windowKey(0, start))?.fields;
    const late = [...influx.points.values()].filter((p) => p.measurement === MEASUREMENTS.anomaly && p.tags.partition === "0" && inWindow(p.timestampNs));
    const orders = [0, 1, 2, 3, 4].filter((i) => windowStartOf(T0 + i * 20_000, MIN) === start).length + 1;
    expect(onTime?.final?.value).toBe(1);
    expect({ onTime: onTime?.orders?.value, late: late.length, total: Number(onTime?.orders?.value ?? 0) + late.length }).toMatchObject({ total: orders });
    expect(influx.violations).toEqual([]);
  });

  for (const publishFails of [false, true])
    it(`a partition that never had a record follows the wall clock, and its first record, late by that alone, counts once after a rebuild${publishFails ? " (the advance never committed: the metrics topic failing)" : " from the commit that records the advance"}`, async () => {
      const { topic, group, influx, nodes, clock } = await cluster(1, { ...WINDOWS, idleTimeoutMs: 30_000 });
      const [a] = nodes as [Node];
      group.rebalance([0, 0, 0]);
      await a.worker.emitCycle(); // states for the empty partitions
      if (publishFails) a.producer.failures = 1_000;
      // Quiet for 10 min: the periodic log-end read agrees partition 1 is empty, and its clock follows the wall clock.
      for (let round = 0; round < 3; round++) {
        group.tick(5 * MIN);
        await a.worker.emitCycle();
      }
      expect(group.committed.get(1)?.offset).toBe(publishFails ? undefined : 0);
      // An order from before the advance: late only because partition 1's clock followed the wall clock.
      const eventTime = clock.now() - 30 * MIN;
      topic.append(1, JSON.stringify({ order_id: "o-first", amount: 7, event_time: eventTime }), clock.now());
      for (let round = 0; round < 3; round++) {
        await a.member.deliver(1, 10);
        await a.worker.emitCycle();
      }
      // The group rebalances: the engine is rebuilt from the last commit of partition 1, if any.
      a.producer.failures = 0;
      group.rebalance([0, 0, 0]);
      for (let round = 0; round < 10; round++) {
        await a.member.deliver(1, 10);
        await a.worker.emitCycle();
        group.tick(MIN);
      }
      expect(group.committed.get(1)?.offset).toBe(1);
      const start = windowStartOf(eventTime, MIN);
      const onTime = Number(influx.points.get(windowKey(1, start))?.fields.orders?.value ?? 0);
      const late = [...influx.points.values()].filter((p) => p.measurement === MEASUREMENTS.anomaly && p.tags.partition === "1").length;
      expect({ onTime, late }).toEqual(publishFails ? { onTime: 1, late: 0 } : { onTime: 0, late: 1 });
      expect(influx.violations).toEqual([]);
    });

  const endsEqualToUninterruptedRun = async (nodeCount: number, ops: Op[], options: Parameters<typeof run>[2] = {}) => {
    const { influx, commitProblems, truth, topic, group } = await run(ops, nodeCount, options);
    expect(influx.violations).toEqual([]);
    expect(commitProblems).toEqual([]);
    for (let p = 0; p < PARTITIONS; p++) {
      expect(group.committed.get(p)?.offset ?? 0).toBeGreaterThanOrEqual(topic.partitions[p]!.length - 1);
      for (const [start, w] of truth[p]!.finals)
        expect(influx.points.get(windowKey(p, start))?.fields, `partition ${p} window ${new Date(start).toISOString()}`).toMatchObject({
          final: { value: 1 },
          orders: { value: w.orders },
          items: { value: w.items },
          customers: { value: w.customers },
          revenue: { value: w.revenueCents / 100 },
        });
    }
  };
  /** `extra(n)`: ops drawn as often as all of opArb's together (to aim at one kind of interleaving). */
  const opsArb = (extra?: (nodes: number) => fc.Arbitrary<Op>) =>
    fc.integer({ min: 1, max: 2 }).chain((n) => fc.tuple(fc.constant(n), fc.array(extra ? fc.oneof(opArb(n), extra(n)) : opArb(n), { minLength: 10, maxLength: 120 })));

  it("property: revocations, failed commits, writes and publishes at random points never overwrite a final window, never commit before outputs are durable, and end equal to an uninterrupted run", async () => {
    await fc.assert(
      fc.asyncProperty(opsArb(), ([nodeCount, ops]) => endsEqualToUninterruptedRun(nodeCount, ops)),
      {
        numRuns: 300,
        examples: [
          // Two refused dead-letter sends in a row: the second rewind came before the first had re-sought partition 1,
          // which had no state then and was caught up, so it was never fetched again (its commit stayed at 0).
          [[1, [
            { op: "produce", partition: 1, kinds: [1, 0] }, { op: "deliver", node: 0, partition: 1, max: 1 }, { op: "emit", node: 0 },
            { op: "deliver", node: 0, partition: 0, max: 1 }, { op: "tick", ms: 100 }, { op: "expel", node: 0 }, { op: "failPublish", node: 0 },
            { op: "emit", node: 0 }, { op: "rebalance", owners: [0, 0, 0] }, { op: "tick", ms: 100 }, { op: "failPublish", node: 0 },
            { op: "emit", node: 0 }, { op: "produce", partition: 2, kinds: [0] },
          ]]],
        ],
      },
    );
  }, 180_000);

  it("property: with a short IDLE_TIMEOUT, idle ticks landing mid-replay (after crashes, revocations, failed commits) never turn a replayed record late", async () => {
    // What makes an idle tick land mid-replay: a member that just sampled log ends gets a partition behind its
    // log end (rebalance, emit), then more wall-clock time than WATERMARK_DELAY passes before it reads on.
    const replayRaces = (nodes: number) => {
      const node = fc.integer({ min: 0, max: nodes - 1 });
      return fc.oneof(
        fc.record({ op: fc.constant("tick" as const), ms: fc.integer({ min: 1_000, max: 4 * MIN }) }),
        fc.record({ op: fc.constant("rebalance" as const), owners: fc.array(node, { minLength: PARTITIONS, maxLength: PARTITIONS }) }),
        fc.record({ op: fc.constant("emit" as const), node }),
      );
    };
    await fc.assert(
      fc.asyncProperty(opsArb(replayRaces), ([nodeCount, ops]) => endsEqualToUninterruptedRun(nodeCount, ops, { windows: { ...WINDOWS, idleTimeoutMs: 1_000 }, prefill: true })),
      { numRuns: 1000 },
    );
  }, 180_000);
});

