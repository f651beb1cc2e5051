/**
 * What the lake worker must check and clean before it writes a partition again,
 * decided from names alone (pure; the worker does the IO):
 *
 * - Origin guard: offsets only mean something on the cluster and topic that
 *   assigned them. A lake whose markers name another cluster id or topic (a new
 *   broker, a recreated cluster, a different KAFKA_TOPIC) must not be extended:
 *   resuming "from offset N" there would silently skip or duplicate data.
 * - Recovery: a flush that died wrote some of its files but not its marker.
 *   Every such file reaches at or past the marker (a flush starts at the
 *   marker), in whatever event-hour or ingest-day directory it went to, so it is
 *   deleted, and so is any temporary file of the partition at or past the marker
 *   (a write the crash interrupted) and any temporary marker. Temporary files
 *   below the marker belong to a compaction: deleted only once their writer is
 *   gone (a compaction may be running).
 */
import { COMMITS_ROOT, filesPastMarker, isTemporaryPath, parseCommitMarkerPath, parsePartFileName, type CommitMarker, type LakeFile, type OffsetRange } from "./layout.ts";

export interface LakeOrigin {
  clusterId: string;
  topic: string;
}

/** The lake was written from another Kafka cluster or topic than the one configured now. */
export class LakeOriginMismatchError extends Error {
  constructor(
    readonly lakeDir: string,
    readonly expected: LakeOrigin,
    readonly found: LakeOrigin & { partition: number },
  ) {
    const what = [
      found.clusterId !== expected.clusterId ? `Kafka cluster "${found.clusterId}" (this broker is cluster "${expected.clusterId}")` : undefined,
      found.topic !== expected.topic ? `topic "${found.topic}" (KAFKA_TOPIC is "${expected.topic}")` : undefined,
    ].filter(Boolean);
    super(
      `refusing to write to the lake at ${lakeDir}: its commit marker for partition ${found.partition} was written from ${what.join(" and ")}. ` +
        "Offsets from another cluster or topic do not line up with the lake's (a recreated topic restarts at offset 0), so resuming would skip or duplicate data. " +
        "Point LAKE_DIR at a new directory for this cluster, or KAFKA_BROKERS/KAFKA_TOPIC back at the lake's own.",
    );
    this.name = "LakeOriginMismatchError";
  }
}

/** Throws LakeOriginMismatchError unless every marker names the expected cluster and topic. */
export function checkLakeOrigin(lakeDir: string, markers: ReadonlyMap<number, CommitMarker>, expected: LakeOrigin): void {
  for (const [partition, marker] of [...markers].sort(([a], [b]) => a - b)) {
    if (marker.clusterId !== expected.clusterId || marker.topic !== expected.topic)
      throw new LakeOriginMismatchError(lakeDir, expected, { partition, clusterId: marker.clusterId, topic: marker.topic });
  }
}

/** The lake is ahead of Kafka: its marker is past the partition's end, so the topic lost data or was recreated. */
export class LakeAheadOfTopicError extends Error {
  constructor(
    readonly context: { lakeDir: string; topic: string; partition: number; nextOffset: number; logEndOffset: number },
  ) {
    super(
      `refusing to resume ${context.topic}/${context.partition}: the lake at ${context.lakeDir} already holds offsets up to ${context.nextOffset - 1}, ` +
        `but the partition ends at ${context.logEndOffset}. The topic was recreated or truncated; new messages would be mistaken for ones already in the lake. ` +
        "Point LAKE_DIR at a new directory for the new topic.",
    );
    this.name = "LakeAheadOfTopicError";
  }
}

/** The part file a temporary file (`.part-….parquet.<token>.tmp`) was going to become, or undefined. */
export function temporaryPartRange(path: string): OffsetRange | undefined {
  if (!isTemporaryPath(path)) return undefined;
  const base = path.slice(path.lastIndexOf("/") + 1);
  const match = /^\.(part-.*\.parquet)\.[A-Za-z0-9_-]{1,64}\.tmp$/.exec(base);
  return match ? parsePartFileName(match[1]!) : undefined;
}

/** The partition a temporary commit marker or lease (`_commits/.partition=<p>.json|lease.<token>.tmp`) belongs to, or undefined. */
export function temporaryMarkerPartition(path: string): number | undefined {
  if (!isTemporaryPath(path) || !path.startsWith(`${COMMITS_ROOT}/`)) return undefined;
  // A marker's or a lease's (lib/lake/lease.ts) temporary file: both belong to the partition's writer.
  const match = /^\.(partition=\d+)\.(?:json|lease)\.[A-Za-z0-9_-]{1,64}\.tmp$/.exec(path.slice(COMMITS_ROOT.length + 1));
  return match ? parseCommitMarkerPath(`${COMMITS_ROOT}/${match[1]}.json`) : undefined;
}

export interface RecoveryPlan {
  /** Data files of a flush that died before its marker. */
  files: LakeFile[];
  /** Temporary files of such a flush, temporary markers, and temporary files of compactions whose writer is gone. */
  temporaries: string[];
}

/**
 * What to delete before resuming `partition` from `nextOffset` (its marker, or 0
 * without one). `temporaries` are lake-relative paths of temporary files; below
 * the marker they belong to a compaction, and only go when `writerGone` says
 * their writer no longer runs.
 */
export function recoveryPlan(
  partition: number,
  nextOffset: number,
  files: readonly LakeFile[],
  temporaries: readonly string[],
  writerGone: (temporaryPath: string) => boolean,
): RecoveryPlan {
  return {
    files: filesPastMarker(files, partition, nextOffset),
    temporaries: temporaries.filter((path) => {
      const range = temporaryPartRange(path);
      if (range) return range.partition === partition && (range.lastOffset >= nextOffset || writerGone(path));
      return temporaryMarkerPartition(path) === partition;
    }),
  };
}

/** The process id in a temporary name written by writeParquetFile (`<pid>-<random>` token), if any. */
export function temporaryWriterPid(path: string): number | undefined {
  const match = /\.(\d{1,10})-[0-9a-f]+\.tmp$/.exec(path);
  return match ? Number(match[1]) : undefined;
}
