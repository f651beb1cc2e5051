import { describe, expect, it } from "vitest";
import fc from "fast-check";
import pino from "pino";
import { MemoryEncoder, MemoryLake } from "./memory-lake.ts";
import { LakeWriter, LeaseLostError, type FlushReport, type LakeClock } from "./lake-writer.ts";

const ORIGIN = { clusterId: "cluster-1", topic: "orders" };
const T0 = Date.parse("2026-11-20T10:00:00Z");
const TTL = 30_000;
const silent = pino({ level: "silent" });

class ManualClock implements LakeClock {
  sleeps = 0;
  constructor(public ms: number) {}
  now = () => this.ms;
  monotonic = () => this.ms;
  /** Time moves only when the test moves it; a sleeper just yields to the event loop. */
  sleep = async () => {
    this.sleeps++;
    await new Promise((r) => setTimeout(r, 1));
  };
}

function writer(lake: MemoryLake, pid: number, clock: ManualClock, encoder = new MemoryEncoder(lake, pid)) {
  const flushed: FlushReport[] = [];
  const failed: { partition: number; error: Error }[] = [];
  const w = new LakeWriter(
    { origin: ORIGIN, limits: { rows: 1_000_000, bytes: 1e12, ageMs: 1e12 }, maxEventSkewMs: 600_000 },
    encoder,
    silent,
    { onFlushed: (r) => flushed.push(r), onFlushFailed: (partition, error) => failed.push({ partition, error }), onLeaseLost: (partition, error) => failed.push({ partition, error }) },
    lake.store(pid),
    clock,
    TTL,
  );
  return { w, flushed, failed, encoder };
}

const order = (offset: number) => ({
  offset,
  timestamp: T0 + offset,
  value: Buffer.from(JSON.stringify({ order_id: `o-${offset}`, amount: 1, event_time: T0 + offset * 1000 })),
});

describe("LakeWriter driven by an in-memory lake", () => {
  it("at a stop, removes the temporaries of its own partitions left by writers that are gone, and no one else's", async () => {
    const lake = new MemoryLake();
    const clock = new ManualClock(T0);
    const a = writer(lake, 1, clock);
    await a.w.recoverAndOpen([3]);
    // Written after a's recovery swept partition 3: writer 7 died mid-write (a lease renewal, a flush); 8 is alive.
    lake.dead.add(7);
    const left = ["_commits/.partition=3.lease.7-fc3f72ec.tmp", "_commits/.partition=3.json.7-0a1b.tmp", "orders/event_date=2026-11-20/event_hour=10/.part-3-00000000000000000010-00000000000000000019.parquet.7-beef.tmp"];
    const kept = ["_commits/.partition=3.lease.8-aaaa.tmp", "_commits/.partition=3.lease.1-bbbb.tmp", "_commits/.partition=4.lease.7-cccc.tmp"];
    for (const path of [...left, ...kept]) lake.temporaries.add(path);
    expect((await a.w.sweepDeadTemporaries()).sort()).toEqual([...left].sort());
    expect([...lake.temporaries].sort()).toEqual([...kept].sort());
  });

  it("flush writes the files, then the marker; a second writer resumes at the marker", async () => {
    const lake = new MemoryLake();
    const clock = new ManualClock(T0);
    const a = writer(lake, 1, clock);
    expect(await a.w.recoverAndOpen([0])).toEqual(new Map([[0, 0]]));
    for (let o = 0; o < 10; o++) a.w.append(0, order(o), T0);
    const report = await a.w.flush(0, "rows");
    expect(report).toMatchObject({ fromOffset: 0, nextOffset: 10, orders: 10 });
    expect(lake.markers.get(0)).toEqual({ nextOffset: 10, ...ORIGIN });
    expect(lake.coverage(0)).toEqual({ missing: [], twice: [] });
    await a.w.closeAll();
    expect(lake.leases.has(0)).toBe(false);
    const b = writer(lake, 2, clock);
    expect(await b.w.recoverAndOpen([0])).toEqual(new Map([[0, 10]]));
  });

  it("a new owner waits for a live flush instead of deleting the file it just renamed into place (rows were lost before the fence)", async () => {
    const lake = new MemoryLake();
    const clock = new ManualClock(T0);
    const a = writer(lake, 1, clock);
    await a.w.recoverAndOpen([0]);
    for (let o = 0; o < 10; o++) a.w.append(0, order(o), T0);
    let release!: () => void;
    a.encoder.gate = new Promise((r) => (release = r));
    const flushing = a.w.flush(0, "rows");
    // A rebalance hands partition 0 to B while A encodes.
    const b = writer(lake, 2, clock);
    let bOpened = false;
    const opening = b.w.recoverAndOpen([0]).then((next) => ((bOpened = true), next));
    await new Promise((r) => setTimeout(r, 20));
    expect(bOpened).toBe(false);
    release();
    await flushing;
    await a.w.closeAll(); // A sees the revocation and lets go
    expect(await opening).toEqual(new Map([[0, 10]]));
    expect(lake.coverage(0)).toEqual({ missing: [], twice: [] });
    expect(a.failed).toEqual([]);
  });

  it("a writer whose lease lapsed (a stall) does not write its marker; the new owner recovers and nothing is lost", async () => {
    const lake = new MemoryLake();
    const clock = new ManualClock(T0);
    const a = writer(lake, 1, clock);
    await a.w.recoverAndOpen([0]);
    for (let o = 0; o < 5; o++) a.w.append(0, order(o), T0);
    await a.w.flush(0, "rows");
    for (let o = 5; o < 10; o++) a.w.append(0, order(o), T0);
    let release!: () => void;
    a.encoder.gate = new Promise((r) => (release = r));
    const flushing = a.w.flush(0, "rows");
    await new Promise((r) => setTimeout(r, 5));
    clock.ms += TTL + 1; // A stalls past its lease; B takes the partition and recovers it
    const b = writer(lake, 2, clock);
    expect(await b.w.recoverAndOpen([0])).toEqual(new Map([[0, 5]]));
    release();
    expect(await flushing).toBeUndefined();
    expect(a.failed.map((f) => f.error)).toEqual([expect.any(LeaseLostError)]);
    expect(lake.markers.get(0)?.nextOffset).toBe(5);
    // B reads offsets 5.. again from Kafka and writes them.
    for (let o = 5; o < 10; o++) b.w.append(0, order(o), T0);
    await b.w.flush(0, "rows");
    expect(lake.markers.get(0)?.nextOffset).toBe(10);
    expect(lake.coverage(0)).toEqual({ missing: [], twice: [] });
  });

  it("a dead writer's lease does not hold recovery up", async () => {
    const lake = new MemoryLake();
    const clock = new ManualClock(T0);
    const a = writer(lake, 1, clock);
    await a.w.recoverAndOpen([0]);
    lake.dead.add(1); // kill -9
    await writer(lake, 2, clock).w.recoverAndOpen([0]);
    expect(clock.sleeps).toBe(0); // it never waited
    expect(lake.leases.get(0)?.pid).toBe(2);
  });

  it("property: two writers, random rebalances, stalls, kills and slow encodes: every committed offset is in exactly one live file", async () => {
    type Op = { op: "append"; n: number } | { op: "flush" } | { op: "move" } | { op: "stall" } | { op: "renew" } | { op: "kill" };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant("append" as const), n: fc.integer({ min: 1, max: 5 }) }),
      fc.constant({ op: "flush" as const }),
      fc.constant({ op: "move" as const }),
      fc.constant({ op: "stall" as const }),
      fc.constant({ op: "renew" as const }),
      fc.constant({ op: "kill" as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), async (ops) => {
        const lake = new MemoryLake();
        const clock = new ManualClock(T0);
        let pid = 1;
        let owner = writer(lake, pid, clock);
        let produced = 0; // offsets the topic holds
        await owner.w.recoverAndOpen([0]);
        const running: Promise<unknown>[] = [];
        const catchUp = () => {
          if (!owner.w.isOpen(0)) return;
          for (let o = owner.w.nextOffset(0); o < produced; o++) owner.w.append(0, order(o), T0);
        };
        for (const op of ops) {
          if (op.op === "append") {
            produced += op.n;
            catchUp();
          } else if (op.op === "flush") {
            let release!: () => void;
            owner.encoder.gate = new Promise((r) => (release = r));
            running.push(owner.w.flush(0, "rows"));
            setTimeout(() => release(), 1);
          } else if (op.op === "move" || op.op === "kill" || op.op === "stall") {
            const old = owner;
            if (op.op === "kill") lake.dead.add(pid);
            // A stall past the lease between two flush steps (one inside a single file write is the residual risk
            // ARCHITECTURE.md names: the lease TTL must exceed any one file write).
            if (op.op === "stall") {
              await Promise.allSettled(running);
              clock.ms += TTL + 1;
            }
            if (op.op === "move") running.push(old.w.closeAll());
            owner = writer(lake, ++pid, clock);
            const next = await owner.w.recoverAndOpen([0]);
            expect(next.get(0)).toBe(lake.markers.get(0)?.nextOffset ?? 0);
            catchUp();
          } else {
            await owner.w.renewLeases();
            if (!owner.w.isOpen(0)) {
              await owner.w.recoverAndOpen([0]);
              catchUp();
            }
          }
        }
        await Promise.allSettled(running);
        expect(lake.coverage(0)).toEqual({ missing: [], twice: [] });
      }),
      { numRuns: 200 },
    );
  }, 180_000);
});
