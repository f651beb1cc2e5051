import { describe, expect, it } from "vitest";
import fc from "fast-check";
import pino from "pino";
import { Registry } from "prom-client";
import { kafkaEnvSchema, lakeEnvSchema } from "../../lib/contract/config.ts";
import { parseLakeFilePath } from "../../lib/lake/layout.ts";
import { FakeClock, FakeGroup, FakeTopic, type FakeMember } from "../shared/fake-group.ts";
import { LakeWorker } from "../lake.ts";
import { MEMORY_LAKE_DIR, MemoryEncoder, MemoryLake } from "./memory-lake.ts";
import { createLakeMetrics } from "./prometheus.ts";

const T0 = Date.parse("2026-11-20T10:00:00Z");
const PARTITIONS = 4;
const WORKERS = 3;
const silent = pino({ level: "silent" });
const kafka = kafkaEnvSchema.parse({ KAFKA_BROKERS: "fake:9092", KAFKA_TOPIC: "orders" });
// Files of 4 rows, none by age or size: the test decides when rows arrive, the row limit when files close.
const lake = lakeEnvSchema.parse({ LAKE_DIR: MEMORY_LAKE_DIR, LAKE_ROTATE_ROWS: "4", LAKE_ROTATE_AGE: "1h" });

interface Node {
  pid: number;
  encoder: MemoryEncoder;
  /** Releases the encoder's gate set by a "stall" step. */
  release?: () => void;
  worker: LakeWorker;
  member: FakeMember;
  registry: Registry;
  fatal: Error[];
}

/** Record i of a partition: an order, or (every seventh) a message that is not one, for orders_invalid. */
const recordValue = (partition: number, i: number) =>
  i % 7 === 3 ? "{not json" : JSON.stringify({ order_id: `o-${partition}-${i}`, customer_id: `c-${i % 5}`, amount: 1 + i, event_time: T0 + i * 1_000 });

/** A topic, the lake's consumer group, one MemoryLake and WORKERS lake workers (pids 1..WORKERS) driven by hand. */
async function cluster() {
  const topic = new FakeTopic(kafka.topic, PARTITIONS);
  const clock = new FakeClock(T0);
  const group = new FakeGroup(topic, kafka.groups.lake, clock, 30_000);
  const memory = new MemoryLake();
  const nodes: Node[] = [];
  for (let pid = 1; pid <= WORKERS; pid++) {
    const member = group.member();
    const registry = new Registry();
    const fatal: Error[] = [];
    const encoder = new MemoryEncoder(memory, pid);
    const io = { consumer: member, offsets: group, encoder, store: memory.store(pid) };
    const worker = new LakeWorker(io, { kafka, lake, maxEventSkewMs: 600_000, clusterId: "fake-cluster" }, silent, createLakeMetrics(registry), (error) => fatal.push(error));
    await worker.start();
    nodes.push({ pid, encoder, worker, member, registry, fatal });
  }
  const append = (partition: number, count: number) => {
    for (let n = 0; n < count; n++) {
      const i = topic.partitions[partition]!.length;
      topic.append(partition, recordValue(partition, i), T0 + i * 1_000);
    }
  };
  return { topic, group, memory, nodes, append };
}

/** Lets recoveries, flushes and commits that are running settle (they chain on promises and the encoder's awaits). */
const settle = () => new Promise((r) => setTimeout(r, 5));

type Step =
  | { kind: "append"; partition: number; count: number }
  | { kind: "deliver"; node: number; partition: number; max: number }
  | { kind: "rebalance"; owners: number[] }
  | { kind: "kill"; node: number }
  | { kind: "reset"; partition: number }
  | { kind: "stall"; node: number; afterWrite: boolean }
  | { kind: "release"; node: number }
  | { kind: "revokeAll" };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("append" as const), partition: fc.nat(PARTITIONS - 1), count: fc.integer({ min: 1, max: 9 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("deliver" as const), node: fc.nat(WORKERS - 1), partition: fc.nat(PARTITIONS - 1), max: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("rebalance" as const), owners: fc.array(fc.nat(WORKERS - 1), { minLength: PARTITIONS, maxLength: PARTITIONS }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("kill" as const), node: fc.nat(WORKERS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reset" as const), partition: fc.nat(PARTITIONS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("stall" as const), node: fc.nat(WORKERS - 1), afterWrite: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("release" as const), node: fc.nat(WORKERS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("revokeAll" as const) }) },
);

describe("LakeWorker driven by a fake consumer group and an in-memory lake", () => {
  it("lands every offset exactly once, in orders/ or orders_invalid/, through rebalances, stalled flushes and killed workers", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const { topic, group, memory, nodes, append } = await cluster();
        const killed = new Set<number>();
        const unstall = (i: number) => {
          const node = nodes[i]!;
          node.encoder.gate = node.encoder.gateAfter = undefined;
          node.release?.();
          node.release = undefined;
        };
        const alive = () => nodes.map((_, i) => i).filter((i) => !killed.has(i));
        /** A rebalance over the living workers: `owners` names workers by index, a killed one's partitions go to the next living one. */
        const rebalance = (owners: number[]) => {
          const living = alive();
          group.rebalance(owners.map((o) => (killed.has(o) ? living[o % living.length]! : o)));
        };
        try {
          rebalance(Array.from({ length: PARTITIONS }, (_, p) => p % WORKERS));
          for (const s of steps) {
            if (s.kind === "append") append(s.partition, s.count);
            else if (s.kind === "deliver" && !killed.has(s.node)) await nodes[s.node]!.member.deliver(s.partition, s.max);
            else if (s.kind === "rebalance") rebalance(s.owners);
            else if (s.kind === "kill" && !killed.has(s.node) && alive().length > 1) {
              // kill -9: the process writes nothing more and sends no heartbeat; the group deals its partitions out again.
              killed.add(s.node);
              memory.dead.add(nodes[s.node]!.pid);
              group.expel(s.node);
            } else if (s.kind === "reset") {
              // The group's committed offset moves past the lake's marker (an operator's `--reset-offsets --to-latest`,
              // or a lake restored from an older backup): the lake's marker, not Kafka's commit, says where to read from.
              group.committed.set(s.partition, { offset: topic.partitions[s.partition]!.length, metadata: "" });
            } else if (s.kind === "stall" && !nodes[s.node]!.release) {
              // The node's flushes hang before the file is written, or after it is written and before its marker: a kill
              // or a rebalance meanwhile leaves a file past the marker, which the next owner's recovery must delete.
              const node = nodes[s.node]!;
              const gate = new Promise<void>((r) => (node.release = r));
              if (s.afterWrite) node.encoder.gateAfter = gate;
              else node.encoder.gate = gate;
            } else if (s.kind === "release") unstall(s.node);
            else if (s.kind === "revokeAll") {
              // A rebalance has begun (or a consumer restarts): every member loses its partitions; the join comes later.
              for (const member of group.members) member.revoke();
            }
            await settle();
          }
          // The end: stalled flushes finish (or fail, for the killed), then the first living worker takes every
          // partition and reads the topic to its end, then stops (flushing).
          for (let i = 0; i < WORKERS; i++) unstall(i);
          await settle();
          const last = alive()[0]!;
          rebalance(Array.from({ length: PARTITIONS }, () => last));
          await settle();
          for (let delivered = true; delivered; ) {
            delivered = false;
            for (let p = 0; p < PARTITIONS; p++) if (await nodes[last]!.member.deliver(p, 5)) delivered = true;
            await settle();
          }
          for (const i of alive()) if (i !== last) await nodes[i]!.worker.stop();
          await nodes[last]!.worker.stop();

          for (let p = 0; p < PARTITIONS; p++) {
            const end = topic.partitions[p]!.length;
            expect(memory.markers.get(p)?.nextOffset ?? 0, `partition ${p}: marker at the log end`).toBe(end);
            expect(memory.coverage(p), `partition ${p}: offsets below the marker held by no file, or by two`).toEqual({ missing: [], twice: [] });
            // Orders and the messages that are not orders each in their own table.
            for (const [path, offsets] of memory.files) {
              const file = parseLakeFilePath(path)!;
              if (file.partition !== p) continue;
              const invalid = offsets.filter((o) => recordValue(p, o) === "{not json");
              expect(invalid.length === 0 || invalid.length === offsets.length, `${path} mixes orders and invalid messages`).toBe(true);
              expect(path.startsWith(invalid.length > 0 ? "orders_invalid/" : "orders/"), path).toBe(true);
            }
          }
          expect(memory.overwritten, "files written over a left-over file instead of after its deletion").toEqual([]);
          for (const i of alive()) expect(nodes[i]!.fatal, `worker ${i}`).toEqual([]);
        } finally {
          for (let i = 0; i < WORKERS; i++) unstall(i);
          for (const i of killed) await nodes[i]!.worker.halt();
          for (const i of alive()) await nodes[i]!.worker.halt();
        }
      }),
      {
        numRuns: 100,
        // Always tried: a flush whose file is written but whose marker is not when its worker is killed; the next
        // owner's recovery must delete that file before writing the same range again.
        examples: [
          [
            [
              { kind: "append", partition: 0, count: 9 },
              { kind: "stall", node: 0, afterWrite: true },
              { kind: "deliver", node: 0, partition: 0, max: 6 },
              { kind: "kill", node: 0 },
              { kind: "deliver", node: 1, partition: 0, max: 6 },
              { kind: "deliver", node: 2, partition: 0, max: 6 },
            ],
          ],
        ],
      },
    );
  }, 120_000);

  it("still flushes its buffers when a rebalance starts during its graceful stop", async () => {
    const { nodes, group, memory, append } = await cluster();
    try {
      append(0, 3); // below LAKE_ROTATE_ROWS: buffered, no file yet
      group.rebalance([0, 1, 1, 2]);
      await settle();
      await nodes[0]!.member.deliver(0, 3);
      expect(memory.markers.get(0)).toBeUndefined();
      const stopped = nodes[0]!.worker.stop();
      nodes[0]!.member.revoke(); // another member joins or leaves meanwhile
      await stopped;
      expect(memory.markers.get(0)?.nextOffset).toBe(3);
      expect(memory.coverage(0)).toEqual({ missing: [], twice: [] });
      expect(nodes[0]!.member.stopBegun).toBe(true);
    } finally {
      for (const node of nodes) await node.worker.halt();
    }
  });

  it("reports lag only for the partitions it owns after a rebalance", async () => {
    const { nodes, group, append } = await cluster();
    try {
      for (let p = 0; p < PARTITIONS; p++) append(p, 6);
      group.rebalance([0, 0, 0, 0]);
      await settle();
      for (let p = 0; p < PARTITIONS; p++) await nodes[0]!.member.deliver(p, 2);
      group.rebalance([0, 1, 1, 2]);
      // A batch fetched before the recovery's seek to the marker is stale (dropped); the next one counts.
      for (let round = 0; round < 2; round++) {
        await settle();
        for (const node of nodes) for (let p = 0; p < PARTITIONS; p++) await node.member.deliver(p, 2);
      }
      const lagged = async (node: Node) => ((await node.registry.getSingleMetric("orderpulse_lake_lag")?.get())?.values ?? []).map((v) => Number(v.labels.partition)).sort();
      expect(await lagged(nodes[0]!)).toEqual([0]);
      expect(await lagged(nodes[1]!)).toEqual([1, 2]);
      expect(await lagged(nodes[2]!)).toEqual([3]);
    } finally {
      for (const node of nodes) await node.worker.halt();
    }
  });
});
