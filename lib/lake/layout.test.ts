import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  commitMarkerPath,
  committedFiles,
  filesPastMarker,
  invalidFilePath,
  isTemporaryPath,
  LakeLayoutError,
  ordersFilePath,
  ordersHourDir,
  parseCommitMarker,
  parseCommitMarkerPath,
  parseLakeFilePath,
  parsePartFileName,
  partFileName,
  selectLiveFiles,
  serializeCommitMarker,
  temporaryPath,
  type RangedFile,
} from "./layout.ts";

const T = Date.parse("2026-11-20T10:59:59.999Z");

describe("names", () => {
  it("places an order file by the UTC hour of its event time", () => {
    expect(ordersFilePath(T, { partition: 3, firstOffset: 100, lastOffset: 199 })).toBe(
      "orders/event_date=2026-11-20/event_hour=10/part-3-00000000000000000100-00000000000000000199.parquet",
    );
    expect(ordersHourDir(Date.parse("2026-11-20T23:30:00+02:00"))).toBe("orders/event_date=2026-11-20/event_hour=21");
    expect(invalidFilePath(Date.parse("2026-01-02T00:00:00Z"), { partition: 0, firstOffset: 0, lastOffset: 0 })).toBe(
      "orders_invalid/ingest_date=2026-01-02/part-0-00000000000000000000-00000000000000000000.parquet",
    );
  });

  it("round-trips every valid range, and names sort by first offset", () => {
    const range = fc
      .record({
        partition: fc.integer({ min: 0, max: 2_147_483_647 }),
        firstOffset: fc.maxSafeNat(),
        length: fc.maxSafeNat(),
      })
      .map(({ partition, firstOffset, length }) => ({
        partition,
        firstOffset,
        lastOffset: Math.min(Number.MAX_SAFE_INTEGER, firstOffset + length),
      }));
    fc.assert(
      fc.property(range, (r) => {
        expect(parsePartFileName(partFileName(r))).toEqual(r);
      }),
    );
    fc.assert(
      fc.property(range, range, (a, b) => {
        const byName = partFileName({ ...a, partition: 0 }) < partFileName({ ...b, partition: 0 });
        return a.firstOffset === b.firstOffset || byName === a.firstOffset < b.firstOffset;
      }),
    );
  });

  it("refuses to name what it could not parse back", () => {
    expect(() => partFileName({ partition: -1, firstOffset: 0, lastOffset: 0 })).toThrow(LakeLayoutError);
    expect(() => partFileName({ partition: 0, firstOffset: 5, lastOffset: 4 })).toThrow(/after last offset/);
    expect(() => partFileName({ partition: 0, firstOffset: 0.5, lastOffset: 4 })).toThrow(/safe integer/);
    expect(() => ordersHourDir(Number.NaN)).toThrow(LakeLayoutError);
    expect(() => ordersHourDir(Date.parse("+012000-01-01T00:00:00Z"))).toThrow(/four-digit year/);
  });

  it("parses only canonical data-file paths", () => {
    const good = "orders/event_date=2026-11-20/event_hour=10/part-3-00000000000000000100-00000000000000000199.parquet";
    expect(parseLakeFilePath(good)).toEqual({
      kind: "orders",
      path: good,
      dir: "orders/event_date=2026-11-20/event_hour=10",
      partition: 3,
      firstOffset: 100,
      lastOffset: 199,
    });
    expect(parseLakeFilePath("orders_invalid/ingest_date=2026-11-20/part-0-00000000000000000001-00000000000000000001.parquet")?.kind).toBe(
      "invalid",
    );
    for (const bad of [
      "orders/event_date=2026-11-20/event_hour=10/part-3-100-199.parquet", // unpadded
      "orders/event_date=2026-11-20/event_hour=10/part-03-00000000000000000100-00000000000000000199.parquet", // padded partition
      "orders/event_date=2026-11-20/event_hour=10/part-3-00000000000000000200-00000000000000000199.parquet", // first > last
      "orders/event_date=2026-11-20/event_hour=24/part-3-00000000000000000100-00000000000000000199.parquet",
      "orders/event_date=2026-02-30/event_hour=10/part-3-00000000000000000100-00000000000000000199.parquet",
      "orders/event_date=2026-11-20/part-3-00000000000000000100-00000000000000000199.parquet", // no hour
      "orders/event_date=2026-11-20/event_hour=10/part-3-00000000000000000100-00000000000000000199.parquet.tmp",
      "orders/event_date=2026-11-20/event_hour=10/part-3-99999999999999999999-99999999999999999999.parquet", // beyond 2^53
      temporaryPath(good, "abc"),
      "elsewhere/part-3-00000000000000000100-00000000000000000199.parquet",
    ])
      expect(parseLakeFilePath(bad), bad).toBeUndefined();
  });

  it("keeps temporary names apart from every real name", () => {
    const final = "orders/event_date=2026-11-20/event_hour=10/part-3-00000000000000000100-00000000000000000199.parquet";
    const temp = temporaryPath(final, "w1-4f2a");
    expect(temp).toBe(
      "orders/event_date=2026-11-20/event_hour=10/.part-3-00000000000000000100-00000000000000000199.parquet.w1-4f2a.tmp",
    );
    expect(isTemporaryPath(temp)).toBe(true);
    expect(isTemporaryPath(final)).toBe(false);
    expect(temporaryPath("/abs/lake/_commits/partition=2.json", "x")).toBe("/abs/lake/_commits/.partition=2.json.x.tmp");
    expect(parseCommitMarkerPath(temporaryPath(commitMarkerPath(2), "x"))).toBeUndefined();
    expect(() => temporaryPath(final, "../x")).toThrow(LakeLayoutError);
  });
});

describe("commit markers", () => {
  it("round-trips and names the partition", () => {
    const marker = { nextOffset: 1234, clusterId: "abc-123", topic: "orders" };
    expect(commitMarkerPath(7)).toBe("_commits/partition=7.json");
    expect(parseCommitMarkerPath("_commits/partition=7.json")).toBe(7);
    expect(parseCommitMarkerPath("_commits/partition=07.json")).toBeUndefined();
    expect(parseCommitMarker(serializeCommitMarker(marker), "m")).toEqual(marker);
  });

  it("says which marker is broken and why", () => {
    expect(() => parseCommitMarker("{", "_commits/partition=1.json")).toThrow(/partition=1\.json is not JSON/);
    expect(() => parseCommitMarker('{"nextOffset":-1,"clusterId":"c","topic":"t"}', "p")).toThrow(/nextOffset/);
    expect(() => parseCommitMarker('{"nextOffset":1,"topic":"t"}', "p")).toThrow(/clusterId/);
  });
});

describe("filesPastMarker and committedFiles", () => {
  const file = (partition: number, firstOffset: number, lastOffset: number) => ({ partition, firstOffset, lastOffset });
  it("finds exactly the files of the partition that reach the next offset", () => {
    const files = [file(0, 0, 9), file(0, 10, 19), file(0, 20, 29), file(1, 10, 19)];
    expect(filesPastMarker(files, 0, 20)).toEqual([file(0, 20, 29)]);
    expect(filesPastMarker(files, 0, 15)).toEqual([file(0, 10, 19), file(0, 20, 29)]);
    expect(filesPastMarker(files, 0, 30)).toEqual([]);
    expect(committedFiles(files, new Map([[0, 20]]))).toEqual([file(0, 0, 9), file(0, 10, 19)]);
  });

  it("partitions files into committed and past-marker, per partition", () => {
    const files = fc.array(
      fc.record({ partition: fc.integer({ min: 0, max: 2 }), firstOffset: fc.nat(50), lastOffset: fc.nat(50) }),
      { maxLength: 30 },
    );
    fc.assert(
      fc.property(files, fc.nat(60), (all, next) => {
        const past = filesPastMarker(all, 1, next);
        const committed = committedFiles(all, new Map([[1, next]]));
        const ofPartition = all.filter((f) => f.partition === 1);
        expect(past.length + committed.length).toBe(ofPartition.length);
        expect(committed.every((f) => f.lastOffset < next)).toBe(true);
        expect(past.every((f) => f.lastOffset >= next)).toBe(true);
      }),
    );
  });
});

// ---------------------------------------------------------------- selectLiveFiles

interface TestFile extends RangedFile {
  id: string;
}

const makeFile = (dir: string, partition: number, firstOffset: number, lastOffset: number): TestFile => {
  const path = `${dir}/${partFileName({ partition, firstOffset, lastOffset })}`;
  return { id: path, path, dir, partition, firstOffset, lastOffset };
};

/** Brute force, straight from the rule: a file is dropped when another distinct file of its group contains it. */
function oracle(files: readonly TestFile[]): TestFile[] {
  const unique = [...new Map(files.map((f) => [f.path, f])).values()];
  return unique
    .filter(
      (f) =>
        !unique.some(
          (g) =>
            g !== f &&
            g.dir === f.dir &&
            g.partition === f.partition &&
            g.firstOffset <= f.firstOffset &&
            f.lastOffset <= g.lastOffset &&
            (g.firstOffset !== f.firstOffset || g.lastOffset !== f.lastOffset || g.path < f.path),
        ),
    )
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}

const DIRS = ["orders/event_date=2026-11-20/event_hour=10", "orders/event_date=2026-11-20/event_hour=11", "orders_invalid/ingest_date=2026-11-20"];

const arbitraryFiles = fc
  .array(
    fc.record({
      dir: fc.constantFrom(...DIRS),
      partition: fc.integer({ min: 0, max: 2 }),
      firstOffset: fc.nat(40),
      length: fc.nat(15),
    }),
    { maxLength: 40 },
  )
  .chain((specs) => {
    const files = specs.map((s) => makeFile(s.dir, s.partition, s.firstOffset, s.firstOffset + s.length));
    // Some entries twice, in any order: a listing may repeat itself.
    return fc.shuffledSubarray(files).map((extra) => [...files, ...extra]);
  })
  .chain((files) => fc.shuffledSubarray(files, { minLength: files.length, maxLength: files.length }));

/**
 * A lake after flushes and compactions, some killed midway. Per (dir, partition):
 * flush files over increasing offsets (with gaps: a flush need not touch every
 * hour), then merges of contiguous runs of the current units. A merge killed
 * before its rename leaves nothing; one killed after leaves its output and any
 * subset of its inputs (inputs are deleted only after the output exists).
 */
const compactionState = fc
  .array(
    fc.record({
      dir: fc.constantFrom(...DIRS),
      partition: fc.integer({ min: 0, max: 2 }),
      flushes: fc.array(fc.record({ gap: fc.nat(3), length: fc.integer({ min: 1, max: 8 }) }), { minLength: 1, maxLength: 8 }),
      merges: fc.array(
        fc.record({ at: fc.nat(), size: fc.integer({ min: 2, max: 4 }), outcome: fc.constantFrom("killed-before-rename", "renamed"), keep: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }) }),
        { maxLength: 5 },
      ),
    }),
    { maxLength: 4 },
  )
  .map((groups) => {
    const present = new Map<string, TestFile>();
    const flushed: TestFile[] = [];
    for (const group of groups) {
      let offset = 0;
      let units: TestFile[] = [];
      for (const flush of group.flushes) {
        offset += flush.gap;
        const file = makeFile(group.dir, group.partition, offset, offset + flush.length - 1);
        offset += flush.length;
        // The same (dir, partition) may appear twice in `groups`; keep its offsets apart.
        if (present.has(file.path) || flushed.some((f) => f.dir === file.dir && f.partition === file.partition && f.lastOffset >= file.firstOffset)) continue;
        units.push(file);
        flushed.push(file);
        present.set(file.path, file);
      }
      for (const merge of group.merges) {
        if (units.length < 2) break;
        const size = Math.min(merge.size, units.length);
        const start = merge.at % (units.length - size + 1);
        const inputs = units.slice(start, start + size);
        if (merge.outcome === "killed-before-rename") continue;
        const output = makeFile(group.dir, group.partition, inputs[0]!.firstOffset, inputs.at(-1)!.lastOffset);
        present.set(output.path, output);
        inputs.forEach((input, i) => {
          if (!merge.keep[i]) present.delete(input.path);
        });
        units = [...units.slice(0, start), output, ...units.slice(start + size)];
      }
    }
    return { files: [...present.values()], flushed };
  });

describe("selectLiveFiles", () => {
  it("drops a compaction's inputs once its output exists", () => {
    const a = makeFile(DIRS[0]!, 0, 0, 9);
    const b = makeFile(DIRS[0]!, 0, 10, 19);
    const ab = makeFile(DIRS[0]!, 0, 0, 19);
    const otherPartition = makeFile(DIRS[0]!, 1, 0, 9);
    const otherHour = makeFile(DIRS[1]!, 0, 0, 9);
    expect(selectLiveFiles([a, b])).toEqual([a, b]);
    expect(selectLiveFiles([b, ab, a, otherPartition, otherHour]).map((f) => f.id)).toEqual([ab, otherPartition, otherHour].map((f) => f.id).sort());
  });

  it("keeps partially overlapping files (the compactor never makes them) and repeats nothing", () => {
    const a = makeFile(DIRS[0]!, 0, 0, 10);
    const b = makeFile(DIRS[0]!, 0, 5, 15);
    expect(selectLiveFiles([b, a, b])).toEqual([a, b]);
  });

  it("agrees with the brute-force oracle on arbitrary file sets", () => {
    fc.assert(
      fc.property(arbitraryFiles, (files) => {
        expect(selectLiveFiles(files)).toEqual(oracle(files));
      }),
      { numRuns: 500 },
    );
  });

  it("does not depend on the order of the listing", () => {
    fc.assert(
      fc.property(arbitraryFiles, (files) => {
        expect(selectLiveFiles([...files].reverse())).toEqual(selectLiveFiles(files));
      }),
      { numRuns: 200 },
    );
  });

  it("after any mix of finished and killed compactions, reads every flushed offset exactly once", () => {
    fc.assert(
      fc.property(compactionState, ({ files, flushed }) => {
        const live = selectLiveFiles(files);
        expect(live).toEqual(oracle(files));
        for (const original of flushed) {
          const covering = live.filter(
            (f) =>
              f.dir === original.dir &&
              f.partition === original.partition &&
              f.firstOffset <= original.firstOffset &&
              original.lastOffset <= f.lastOffset,
          );
          expect(covering, original.path).toHaveLength(1);
        }
        for (const a of live)
          for (const b of live)
            if (a !== b && a.dir === b.dir && a.partition === b.partition)
              expect(a.lastOffset < b.firstOffset || b.lastOffset < a.firstOffset, `${a.path} overlaps ${b.path}`).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
