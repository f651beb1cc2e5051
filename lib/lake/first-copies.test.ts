import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EMPTY_FIRST_COPY_INDEX, laterCopiesSql, laterCopyPairs, reclassifyFrom, withClassification, type ClassifiedFile, type FirstCopyIndex } from "./first-copies.ts";

/** One Kafka record as the lake holds it: an order (by id) or an invalid message. */
type Row = { partition: number; offset: number; orderId: string | undefined };

/** What laterCopiesSql asks DuckDB, over the rows a snapshot's files hold. */
function laterCopiesAbove(rows: readonly Row[], from: ReadonlyMap<number, number>): [number, number][] {
  return rows
    .filter((r) => r.orderId !== undefined && from.has(r.partition) && r.offset >= from.get(r.partition)!)
    .filter((r) => rows.some((a) => a.partition === r.partition && a.orderId === r.orderId && a.offset < r.offset))
    .map((r) => [r.partition, r.offset]);
}

/** The brute-force oracle: every later copy among `rows`, classified from scratch. */
const allLaterCopies = (rows: readonly Row[]) => laterCopiesAbove(rows, new Map([...new Set(rows.map((r) => r.partition))].map((p) => [p, 0]))).sort(byPair);
const byPair = (a: readonly number[], b: readonly number[]) => a[0]! - b[0]! || a[1]! - b[1]!;

function classify(index: FirstCopyIndex, files: readonly (ClassifiedFile & { rows: Row[] })[]): FirstCopyIndex {
  const from = reclassifyFrom(index, files);
  return withClassification(index, files, from, laterCopiesAbove(files.flatMap((f) => f.rows), from));
}

describe("the first-copy index", () => {
  it("equals a classification from scratch after every snapshot of a growing, compacted, racing lake", () => {
    // One step: a flush per partition (its rows spread over hour directories, one file per directory),
    // maybe a compaction, maybe a file deleted for good, maybe a listing that misses a file once.
    const step = fc.record({
      grow: fc.array(fc.record({ partition: fc.integer({ min: 0, max: 2 }), id: fc.integer({ min: 0, max: 12 }), dir: fc.integer({ min: 0, max: 2 }), invalid: fc.boolean() }), { maxLength: 12 }),
      compact: fc.boolean(),
      deleteFile: fc.option(fc.nat(), { nil: undefined, freq: 6 }),
      hideFile: fc.option(fc.nat(), { nil: undefined }),
    });
    type File = ClassifiedFile & { rows: Row[] };
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 15 }), (steps) => {
        let lake: File[] = [];
        const next = [0, 0, 0];
        const tainted = new Set<string>(); // a directory that lost a file is never compacted over it
        let index = EMPTY_FIRST_COPY_INDEX;
        for (const s of steps) {
          const flush = new Map<string, File>();
          for (const g of s.grow) {
            const row: Row = { partition: g.partition, offset: next[g.partition]!++, orderId: g.invalid ? undefined : `o${g.id}` };
            const dir = g.invalid ? "orders_invalid" : `orders/h=${g.dir}`;
            const file = flush.get(`${dir}/${g.partition}`) ?? flush.set(`${dir}/${g.partition}`, { dir, partition: g.partition, firstOffset: row.offset, lastOffset: row.offset, rows: [] }).get(`${dir}/${g.partition}`)!;
            file.rows.push(row);
            file.lastOffset = row.offset;
          }
          lake.push(...flush.values());
          if (s.compact) {
            const groups = new Map<string, File[]>();
            for (const f of lake) (groups.get(`${f.dir}/${f.partition}`) ?? groups.set(`${f.dir}/${f.partition}`, []).get(`${f.dir}/${f.partition}`)!).push(f);
            lake = [...groups].flatMap(([key, files]) =>
              tainted.has(key) || files.length < 2 ? files
              : [{ dir: files[0]!.dir, partition: files[0]!.partition, firstOffset: Math.min(...files.map((f) => f.firstOffset)), lastOffset: Math.max(...files.map((f) => f.lastOffset)), rows: files.flatMap((f) => f.rows) }],
            );
          }
          if (s.deleteFile !== undefined && lake.length > 0) {
            const [gone] = lake.splice(s.deleteFile % lake.length, 1);
            tainted.add(`${gone!.dir}/${gone!.partition}`);
          }
          const files = s.hideFile !== undefined && lake.length > 0 ? lake.filter((_, i) => i !== s.hideFile! % lake.length) : lake;
          index = classify(index, files);
          expect(laterCopyPairs(index).sort(byPair)).toEqual(allLaterCopies(files.flatMap((f) => f.rows)));
        }
      }),
      { numRuns: 500 },
    );
  });

  it("classifies only what is new when the lake grows above what it has seen", () => {
    const h10 = "orders/event_date=2026-11-20/event_hour=10";
    const h11 = "orders/event_date=2026-11-20/event_hour=11";
    const files = [
      { dir: h10, partition: 0, firstOffset: 0, lastOffset: 49 },
      { dir: h10, partition: 0, firstOffset: 50, lastOffset: 99 },
      { dir: h10, partition: 1, firstOffset: 0, lastOffset: 49 },
    ];
    const index = withClassification(EMPTY_FIRST_COPY_INDEX, files, reclassifyFrom(EMPTY_FIRST_COPY_INDEX, files), [[0, 40]]);
    // A compaction (the same rows in one file) is nothing new; a flush above the marker is.
    expect(reclassifyFrom(index, [{ dir: h10, partition: 0, firstOffset: 0, lastOffset: 99 }, files[2]!])).toEqual(new Map());
    expect(reclassifyFrom(index, [...files, { dir: h10, partition: 1, firstOffset: 50, lastOffset: 80 }])).toEqual(new Map([[1, 50]]));
    // A file of another directory that the last listing missed, within offsets already seen elsewhere: from where it starts.
    expect(reclassifyFrom(index, [...files, { dir: h11, partition: 0, firstOffset: 30, lastOffset: 60 }])).toEqual(new Map([[0, 30]]));
    // A file gone: its partition from where it started.
    expect(reclassifyFrom(index, files.slice(1))).toEqual(new Map([[0, 0]]));
  });

  it("refuses a later copy outside what was reclassified (a query that does not match its plan)", () => {
    const files = [{ dir: "orders_invalid/ingest_date=2026-11-20", partition: 0, firstOffset: 0, lastOffset: 9 }];
    expect(() => withClassification(EMPTY_FIRST_COPY_INDEX, files, new Map([[0, 5]]), [[0, 3]])).toThrow(/partition 0 offset 3 is outside/);
  });

  it("asks for one partition's rows at or above an offset, compared within that partition", () => {
    const sql = laterCopiesSql(3, 120);
    expect(sql).toContain("n.kafka_partition = 3 AND n.kafka_offset >= 120");
    expect(sql).toContain("a.kafka_partition = 3 AND a.order_id = n.order_id AND a.kafka_offset < n.kafka_offset");
    expect(() => laterCopiesSql(1, 0.5)).toThrow(RangeError);
  });
});
