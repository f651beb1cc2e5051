/**
 * The lake writer's filesystem, as an interface so unit tests can drive the
 * writer with an in-memory lake (lake-writer.test.ts), and its disk
 * implementation: the layout's directory walk, durable deletes, commit markers
 * and partition leases, each replaced atomically (workers/shared/atomic-file.ts).
 */
import { hostname } from "node:os";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { CommitMarker } from "../../lib/lake/layout.ts";
import { leasePath, parseLease, serializeLease, type PartitionLease } from "../../lib/lake/lease.ts";
import { temporaryWriterPid } from "../../lib/lake/recovery.ts";
import { replaceFiles } from "../shared/atomic-file.ts";
import { isProcessAlive, listLakeFiles, listTemporaryFiles, removeDurably, type LakeListing } from "../shared/lake-files.ts";
import { readMarker, writeMarker } from "./markers.ts";

export interface LakeStore {
  /** Absolute. */
  readonly lakeDir: string;
  /** This process, as lease holders name it. */
  readonly host: string;
  readonly pid: number;
  /** Creates the lake directory if missing. */
  prepare(): Promise<void>;
  list(): Promise<LakeListing>;
  /** Lake-relative paths of temporary files in the layout's directories. */
  temporaries(): Promise<string[]>;
  /** Deletes lake-relative paths durably; returns how many existed. */
  remove(paths: readonly string[]): Promise<number>;
  readMarker(partition: number): Promise<CommitMarker | undefined>;
  /** Replaces the marker atomically and durably. */
  writeMarker(partition: number, marker: CommitMarker): Promise<void>;
  readLease(partition: number): Promise<PartitionLease | undefined>;
  writeLease(partition: number, lease: PartitionLease): Promise<void>;
  removeLease(partition: number): Promise<void>;
  /** Whether the process named by a lease, or by a compaction's temporary file, is gone (same host only; elsewhere: unknown, so no). */
  holderGone(holder: { host: string; pid: number }): boolean;
  /** Whether the writer of a compaction's temporary file is gone; never this process's own. */
  compactionWriterGone(temporaryPath: string): boolean;
}

/** The lake on local (or shared) disk at `lakeDir`. */
export function diskLakeStore(lakeDir: string): LakeStore {
  const root = resolve(lakeDir);
  const host = hostname();
  const holderGone = (holder: { host: string; pid: number }) => holder.host === host && holder.pid !== process.pid && !isProcessAlive(holder.pid);
  return {
    lakeDir: root,
    host,
    pid: process.pid,
    prepare: async () => {
      await mkdir(root, { recursive: true });
    },
    list: () => listLakeFiles(root),
    temporaries: () => listTemporaryFiles(root),
    remove: (paths) => removeDurably(root, paths),
    readMarker: (partition) => readMarker(root, partition),
    writeMarker: (partition, marker) => writeMarker(root, partition, marker),
    readLease: async (partition) => {
      try {
        return parseLease(await readFile(resolve(root, leasePath(partition)), "utf8"));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw error;
      }
    },
    writeLease: async (partition, lease) => {
      const path = resolve(root, leasePath(partition));
      await replaceFiles(async (staged) => writeFile(await staged.stage(path), serializeLease(lease)));
    },
    removeLease: async (partition) => {
      await removeDurably(root, [leasePath(partition)]);
    },
    holderGone,
    compactionWriterGone: (path) => {
      // This process's own compaction may be running; a writer on another host looks gone and its rename then fails, which that compaction survives.
      const pid = temporaryWriterPid(path);
      return pid !== undefined && pid !== process.pid && !isProcessAlive(pid);
    },
  };
}
