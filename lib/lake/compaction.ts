/**
 * Which files a compaction merges, and which leftovers it deletes. Pure: the
 * compactor lists and stats the lake, asks this, and does the IO.
 *
 * Safety rests on three rules, each enforced here:
 * 1. Only committed files (below their partition's marker) take part: a file
 *    past the marker may belong to a flush in progress, or to one that died
 *    and will be deleted.
 * 2. A merge takes a run of files that are consecutive among the live files
 *    of one (directory, partition), and its output is named by the run's first
 *    and last offset. Readers pick files by name (a covering file supersedes
 *    what it covers), so skipping a file in the middle of a run would hide its
 *    rows forever; consecutive runs cannot. Every live file inside the output's
 *    range is therefore one of its inputs.
 * 3. Inputs are deleted only after the output is durable, and a superseded file
 *    (covered by a committed live file: a merge's inputs) is simply deleted.
 *    So a compaction killed at any instant leaves either its inputs (nothing
 *    happened) or its output plus some inputs (readers see the output; the next
 *    run deletes the rest), never a state a reader sees twice. The compactor
 *    deletes a superseded file only some time after it was superseded
 *    (`coveredSince`), so a query still reading an older snapshot of the lake
 *    does not lose its files under it.
 *
 * Merges are bounded without a lock: a merge takes the live files of one
 * (directory, partition) whose first offset falls in one offset bucket
 * [k·B, (k+1)·B), B = offsetsPerFile. Files are disjoint and sorted, so those
 * files are consecutive among the live files (rule 2 holds), and the lowest of
 * them never changes (new files only come at higher offsets, and an output
 * starts where its lowest input did). So two compactors running at once, with
 * different views of the lake, write outputs that nest: the larger one
 * supersedes the smaller, and readers never see a row twice. (Cutting runs by
 * size instead would let two views cut at different files and overlap.)
 */
import { committedFiles, partFileName, selectLiveFiles, type LakeFile, type OffsetRange } from "./layout.ts";

/** A data file with what the planner needs to know about it on disk. */
export interface SizedLakeFile extends LakeFile {
  bytes: number;
  mtimeMs: number;
}

export interface CompactionOptions {
  now: number;
  /** Leave a (directory, partition) alone while any of its files is younger than this: it is still being written. */
  quietMs: number;
  /** Offset bucket size B: a merge holds at most the rows of B offsets (plus its last input's tail), all in memory. */
  offsetsPerFile: number;
  /** Merge at least this many files (default 2). */
  minFiles?: number;
  /** Only these partitions (default all). */
  partitions?: ReadonlySet<number>;
}

export interface CompactionMerge {
  kind: LakeFile["kind"];
  dir: string;
  partition: number;
  /** Consecutive live files, by offset. */
  inputs: SizedLakeFile[];
  /** Lake-relative path of the merged file. */
  output: string;
  range: OffsetRange;
}

export interface CompactionPlan {
  merges: CompactionMerge[];
  /** Committed files covered by a committed live file (a merge's leftover inputs): readers skip them, so they may go. */
  superseded: (SizedLakeFile & { /** Modification time of the file covering it: since when readers skip it. */ coveredSince: number })[];
  /** Groups left alone because their live files overlap without one covering the other (never written by orderpulse). */
  anomalies: { dir: string; partition: number; files: string[] }[];
}

/** Consecutive files grouped by the offset bucket of their first offset. */
function bucketsOf(files: SizedLakeFile[], offsetsPerFile: number): SizedLakeFile[][] {
  const buckets = new Map<number, SizedLakeFile[]>();
  for (const file of files) {
    const bucket = Math.floor(file.firstOffset / offsetsPerFile);
    const run = buckets.get(bucket);
    if (run) run.push(file);
    else buckets.set(bucket, [file]);
  }
  return [...buckets.values()];
}

export function planCompaction(
  files: readonly SizedLakeFile[],
  nextOffsetByPartition: ReadonlyMap<number, number>,
  options: CompactionOptions,
): CompactionPlan {
  const minFiles = Math.max(2, options.minFiles ?? 2);
  const groups = new Map<string, SizedLakeFile[]>();
  const newest = new Map<string, number>();
  for (const file of files) {
    if (options.partitions && !options.partitions.has(file.partition)) continue;
    const key = `${file.dir}\u0000${file.partition}`;
    // Any file counts for quietness, committed or not: a file past the marker means a flush is writing here.
    newest.set(key, Math.max(newest.get(key) ?? -Infinity, file.mtimeMs));
    const group = groups.get(key);
    if (group) group.push(file);
    else groups.set(key, [file]);
  }

  const plan: CompactionPlan = { merges: [], superseded: [], anomalies: [] };
  for (const [key, group] of groups) {
    const committed = committedFiles(group, nextOffsetByPartition);
    if (committed.length === 0) continue;
    const live = selectLiveFiles(committed).sort((a, b) => a.firstOffset - b.firstOffset);
    const livePaths = new Set(live.map((f) => f.path));
    for (const file of committed) {
      if (livePaths.has(file.path)) continue;
      const cover = live.find((l) => l.firstOffset <= file.firstOffset && file.lastOffset <= l.lastOffset)!;
      plan.superseded.push({ ...file, coveredSince: cover.mtimeMs });
    }

    const overlapping = live.some((file, i) => i > 0 && file.firstOffset <= live[i - 1]!.lastOffset);
    const { dir, partition, kind } = live[0]!;
    if (overlapping) {
      plan.anomalies.push({ dir, partition, files: live.map((f) => f.path) });
      continue;
    }
    if (options.now - newest.get(key)! < options.quietMs) continue;
    for (const run of bucketsOf(live, options.offsetsPerFile)) {
      if (run.length < minFiles) continue;
      const range = { partition, firstOffset: run[0]!.firstOffset, lastOffset: run.at(-1)!.lastOffset };
      plan.merges.push({ kind, dir, partition, inputs: run, output: `${dir}/${partFileName(range)}`, range });
    }
  }
  const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  plan.merges.sort((a, b) => (a.output < b.output ? -1 : a.output > b.output ? 1 : 0));
  plan.superseded.sort(byPath);
  return plan;
}

