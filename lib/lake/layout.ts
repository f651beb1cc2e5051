/**
 * Names in the lake: where a file goes, what its name says, and which files a
 * reader should see. Pure: no IO, so the lake writer, the compactor and the
 * query layer all agree by construction.
 *
 * Layout, relative to LAKE_DIR (always `/`-separated here):
 *   orders/event_date=YYYY-MM-DD/event_hour=HH/part-<partition>-<first>-<last>.parquet
 *   orders_invalid/ingest_date=YYYY-MM-DD/part-<partition>-<first>-<last>.parquet
 *   _commits/partition=<partition>.json     {"nextOffset":…,"clusterId":…,"topic":…}
 *
 * Offsets are zero-padded to OFFSET_DIGITS (20) digits, enough for any int64
 * Kafka offset, so names in a directory sort by offset. The partition is not
 * padded. A name is canonical: one range has exactly one name, so two files in
 * a directory never claim the same range.
 */
import { z } from "zod";

export const OFFSET_DIGITS = 20;
export const ORDERS_ROOT = "orders";
export const INVALID_ROOT = "orders_invalid";
export const COMMITS_ROOT = "_commits";

export class LakeLayoutError extends Error {
  constructor(
    message: string,
    readonly context: { path?: string; partition?: number; offset?: number } = {},
  ) {
    super(message);
    this.name = "LakeLayoutError";
  }
}

/** The Kafka offsets one file holds, both ends inclusive. */
export interface OffsetRange {
  partition: number;
  firstOffset: number;
  lastOffset: number;
}

export type LakeFileKind = "orders" | "invalid";

/** A data file of the lake, as named on disk. */
export interface LakeFile extends OffsetRange {
  kind: LakeFileKind;
  /** Relative to LAKE_DIR, e.g. `orders/event_date=2026-11-20/event_hour=10/part-0-…-….parquet`. */
  path: string;
  /** The directory part of `path`: the unit compaction works in. */
  dir: string;
}

/** What selectLiveFiles needs of a file: any richer object passes through untouched. */
export type RangedFile = Pick<LakeFile, "path" | "dir" | "partition" | "firstOffset" | "lastOffset">;

const MAX_PARTITION = 2_147_483_647; // Kafka partitions are int32

function checkPartition(partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition > MAX_PARTITION)
    throw new LakeLayoutError(`partition ${partition} is not an integer in 0..${MAX_PARTITION}`, { partition });
}

function checkOffset(offset: number, partition: number): void {
  // Offsets are JS numbers: exact up to 2^53, far beyond any real topic.
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new LakeLayoutError(`offset ${offset} is not a non-negative safe integer`, { partition, offset });
}

function checkRange(range: OffsetRange): void {
  checkPartition(range.partition);
  checkOffset(range.firstOffset, range.partition);
  checkOffset(range.lastOffset, range.partition);
  if (range.firstOffset > range.lastOffset)
    throw new LakeLayoutError(`first offset ${range.firstOffset} is after last offset ${range.lastOffset}`, {
      partition: range.partition,
      offset: range.firstOffset,
    });
}

/** UTC `YYYY-MM-DD` and `HH` of an instant; only four-digit years have a name. */
function utcDateHour(ms: number): { date: string; hour: string } {
  const iso = Number.isInteger(ms) ? new Date(ms).toISOString() : "";
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2})/.exec(iso);
  if (!match) throw new LakeLayoutError(`time ${ms} is not an integer epoch-millisecond instant with a four-digit year`);
  return { date: match[1]!, hour: match[2]! };
}

/** `orders/event_date=YYYY-MM-DD/event_hour=HH`: the UTC hour of the event time. */
export function ordersHourDir(eventTimeMs: number): string {
  const { date, hour } = utcDateHour(eventTimeMs);
  return `${ORDERS_ROOT}/event_date=${date}/event_hour=${hour}`;
}

/** `orders_invalid/ingest_date=YYYY-MM-DD`: the UTC day the lake worker took the message in. */
export function invalidDayDir(ingestTimeMs: number): string {
  return `${INVALID_ROOT}/ingest_date=${utcDateHour(ingestTimeMs).date}`;
}

const pad = (offset: number) => String(offset).padStart(OFFSET_DIGITS, "0");

/** `part-<partition>-<first>-<last>.parquet`. */
export function partFileName(range: OffsetRange): string {
  checkRange(range);
  return `part-${range.partition}-${pad(range.firstOffset)}-${pad(range.lastOffset)}.parquet`;
}

export function ordersFilePath(eventTimeMs: number, range: OffsetRange): string {
  return `${ordersHourDir(eventTimeMs)}/${partFileName(range)}`;
}

export function invalidFilePath(ingestTimeMs: number, range: OffsetRange): string {
  return `${invalidDayDir(ingestTimeMs)}/${partFileName(range)}`;
}

const PART_NAME = new RegExp(`^part-(0|[1-9]\\d{0,9})-(\\d{${OFFSET_DIGITS}})-(\\d{${OFFSET_DIGITS}})\\.parquet$`);

/** The range a canonical part-file name claims, or undefined for any other name. */
export function parsePartFileName(name: string): OffsetRange | undefined {
  const match = PART_NAME.exec(name);
  if (!match) return undefined;
  const range = { partition: Number(match[1]), firstOffset: Number(match[2]), lastOffset: Number(match[3]) };
  try {
    checkRange(range);
  } catch {
    return undefined;
  }
  return range;
}

function isCalendarDate(text: string): boolean {
  const ms = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(text);
}

const ORDERS_DIR = /^orders\/event_date=(\d{4}-\d{2}-\d{2})\/event_hour=(\d{2})$/;
const INVALID_DIR = /^orders_invalid\/ingest_date=(\d{4}-\d{2}-\d{2})$/;

/** The start (epoch ms) of the UTC event hour an `orders/event_date=…/event_hour=…` directory holds; undefined for any other directory. */
export function ordersDirHourMs(dir: string): number | undefined {
  const orders = ORDERS_DIR.exec(dir);
  if (!orders || !isCalendarDate(orders[1]!) || Number(orders[2]) > 23) return undefined;
  return Date.parse(`${orders[1]!}T${orders[2]!}:00:00Z`);
}

/** Classifies a lake-relative path; anything that is not a canonical data file gives undefined. */
export function parseLakeFilePath(path: string): LakeFile | undefined {
  const slash = path.lastIndexOf("/");
  if (slash < 0) return undefined;
  const dir = path.slice(0, slash);
  const range = parsePartFileName(path.slice(slash + 1));
  if (!range) return undefined;
  if (ORDERS_DIR.test(dir)) return ordersDirHourMs(dir) === undefined ? undefined : { kind: "orders", path, dir, ...range };
  const invalid = INVALID_DIR.exec(dir);
  if (invalid) {
    if (!isCalendarDate(invalid[1]!)) return undefined;
    return { kind: "invalid", path, dir, ...range };
  }
  return undefined;
}

// ---------------------------------------------------------------- commit markers

/** A partition's checkpoint: every offset below nextOffset is in the lake, exactly once. */
export interface CommitMarker {
  nextOffset: number;
  /** The Kafka cluster the offsets belong to: offsets from another cluster mean nothing here. */
  clusterId: string;
  topic: string;
}

const commitMarkerSchema = z.strictObject({
  nextOffset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  clusterId: z.string().min(1),
  topic: z.string().min(1),
});

export function commitMarkerPath(partition: number): string {
  checkPartition(partition);
  return `${COMMITS_ROOT}/partition=${partition}.json`;
}

/** The partition a commit marker path belongs to, or undefined for any other path. */
export function parseCommitMarkerPath(path: string): number | undefined {
  const match = /^_commits\/partition=(0|[1-9]\d{0,9})\.json$/.exec(path);
  if (!match) return undefined;
  const partition = Number(match[1]);
  return partition <= MAX_PARTITION ? partition : undefined;
}

export function serializeCommitMarker(marker: CommitMarker): string {
  const checked = commitMarkerSchema.parse(marker);
  return `${JSON.stringify({ nextOffset: checked.nextOffset, clusterId: checked.clusterId, topic: checked.topic })}\n`;
}

/** Reads a marker's text; a marker that does not parse is an error, never "no marker". */
export function parseCommitMarker(text: string, path: string): CommitMarker {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LakeLayoutError(`commit marker ${path} is not JSON: ${(error as Error).message}`, { path });
  }
  const parsed = commitMarkerSchema.safeParse(json);
  if (!parsed.success)
    throw new LakeLayoutError(
      `commit marker ${path} is malformed: ${parsed.error.issues.map((i) => `${i.path.join(".") || "marker"}: ${i.message}`).join("; ")}`,
      { path },
    );
  return parsed.data;
}

// ---------------------------------------------------------------- temporary names

const TEMP_SUFFIX = ".tmp";

/**
 * Where to write a file before renaming it to `finalPath`: same directory (so the
 * rename is atomic), a leading dot (hidden from Spark, pyarrow and humans) and a
 * `.tmp` suffix (never matches a data-file or marker name). `token` keeps two
 * writers of the same name apart.
 */
export function temporaryPath(finalPath: string, token: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(token)) throw new LakeLayoutError(`temporary-name token ${JSON.stringify(token)} must match [A-Za-z0-9_-]{1,64}`);
  const slash = finalPath.lastIndexOf("/");
  const base = finalPath.slice(slash + 1);
  if (base === "") throw new LakeLayoutError(`${finalPath} has no file name`, { path: finalPath });
  return `${finalPath.slice(0, slash + 1)}.${base}.${token}${TEMP_SUFFIX}`;
}

/** True for a leftover of temporaryPath: safe to delete once no writer runs. */
export function isTemporaryPath(path: string): boolean {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base.startsWith(".") && base.endsWith(TEMP_SUFFIX);
}

// ---------------------------------------------------------------- which files count

const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * The files a reader should read: within one directory and partition, a file
 * whose offset range contains another's supersedes it (a compaction's output
 * supersedes its inputs, whether or not they are deleted yet). Two files with
 * the same range (only possible for duplicate input entries) keep the one with
 * the smaller path. Ranges that overlap without containment are both kept: the
 * compactor never makes them. Files are identified by path; the result is
 * sorted by path.
 *
 * O(n log n): sorted by first offset ascending, last descending, a file is
 * covered exactly when an earlier file in its group reaches at least as far.
 */
export function selectLiveFiles<F extends RangedFile>(files: readonly F[]): F[] {
  const unique = new Map<string, F>();
  for (const file of [...files].sort(byPath)) if (!unique.has(file.path)) unique.set(file.path, file);
  const groups = new Map<string, F[]>();
  for (const file of unique.values()) {
    const key = `${file.dir}\u0000${file.partition}`;
    const group = groups.get(key);
    if (group) group.push(file);
    else groups.set(key, [file]);
  }
  const live: F[] = [];
  for (const group of groups.values()) {
    group.sort((a, b) => a.firstOffset - b.firstOffset || b.lastOffset - a.lastOffset || byPath(a, b));
    let reach = -1;
    for (const file of group) {
      if (file.lastOffset <= reach) continue;
      live.push(file);
      reach = file.lastOffset;
    }
  }
  return live.sort(byPath);
}

/**
 * Files of `partition` that reach at or past the marker's next offset: written
 * by a flush that died before its marker, so not part of the lake. The lake
 * worker deletes them on start; readers skip them.
 */
export function filesPastMarker<F extends Pick<LakeFile, "partition" | "lastOffset">>(
  files: readonly F[],
  partition: number,
  nextOffset: number,
): F[] {
  return files.filter((file) => file.partition === partition && file.lastOffset >= nextOffset);
}

/**
 * Files covered by their partition's marker. A partition without a marker has
 * committed nothing yet, so none of its files count.
 */
export function committedFiles<F extends Pick<LakeFile, "partition" | "lastOffset">>(
  files: readonly F[],
  nextOffsetByPartition: ReadonlyMap<number, number>,
): F[] {
  return files.filter((file) => {
    const next = nextOffsetByPartition.get(file.partition);
    return next !== undefined && file.lastOffset < next;
  });
}
