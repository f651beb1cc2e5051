/**
 * Which rows of `orders_raw` are later copies of an order, kept across snapshots
 * of a growing lake so that each snapshot classifies only what is new to it.
 * Pure: the caller runs `laterCopiesSql` per partition and hands back what it found.
 *
 * The rule (design.md, "Orders": a duplicate is a second event with an order_id
 * already seen in that partition; the first one wins): a row is a later copy when
 * a row of the same partition with the same order_id has a lower offset. The lake
 * keeps every copy, with no horizon, so `orders` = `orders_raw` without the later
 * copies. Evaluating that over the whole lake (a window over every column) made a
 * first page over 1M rows take seconds; an anti-join with this small list does not.
 *
 * Incremental: the lake only grows above each partition's commit marker, and a
 * compaction rewrites rows without changing them, so rows already classified stay
 * classified. Coverage is kept per directory and partition: there a file's offset
 * range holds every row of that partition in that range (one flush writes one file
 * per directory, and a compaction's output covers its inputs), while across
 * directories the ranges of one flush interleave. Whatever else a snapshot shows (a
 * file that a listing race left out of the last snapshot, rows gone), the partition
 * is reclassified from the lowest offset it concerns: slower, never wrong.
 */
import type { LakeFile } from "./layout.ts";

/** What the index needs of a live file. */
export type ClassifiedFile = Pick<LakeFile, "dir" | "partition" | "firstOffset" | "lastOffset">;

/** Inclusive offset intervals, sorted and merged. */
type Intervals = [number, number][];

export interface FirstCopyIndex {
  /** Per directory and partition (`dir \0 partition`): the offsets the index has classified. */
  readonly covered: ReadonlyMap<string, Intervals>;
  /** Per partition: offsets of later copies, ascending. */
  readonly laterCopies: ReadonlyMap<number, readonly number[]>;
}

export const EMPTY_FIRST_COPY_INDEX: FirstCopyIndex = { covered: new Map(), laterCopies: new Map() };

function merged(ranges: Intervals): Intervals {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Intervals = [];
  for (const [first, last] of sorted) {
    const tail = out.at(-1);
    if (tail && first <= tail[1] + 1) tail[1] = Math.max(tail[1], last);
    else out.push([first, last]);
  }
  return out;
}

/** The lowest offset in `a` that `b` does not hold, or undefined when `b` holds all of `a`. */
function firstOutside(a: Intervals, b: Intervals): number | undefined {
  for (const [first, last] of a) {
    let at = first;
    for (const [bf, bl] of b) {
      if (bl < at) continue;
      if (bf > at) break;
      at = bl + 1;
      if (at > last) break;
    }
    if (at <= last) return at;
  }
  return undefined;
}

const coverageKey = (dir: string, partition: number) => `${dir}\u0000${partition}`;
const partitionOfKey = (key: string) => Number(key.slice(key.lastIndexOf("\u0000") + 1));

function coverageOf(files: readonly ClassifiedFile[]): Map<string, Intervals> {
  const byKey = new Map<string, Intervals>();
  for (const file of files) {
    const key = coverageKey(file.dir, file.partition);
    (byKey.get(key) ?? byKey.set(key, []).get(key)!).push([file.firstOffset, file.lastOffset]);
  }
  return new Map([...byKey].map(([key, ranges]) => [key, merged(ranges)]));
}

/**
 * Per partition, the offset from which rows must be (re)classified for a
 * snapshot of `files` (its live files, orders and invalid both: together they
 * cover the partition's offsets). Partitions with nothing new are absent.
 */
export function reclassifyFrom(index: FirstCopyIndex, files: readonly ClassifiedFile[]): Map<number, number> {
  const live = coverageOf(files);
  const from = new Map<number, number>();
  for (const key of new Set([...live.keys(), ...index.covered.keys()])) {
    const now = live.get(key) ?? [];
    const before = index.covered.get(key) ?? [];
    // New rows need classifying; rows gone may have held a first copy, so the rows after them too.
    const lowest = Math.min(firstOutside(now, before) ?? Infinity, firstOutside(before, now) ?? Infinity);
    const partition = partitionOfKey(key);
    if (lowest !== Infinity) from.set(partition, Math.min(from.get(partition) ?? Infinity, lowest));
  }
  return from;
}

/**
 * The index after classifying `files` from `from` (reclassifyFrom's answer):
 * `found` holds the later copies at or above `from` in each partition it names.
 */
export function withClassification(index: FirstCopyIndex, files: readonly ClassifiedFile[], from: ReadonlyMap<number, number>, found: readonly (readonly [partition: number, offset: number])[]): FirstCopyIndex {
  const laterCopies = new Map<number, number[]>();
  // A partition whose files are all gone is reclassified from its lowest offset: none of its copies stays.
  for (const [partition, offsets] of index.laterCopies) {
    const lowest = from.get(partition) ?? Infinity;
    const kept = offsets.filter((o) => o < lowest);
    if (kept.length > 0) laterCopies.set(partition, kept);
  }
  for (const [partition, offset] of found) {
    if (!from.has(partition) || offset < from.get(partition)!) throw new RangeError(`later copy at partition ${partition} offset ${offset} is outside what was reclassified`);
    (laterCopies.get(partition) ?? laterCopies.set(partition, []).get(partition)!).push(offset);
  }
  for (const offsets of laterCopies.values()) offsets.sort((a, b) => a - b);
  return { covered: coverageOf(files), laterCopies };
}

/**
 * SQL: `(kafka_partition, kafka_offset)` of the later copies in `partition` at or
 * above `fromOffset`, over the `orders_raw` view. One partition per statement: a
 * first snapshot classifies every row, and one partition's rows bound the join's
 * memory (the sandbox has no spill files).
 */
export function laterCopiesSql(partition: number, fromOffset: number): string {
  if (!Number.isInteger(partition) || !Number.isInteger(fromOffset)) throw new RangeError(`partition and offset must be integers (got ${partition}, ${fromOffset})`);
  return `SELECT n.kafka_partition, n.kafka_offset FROM orders_raw n
    WHERE n.kafka_partition = ${partition} AND n.kafka_offset >= ${fromOffset}
      AND EXISTS (SELECT 1 FROM orders_raw a
                  WHERE a.kafka_partition = ${partition} AND a.order_id = n.order_id AND a.kafka_offset < n.kafka_offset)`;
}

/** Every later copy in the index, as `[partition, offset]` pairs. */
export function laterCopyPairs(index: FirstCopyIndex): [number, number][] {
  return [...index.laterCopies].flatMap(([partition, offsets]) => offsets.map((o) => [partition, o] as [number, number]));
}
