import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { planCompaction, type SizedLakeFile } from "./compaction.ts";
import { committedFiles, parseLakeFilePath, partFileName, selectLiveFiles } from "./layout.ts";

const DIRS = ["orders/event_date=2026-11-20/event_hour=09", "orders/event_date=2026-11-20/event_hour=10", "orders/event_date=2026-11-20/event_hour=11"];
const NOW = 1_000_000;

/** A toy lake: file path -> the offsets it holds. */
type Lake = Map<string, number[]>;

function sized(path: string, offsets: number[], mtimeMs = 0): SizedLakeFile {
  // Sub-additive, like compression: a merged file is smaller than its inputs together.
  return { ...parseLakeFilePath(path)!, bytes: Math.ceil(2 * Math.sqrt(offsets.length)), mtimeMs };
}

const filesOf = (lake: Lake, mtimeMs = 0) => [...lake].map(([path, offsets]) => sized(path, offsets, mtimeMs));

/** Offsets a reader sees, sorted, duplicates kept. */
function visible(lake: Lake, marker: Map<number, number>): number[] {
  const live = selectLiveFiles(committedFiles(filesOf(lake), marker));
  return live.flatMap((f) => lake.get(f.path)!).sort((a, b) => a - b);
}

/** Flushes of partition 0: each covers the next `size` offsets, spread over the hour directories by `dirOf`. */
function flushLake(sizes: number[], dirOf: (offset: number) => number, lake: Lake = new Map(), from = 0): { lake: Lake; committedUpTo: number } {
  let next = from;
  for (const size of sizes) {
    const byDir = new Map<string, number[]>();
    for (let offset = next; offset < next + size; offset++) {
      const dir = DIRS[dirOf(offset) % DIRS.length]!;
      byDir.set(dir, [...(byDir.get(dir) ?? []), offset]);
    }
    for (const [dir, offsets] of byDir)
      lake.set(`${dir}/${partFileName({ partition: 0, firstOffset: offsets[0]!, lastOffset: offsets.at(-1)! })}`, offsets);
    next += size;
  }
  return { lake, committedUpTo: next };
}

describe("planCompaction", () => {
  it("merges each directory's consecutive committed files into one named by their range", () => {
    const { lake, committedUpTo } = flushLake([5, 5, 5, 5], (o) => (o % 7 === 0 ? 1 : 0));
    const plan = planCompaction(filesOf(lake), new Map([[0, committedUpTo]]), { now: NOW, quietMs: 0, offsetsPerFile: 1_000 });
    expect(plan.merges.map((m) => [m.output, m.inputs.length])).toEqual([
      [`${DIRS[0]}/${partFileName({ partition: 0, firstOffset: 1, lastOffset: 19 })}`, 4],
      [`${DIRS[1]}/${partFileName({ partition: 0, firstOffset: 0, lastOffset: 14 })}`, 3],
    ]);
    expect(plan.superseded).toEqual([]);
  });

  it("leaves files past the marker, young groups, single files and other partitions alone", () => {
    const { lake } = flushLake([3, 3, 3], () => 0);
    const files = filesOf(lake);
    // Only the first two flushes are committed.
    expect(planCompaction(files, new Map([[0, 6]]), { now: NOW, quietMs: 0, offsetsPerFile: 100 }).merges[0]!.inputs).toHaveLength(2);
    expect(planCompaction(files, new Map([[0, 3]]), { now: NOW, quietMs: 0, offsetsPerFile: 100 }).merges).toEqual([]);
    expect(planCompaction(files, new Map(), { now: NOW, quietMs: 0, offsetsPerFile: 100 }).merges).toEqual([]);
    // A file written 5 s ago (committed or not) means the group is still being written.
    const young = files.map((f, i) => ({ ...f, mtimeMs: i === 2 ? NOW - 5_000 : 0 }));
    expect(planCompaction(young, new Map([[0, 6]]), { now: NOW, quietMs: 10_000, offsetsPerFile: 100 }).merges).toEqual([]);
    expect(planCompaction(young, new Map([[0, 6]]), { now: NOW, quietMs: 1_000, offsetsPerFile: 100 }).merges).toHaveLength(1);
    expect(planCompaction(files, new Map([[0, 9]]), { now: NOW, quietMs: 0, offsetsPerFile: 100, partitions: new Set([1]) }).merges).toEqual([]);
  });

  it("bounds merges by offset buckets of their inputs' first offsets, without skipping a file", () => {
    const { lake, committedUpTo } = flushLake([4, 4, 4, 4, 4, 3], () => 0);
    const plan = planCompaction(filesOf(lake), new Map([[0, committedUpTo]]), { now: NOW, quietMs: 0, offsetsPerFile: 10 });
    // Files start at 0, 4, 8 | 12, 16 | 20: the file starting at 8 reaches into the next bucket and stays with its first offset.
    expect(plan.merges.map((m) => [m.range.firstOffset, m.range.lastOffset])).toEqual([
      [0, 11],
      [12, 19],
    ]);
  });

  it("deletes the inputs a killed compaction left behind, and never plans over overlapping files", () => {
    const { lake, committedUpTo } = flushLake([3, 3, 3], () => 0);
    lake.set(`${DIRS[0]}/${partFileName({ partition: 0, firstOffset: 0, lastOffset: 5 })}`, [0, 1, 2, 3, 4, 5]);
    const files = filesOf(lake).map((f) => ({ ...f, mtimeMs: f.lastOffset === 5 && f.firstOffset === 0 ? 777 : 1 }));
    const plan = planCompaction(files, new Map([[0, committedUpTo]]), { now: NOW, quietMs: 0, offsetsPerFile: 100 });
    // Superseded since the covering file was written.
    expect(plan.superseded.map((f) => [f.firstOffset, f.lastOffset, f.coveredSince])).toEqual([
      [0, 2, 777],
      [3, 5, 777],
    ]);
    expect(plan.merges.map((m) => [m.range.firstOffset, m.range.lastOffset])).toEqual([[0, 8]]);

    lake.set(`${DIRS[0]}/${partFileName({ partition: 0, firstOffset: 4, lastOffset: 7 })}`, [4, 5, 6, 7]);
    const broken = planCompaction(filesOf(lake), new Map([[0, committedUpTo]]), { now: NOW, quietMs: 0, offsetsPerFile: 100 });
    expect(broken.merges).toEqual([]);
    expect(broken.anomalies).toHaveLength(1);
  });

  it("keeps every committed offset visible exactly once through any sequence of compactions killed at any step", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.record({ offsetsPerFile: fc.integer({ min: 1, max: 30 }), killAfter: fc.integer({ min: 0, max: 40 }) }), { minLength: 1, maxLength: 6 }),
        (sizes, dirChoices, uncommittedFlushes, runs) => {
          const { lake, committedUpTo } = flushLake(sizes, (o) => dirChoices[o % dirChoices.length]!);
          const marker = new Map([[0, committedUpTo - sizes.slice(sizes.length - Math.min(uncommittedFlushes, sizes.length - 1)).reduce((a, b) => a + b, 0)]]);
          const expected = visible(lake, marker);
          expect(expected).toEqual(Array.from({ length: marker.get(0)! }, (_, i) => i));
          for (const { offsetsPerFile, killAfter } of runs) {
            // One compactor run, killed after `killAfter` file operations (writes and deletes).
            const plan = planCompaction(filesOf(lake), marker, { now: NOW, quietMs: 0, offsetsPerFile });
            const steps: (() => void)[] = plan.superseded.map((f) => () => void lake.delete(f.path));
            for (const merge of plan.merges) {
              for (const input of merge.inputs) expect(merge.range.firstOffset <= input.firstOffset && input.lastOffset <= merge.range.lastOffset).toBe(true);
              steps.push(() => void lake.set(merge.output, merge.inputs.flatMap((f) => lake.get(f.path)!).sort((a, b) => a - b)));
              for (const input of merge.inputs) steps.push(() => void lake.delete(input.path));
            }
            for (const step of steps.slice(0, killAfter)) {
              step();
              expect(visible(lake, marker)).toEqual(expected);
            }
          }
          // Finally an uninterrupted run, then nothing is left to do.
          const final = planCompaction(filesOf(lake), marker, { now: NOW, quietMs: 0, offsetsPerFile: 1_000 });
          for (const f of final.superseded) lake.delete(f.path);
          for (const merge of final.merges) {
            lake.set(merge.output, merge.inputs.flatMap((f) => lake.get(f.path)!).sort((a, b) => a - b));
            for (const input of merge.inputs) lake.delete(input.path);
          }
          expect(visible(lake, marker)).toEqual(expected);
          const again = planCompaction(filesOf(lake), marker, { now: NOW, quietMs: 0, offsetsPerFile: 1_000 });
          expect(again.merges).toEqual([]);
          expect(again.superseded).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps readers exact when two compactors with different views of the lake run at once", () => {
    /** Applies a plan the way the compactor does; a merge whose inputs are gone when read is abandoned. */
    const stepsOf = (lake: Lake, plan: ReturnType<typeof planCompaction>) => {
      const steps: (() => void)[] = plan.superseded.map((f) => () => void lake.delete(f.path));
      for (const merge of plan.merges) {
        let rows: number[] | undefined;
        steps.push(() => {
          rows = merge.inputs.every((f) => lake.has(f.path)) ? merge.inputs.flatMap((f) => lake.get(f.path)!).sort((a, b) => a - b) : undefined;
        });
        steps.push(() => void (rows && lake.set(merge.output, rows)));
        for (const input of merge.inputs) steps.push(() => void (rows && lake.delete(input.path)));
      }
      return steps;
    };
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 20 }),
        // A timeline: commit a flush of n offsets, start a compactor, or let compactor k take its next step.
        fc.array(
          fc.oneof(
            fc.record({ flush: fc.integer({ min: 1, max: 6 }) }),
            fc.constant({ plan: true }),
            fc.record({ step: fc.nat() }),
          ),
          { maxLength: 120 },
        ),
        (dirChoices, offsetsPerFile, timeline) => {
          const dirOf = (o: number) => dirChoices[o % dirChoices.length]!;
          const lake: Lake = new Map();
          const marker = new Map([[0, 0]]);
          const compactors: (() => void)[][] = [];
          const check = () => expect(visible(lake, marker)).toEqual(Array.from({ length: marker.get(0)! }, (_, i) => i));
          for (const event of [...timeline, ...Array.from({ length: 200 }, (_, i) => ({ step: i }))]) {
            if ("flush" in event) marker.set(0, flushLake([event.flush], dirOf, lake, marker.get(0)!).committedUpTo);
            else if ("plan" in event) compactors.push(stepsOf(lake, planCompaction(filesOf(lake), marker, { now: NOW, quietMs: 0, offsetsPerFile })));
            else {
              const active = compactors.filter((steps) => steps.length > 0);
              if (active.length === 0) continue;
              active[event.step % active.length]!.shift()!();
            }
            check();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
