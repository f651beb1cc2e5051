/**
 * A lake in memory (files, commit markers, leases) and an encoder that "writes"
 * into it, for unit tests that drive LakeWriter (lake-writer.test.ts) and
 * LakeWorker (lake-worker.test.ts) without a disk. Several writers share one
 * MemoryLake, one `pid` each; a pid in `dead` writes nothing more, as a killed
 * process would.
 */
import { relative } from "node:path";
import { parseLakeFilePath, type CommitMarker } from "../../lib/lake/layout.ts";
import type { PartitionLease } from "../../lib/lake/lease.ts";
import type { LakeListing } from "../shared/lake-files.ts";
import type { EncodeJob } from "./encode-job.ts";
import type { ParquetEncoder } from "./encoder.ts";
import type { LakeStore } from "./lake-store.ts";

/** The lake directory every MemoryLake store names. */
export const MEMORY_LAKE_DIR = "/lake";
const ROOT = MEMORY_LAKE_DIR;

/** A lake in memory: files (lake-relative path → offsets it holds), markers and leases; one process per `pid`. */
export class MemoryLake {
  readonly files = new Map<string, number[]>();
  readonly markers = new Map<number, CommitMarker>();
  readonly leases = new Map<number, PartitionLease>();
  /** Lake-relative temporary files, as writers that died mid-write leave them. */
  readonly temporaries = new Set<string>();
  readonly dead = new Set<number>();
  /**
   * Paths a write found already there. Recovery deletes what a dead flush left past the marker, and a live
   * previous owner's flushes settle before it lets the lease go, so a rewrite of the same range never finds
   * the old file (a rename over it would hide a left-over file of that exact range).
   */
  readonly overwritten: string[] = [];

  store(pid: number): LakeStore {
    // A killed process writes nothing more (its code keeps running in this test's one process).
    const alive = () => {
      if (this.dead.has(pid)) throw new Error(`process ${pid} is dead`);
    };
    return {
      lakeDir: ROOT,
      host: "test-host",
      pid,
      prepare: async () => {},
      list: async (): Promise<LakeListing> => ({ files: [...this.files.keys()].map((p) => parseLakeFilePath(p)!).filter(Boolean), markers: new Map(this.markers) }),
      temporaries: async () => [...this.temporaries].sort(),
      remove: async (paths) => (alive(), paths.filter((p) => this.files.delete(p) || this.temporaries.delete(p)).length),
      readMarker: async (partition) => this.markers.get(partition),
      writeMarker: async (partition, marker) => (alive(), void this.markers.set(partition, marker)),
      readLease: async (partition) => this.leases.get(partition),
      writeLease: async (partition, lease) => (alive(), void this.leases.set(partition, lease)),
      removeLease: async (partition) => (alive(), void this.leases.delete(partition)),
      holderGone: (holder) => this.dead.has(holder.pid),
      compactionWriterGone: (path) => {
        const writer = Number(/\.(\d+)-[0-9a-f]+\.tmp$/.exec(path)?.[1]);
        return writer !== pid && this.dead.has(writer);
      },
    };
  }

  /** Offsets of `partition` below its marker that no file holds, and offsets held twice. */
  coverage(partition: number): { missing: number[]; twice: number[] } {
    const next = this.markers.get(partition)?.nextOffset ?? 0;
    const seen = new Map<number, number>();
    for (const [path, offsets] of this.files) {
      const file = parseLakeFilePath(path)!;
      if (file.partition !== partition || file.lastOffset >= next) continue;
      for (const o of offsets) seen.set(o, (seen.get(o) ?? 0) + 1);
    }
    const missing: number[] = [];
    for (let o = 0; o < next; o++) if (!seen.has(o)) missing.push(o);
    return { missing, twice: [...seen].filter(([, n]) => n > 1).map(([o]) => o) };
  }
}

/**
 * An encoder that "writes" each file into the MemoryLake, optionally waiting for `gate` first
 * (a slow encode) or for `gateAfter` once the file is there (a slow fsync: the file is on disk,
 * its marker not yet written).
 */
export class MemoryEncoder implements ParquetEncoder {
  gate: Promise<void> | undefined;
  gateAfter: Promise<void> | undefined;
  constructor(
    private readonly lake: MemoryLake,
    private readonly pid: number,
  ) {}

  async write(job: EncodeJob) {
    await this.gate;
    if (this.lake.dead.has(this.pid)) throw new Error(`process ${this.pid} is dead`);
    const offsets = (job.rows as { kafka_offset: number }[]).map((r) => r.kafka_offset);
    const path = relative(ROOT, job.path);
    if (this.lake.files.has(path)) this.lake.overwritten.push(path);
    this.lake.files.set(path, offsets);
    await this.gateAfter;
    if (this.lake.dead.has(this.pid)) throw new Error(`process ${this.pid} is dead`);
    return { rows: job.rows.length, writeMs: 0, handoffMs: 0 };
  }

  async close(): Promise<void> {}
}

