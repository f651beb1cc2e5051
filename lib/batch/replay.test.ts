import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { LakeReplay, type LakeRecord } from "./replay.ts";
import { decodeOrder, type Order } from "../contract/order.ts";
import { OrderGenerator } from "../sim/order-generator.ts";
import { InvalidOffsetError, WindowEngine, type AnomalyRecord, type Classification, type WindowValue } from "../hot/window-engine.ts";

const CONFIG = { windowSizeMs: 60_000, watermarkDelayMs: 120_000 };
const START = Date.parse("2026-11-20T10:00:00Z");

/** Generator output as lake records: 3 partitions by key, offsets per partition, invalid messages skipped (they still use an offset). */
function records(count: number, seed: number): LakeRecord[] {
  const generator = new OrderGenerator({
    seed,
    startMs: START,
    ratePerSecond: 5,
    chaos: { duplicates: 0.05, late: 0.04, outOfOrder: 0.2, malformed: 0.03, nulls: 0.05, skew: 0.02 },
    windowSizeMs: CONFIG.windowSizeMs,
    watermarkDelayMs: CONFIG.watermarkDelayMs,
    maxEventSkewMs: 600_000,
  });
  const nextOffset = [0, 0, 0];
  const result: LakeRecord[] = [];
  for (let i = 0; i < count; i++) {
    const message = generator.next();
    const partition = [...(message.key ?? "")].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 3, 0);
    const offset = nextOffset[partition]!++;
    const decoded = decodeOrder(message.value, message.timestamp, 600_000);
    if (decoded.ok) result.push({ partition, offset, order: decoded.order });
  }
  return result;
}

/** The reference: one engine per partition, fed directly, emitted once at the end. */
function direct(input: LakeRecord[]) {
  const engines = new Map<number, WindowEngine>();
  const classifications: Classification[] = [];
  for (const r of input) {
    let engine = engines.get(r.partition);
    if (!engine) engines.set(r.partition, (engine = new WindowEngine(r.partition, { ...CONFIG, maxCommitMetadataBytes: Number.MAX_SAFE_INTEGER })));
    classifications.push(engine.ingest({ offset: r.offset, order: r.order }));
  }
  const windows = new Map<string, WindowValue>();
  const anomalies: AnomalyRecord[] = [];
  for (const engine of engines.values()) {
    const emitted = engine.emit();
    for (const w of emitted.windows) windows.set(`${w.partition}/${w.windowStart}`, w);
    anomalies.push(...emitted.anomalies);
  }
  return { classifications, windows, anomalies };
}

function replay(input: LakeRecord[], emitEvery: number) {
  const classifications: Classification[] = [];
  const windows = new Map<string, WindowValue>();
  const anomalies: AnomalyRecord[] = [];
  const lake = new LakeReplay(CONFIG, {
    classified: (_, c) => classifications.push(c),
    window: (w) => windows.set(`${w.partition}/${w.windowStart}`, w),
    anomaly: (a) => anomalies.push(a),
  }, { emitEvery });
  for (const r of input) lake.ingest(r);
  lake.finish();
  return { classifications, windows, anomalies, lake };
}

const withoutFinal = (windows: Map<string, WindowValue>) => new Map([...windows].map(([k, w]) => [k, { ...w, final: false }]));
const byOffset = (a: AnomalyRecord, b: AnomalyRecord) => a.partition - b.partition || a.offset - b.offset;

describe("LakeReplay", () => {
  const input = records(4_000, 11);

  it("classifies every record as one engine per partition does, and ends with the same window values", () => {
    const reference = direct(input);
    const replayed = replay(input, 10_000);
    expect(replayed.classifications).toEqual(reference.classifications);
    expect(replayed.windows).toEqual(reference.windows);
    expect(replayed.anomalies.sort(byOffset)).toEqual(reference.anomalies.sort(byOffset));
    expect(reference.classifications.filter((c) => c === "late").length).toBeGreaterThan(20);
    expect(reference.classifications.filter((c) => c === "duplicate").length).toBeGreaterThan(20);
  });

  it("gives the same latest window values and anomalies however often it emits (only the final flag of windows open at the end may differ)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5_000 }), (emitEvery) => {
        const often = replay(input, emitEvery);
        const once = replay(input, 1_000_000);
        expect(withoutFinal(often.windows)).toEqual(withoutFinal(once.windows));
        expect(often.anomalies.sort(byOffset)).toEqual(once.anomalies.sort(byOffset));
      }),
      { numRuns: 8 },
    );
  });

  it("does not depend on how partitions interleave", () => {
    const byPartition = [...input].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    expect(replay(byPartition, 100).classifications.length).toBe(input.length);
    expect(withoutFinal(replay(byPartition, 100).windows)).toEqual(withoutFinal(replay(input, 100).windows));
  });

  it("reports each partition's watermark", () => {
    const { lake } = replay(input, 500);
    const maxEvent = (p: number) => Math.max(...input.filter((r) => r.partition === p).map((r) => r.order.eventTime));
    expect(lake.watermarks()).toEqual(new Map([0, 1, 2].map((p) => [p, maxEvent(p) - CONFIG.watermarkDelayMs])));
    expect(lake.records).toBe(input.length);
  });

  it("refuses a row it has already seen (an offset that does not increase)", () => {
    const order: Order = input[0]!.order;
    const lake = new LakeReplay(CONFIG);
    lake.ingest({ partition: 0, offset: 5, order });
    expect(() => lake.ingest({ partition: 0, offset: 5, order })).toThrow(InvalidOffsetError);
    expect(() => new LakeReplay({ windowSizeMs: 0, watermarkDelayMs: 0 })).toThrow(/windowSizeMs/);
    expect(() => new LakeReplay(CONFIG, {}, { emitEvery: 0 })).toThrow(/emitEvery/);
  });
});
