import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Order } from "../contract/order.ts";
import { CommitMetadataError, InvalidOffsetError, KAFKA_COMMIT_METADATA_MAX_BYTES, WindowEngine, WindowEngineConfigError, type AnomalyRecord, type CommitPoint, type EmitResult, type WindowEngineConfig, type WindowValue } from "./window-engine.ts";
import { amountToCents } from "../contract/money.ts";
import { decodeCommitMetadata } from "./commit-metadata.ts";
import { windowStartOf } from "../contract/time.ts";
import { CustomerSegments } from "../contract/dims.ts";

const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
const S = 1_000;
const MIN = 60_000;
const DEFAULTS: WindowEngineConfig = { windowSizeMs: MIN, watermarkDelayMs: 2 * MIN };

let nextId = 0;
function order(eventTime: number, extra: Partial<Order> = {}): Order {
  return {
    orderId: `o${nextId++}`,
    customerId: "c1",
    productId: "p1",
    category: "coffee",
    country: "US",
    channel: "web",
    quantity: 1,
    unitPrice: null,
    amount: 1,
    eventTime,
    ...extra,
  };
}

/** Feeds orders at consecutive offsets from `firstOffset`; returns their classifications. */
function feed(engine: WindowEngine, orders: Order[], firstOffset = 0) {
  return orders.map((o, i) => engine.ingest({ offset: firstOffset + i, order: o }));
}

const finals = (result: EmitResult) => result.windows.filter((w) => w.final);
const partials = (result: EmitResult) => result.windows.filter((w) => !w.final);

describe("windowStartOf / amountToCents", () => {
  it("aligns windows to UTC epoch multiples of the window size", () => {
    expect(windowStartOf(T0 + 59_999, MIN)).toBe(T0);
    expect(windowStartOf(T0 + 60_000, MIN)).toBe(T0 + MIN);
    expect(windowStartOf(T0 + 1, 5 * MIN)).toBe(T0); // 10:00 is a multiple of 5 minutes
    expect(windowStartOf(T0 + 7 * MIN, 5 * MIN)).toBe(T0 + 5 * MIN);
    expect(windowStartOf(-1, MIN)).toBe(-MIN);
  });

  it("rounds each amount half up to the cent as the decimal reads", () => {
    expect(amountToCents(9)).toBe(900);
    expect(amountToCents(0.1)).toBe(10);
    expect(amountToCents(1.005)).toBe(101);
    expect(amountToCents(4.994)).toBe(499);
    expect(amountToCents(999_999_999.99)).toBe(99_999_999_999);
    expect(amountToCents(0)).toBe(0);
  });
});

describe("WindowEngine rules", () => {
  it("breaks a window down by segment with the dim_customer version it opened with, and records that version", () => {
    const v1 = new CustomerSegments("aaaaaaaaaaaaaaaa", [["c1", "consumer"], ["c2", "enterprise"]]);
    const v2 = new CustomerSegments("bbbbbbbbbbbbbbbb", [["c1", "loyal"], ["c2", "enterprise"]]);
    let current = v1;
    const asked: [number, number][] = [];
    const engine = new WindowEngine(2, { ...DEFAULTS, segmentsFor: (partition, windowStart) => (asked.push([partition, windowStart]), current) });
    feed(engine, [order(T0 + S, { customerId: "c1", amount: 2 }), order(T0 + 2 * S, { customerId: "c2", amount: 3 })]);
    current = v2; // a dims:load while the first window is open: only windows opened from now on use it
    feed(engine, [order(T0 + 3 * S, { customerId: "c1", amount: 4 }), order(T0 + MIN, { customerId: "c1", amount: 5 }), order(T0 + MIN + S, { customerId: null, amount: 6 }), order(T0 + MIN + 2 * S, { customerId: "c9", amount: 7 })], 2);
    const { windows } = engine.emit();
    expect(windows.map((w) => [w.windowStart, w.dimsVersion, w.bySegment.map((t) => [t.key, t.orders, t.revenueCents])])).toEqual([
      [T0, "aaaaaaaaaaaaaaaa", [["consumer", 2, 600], ["enterprise", 1, 300]]],
      [T0 + MIN, "bbbbbbbbbbbbbbbb", [["UNKNOWN", 2, 1300], ["loyal", 1, 500]]],
    ]);
    // Asked once per window, when it opened.
    expect(asked).toEqual([[2, T0], [2, T0 + MIN]]);
    const plain = new WindowEngine(0, DEFAULTS);
    feed(plain, [order(T0)]);
    expect(plain.emit().windows.map((w) => [w.dimsVersion, w.bySegment])).toEqual([[null, [{ key: "UNKNOWN", revenueCents: 100, orders: 1 }]]]);
  });

  it("puts on-time orders in their aligned window and sums revenue exactly in cents", () => {
    const engine = new WindowEngine(3, DEFAULTS);
    expect(feed(engine, [order(T0 + 1, { amount: 0.1 }), order(T0 + 59_999, { amount: 0.2 }), order(T0 + MIN, { amount: 5 })])).toEqual([
      "on-time",
      "on-time",
      "on-time",
    ]);
    const { windows } = engine.emit();
    expect(windows.map((w) => [w.partition, w.windowStart, w.windowEnd, w.revenueCents, w.orders, w.final])).toEqual([
      [3, T0, T0 + MIN, 30, 2, false],
      [3, T0 + MIN, T0 + 2 * MIN, 500, 1, false],
    ]);
  });

  it("makes a window final exactly when the watermark reaches its end", () => {
    const engine = new WindowEngine(0, DEFAULTS);
    feed(engine, [order(T0 + 10 * S), order(T0 + 3 * MIN - 1)]);
    expect(engine.stats().watermark).toBe(T0 + MIN - 1);
    expect(finals(engine.emit())).toEqual([]);
    engine.ingest({ offset: 2, order: order(T0 + 3 * MIN) }); // watermark = T0 + 1m = end of the first window
    expect(finals(engine.emit()).map((w) => w.windowStart)).toEqual([T0]);
  });

  it("classifies an event for a final window as late, keeps it out and reports it", () => {
    const engine = new WindowEngine(1, DEFAULTS);
    feed(engine, [order(T0 + 10 * S), order(T0 + 3 * MIN)]);
    const late = order(T0 + 30 * S, { amount: 2.5 });
    expect(engine.ingest({ offset: 7, order: late })).toBe("late");
    const result = engine.emit();
    expect(result.anomalies).toEqual([{ kind: "late", partition: 1, offset: 7, windowStart: T0, amount: 2.5 }]);
    expect(finals(result)).toMatchObject([{ windowStart: T0, orders: 1, revenueCents: 100 }]);
  });

  it("still counts an event on time while its window is open, however out of order", () => {
    const engine = new WindowEngine(0, DEFAULTS);
    feed(engine, [order(T0 + 3 * MIN - 1), order(T0 + 5 * S)]);
    expect(engine.emit().windows.map((w) => [w.windowStart, w.orders])).toEqual([
      [T0, 1],
      [T0 + 2 * MIN, 1],
    ]);
  });

  it("classifies a repeated order id as a duplicate: the first one wins", () => {
    const engine = new WindowEngine(2, DEFAULTS);
    const first = order(T0 + 5 * S, { amount: 3 });
    expect(feed(engine, [first, { ...first, amount: 99 }, { ...first }])).toEqual(["on-time", "duplicate", "duplicate"]);
    const result = engine.emit();
    expect(result.windows).toMatchObject([{ orders: 1, revenueCents: 300 }]);
    expect(result.anomalies).toEqual([
      { kind: "duplicate", partition: 2, offset: 1, windowStart: T0, amount: 99 },
      { kind: "duplicate", partition: 2, offset: 2, windowStart: T0, amount: 3 },
    ]);
  });

  it("remembers a late order's id too, so its re-send is a duplicate, not late again", () => {
    const engine = new WindowEngine(0, DEFAULTS);
    const late = order(T0);
    expect(feed(engine, [order(T0 + 10 * MIN), late, { ...late }])).toEqual(["on-time", "late", "duplicate"]);
  });

  it("forgets an order id once max event time passes seenAt + horizon, not before", () => {
    const engine = new WindowEngine(0, { windowSizeMs: MIN, watermarkDelayMs: 0, dedupHorizonMs: 2 * MIN });
    const first = order(T0);
    feed(engine, [first, order(T0 + 2 * MIN)]); // max event time = seenAt + horizon: still remembered
    expect(engine.ingest({ offset: 2, order: { ...first } })).toBe("duplicate");
    engine.ingest({ offset: 3, order: order(T0 + 2 * MIN + 1) });
    expect(engine.ingest({ offset: 4, order: { ...first } })).toBe("late");
    expect(engine.stats().rememberedOrderIds).toBe(3); // the last two plus the re-registered first
  });

  it("measures the horizon from the partition's clock at arrival, not from the event time", () => {
    const engine = new WindowEngine(0, { windowSizeMs: MIN, watermarkDelayMs: 0, dedupHorizonMs: MIN });
    const late = order(T0);
    feed(engine, [order(T0 + 5 * MIN), late, order(T0 + 5 * MIN + 30 * S)]);
    expect(engine.ingest({ offset: 3, order: { ...late } })).toBe("duplicate");
  });

  it("rejects a horizon shorter than window size plus watermark delay, and bad settings", () => {
    expect(() => new WindowEngine(0, { ...DEFAULTS, dedupHorizonMs: 3 * MIN - 1 })).toThrow(WindowEngineConfigError);
    expect(() => new WindowEngine(0, { ...DEFAULTS, windowSizeMs: 0 })).toThrow(WindowEngineConfigError);
    expect(() => new WindowEngine(-1, DEFAULTS)).toThrow(WindowEngineConfigError);
    expect(new WindowEngine(0, DEFAULTS).dedupHorizonMs).toBe(3 * MIN);
  });

  it("closes the last windows through idle ticks counted from the last record", () => {
    const engine = new WindowEngine(0, DEFAULTS);
    expect(engine.idleAdvance(10 * MIN)).toBe(false); // nothing seen yet
    feed(engine, [order(T0 + 30 * S), order(T0 + 10 * S)]);
    expect(partials(engine.emit())).toHaveLength(1);
    expect(engine.idleAdvance(30 * S)).toBe(true);
    expect(engine.idleAdvance(30 * S)).toBe(false); // same elapsed time: idempotent
    expect(engine.stats().maxEventTime).toBe(T0 + MIN);
    expect(engine.emit().windows).toEqual([]);
    expect(engine.idleAdvance(2 * MIN + 29_999)).toBe(true);
    expect(finals(engine.emit())).toEqual([]);
    engine.idleAdvance(2 * MIN + 30 * S); // watermark = T0 + 1m
    expect(finals(engine.emit())).toMatchObject([{ windowStart: T0, orders: 2, final: true }]);
    expect(() => engine.idleAdvance(-1)).toThrow(RangeError);
  });

  it("totals revenue and orders by country and by category, sorted by key", () => {
    const engine = new WindowEngine(0, DEFAULTS);
    feed(engine, [
      order(T0, { country: "US", category: "tea", amount: 1.5 }),
      order(T0 + 1, { country: "DE", category: "coffee", amount: 2 }),
      order(T0 + 2, { country: "US", category: "coffee", amount: 0.25 }),
    ]);
    const [window] = engine.emit().windows;
    expect(window!.byCountry).toEqual([
      { key: "DE", revenueCents: 200, orders: 1 },
      { key: "US", revenueCents: 175, orders: 2 },
    ]);
    expect(window!.byCategory).toEqual([
      { key: "coffee", revenueCents: 225, orders: 2 },
      { key: "tea", revenueCents: 150, orders: 1 },
    ]);
  });

  it("counts distinct non-null customers and sums quantities as items", () => {
    const engine = new WindowEngine(0, DEFAULTS);
    feed(engine, [
      order(T0, { customerId: "a", quantity: 2 }),
      order(T0, { customerId: "a", quantity: 1 }),
      order(T0, { customerId: null, quantity: 3 }),
      order(T0, { customerId: null }),
      order(T0, { customerId: "b" }),
    ]);
    expect(engine.emit().windows).toMatchObject([{ orders: 5, items: 8, customers: 2 }]);
  });

  it("emits partials only for windows that changed, and each final value exactly once", () => {
    const engine = new WindowEngine(0, DEFAULTS);
    feed(engine, [order(T0), order(T0 + MIN)]);
    expect(engine.emit().windows.map((w) => w.windowStart)).toEqual([T0, T0 + MIN]);
    expect(engine.emit().windows).toEqual([]);
    engine.ingest({ offset: 2, order: order(T0 + MIN + 1) });
    expect(engine.emit().windows.map((w) => [w.windowStart, w.orders, w.final])).toEqual([[T0 + MIN, 2, false]]);
    engine.ingest({ offset: 3, order: order(T0 + 4 * MIN) }); // closes both, the second changed nothing since
    expect(engine.emit().windows.map((w) => [w.windowStart, w.final])).toEqual([
      [T0, true],
      [T0 + MIN, true],
      [T0 + 4 * MIN, false],
    ]);
    engine.idleAdvance(60 * MIN);
    expect(engine.emit().windows.map((w) => [w.windowStart, w.final])).toEqual([[T0 + 4 * MIN, true]]);
    engine.idleAdvance(120 * MIN);
    expect(engine.emit().windows).toEqual([]);
    expect(engine.stats()).toMatchObject({ openWindows: 0, rememberedOrderIds: 0, pendingAnomalies: 0 });
  });

  it("refuses offsets that do not strictly increase, with partition and offsets", () => {
    const engine = new WindowEngine(5, DEFAULTS);
    engine.ingest({ offset: 10, order: order(T0) });
    const attempt = () => engine.ingest({ offset: 10, order: order(T0) });
    expect(attempt).toThrow(InvalidOffsetError);
    expect(attempt).toThrow("partition 5: offset 10 does not follow 10");
    try {
      engine.ingest({ offset: 3, order: order(T0) });
    } catch (error) {
      expect(error).toMatchObject({ partition: 5, offset: 3, previousOffset: 10 });
    }
    expect(() => engine.ingest({ offset: 11.5, order: order(T0) })).toThrow(InvalidOffsetError);
    expect(engine.ingest({ offset: 14, order: order(T0) })).toBe("on-time"); // gaps are fine
  });
});

describe("WindowEngine commit points", () => {
  it("has nothing to commit before the first record", () => {
    const engine = new WindowEngine(0, DEFAULTS);
    expect(engine.emit()).toEqual({ windows: [], anomalies: [], commit: null, blocked: false });
    expect(engine.commitPoint()).toBeNull();
  });

  it("commits the lowest offset still feeding retained state, else the next offset", () => {
    const engine = new WindowEngine(4, DEFAULTS);
    engine.ingest({ offset: 100, order: order(T0) });
    engine.ingest({ offset: 105, order: order(T0 + 2 * MIN) });
    const first = engine.emit().commit!;
    expect(first.offset).toBe(100);
    // n=6: the processed position (offset 106) is 6 past c, base 36; what monitoring reads as the consumer's position.
    // Both windows are open, opened with no dimension loaded (version "-"): T0 and two windows later.
    expect(first.metadata).toBe(`om1 p=4 w=60000/120000/180000 c=100 m=- f=${T0} b=${T0 + 2 * MIN} i= d= n=6 v=-:${(T0 / MIN).toString(36)},2`);
    expect(engine.commitPoint()).toEqual(first);
    engine.ingest({ offset: 110, order: order(T0 + 3 * MIN) }); // max event time = seenAt + 3m: still remembered
    expect(engine.emit().commit!.offset).toBe(100);
    engine.ingest({ offset: 111, order: order(T0 + 3 * MIN + 1) });
    expect(engine.emit().commit!.offset).toBe(105);
    engine.idleAdvance(60 * MIN);
    expect(engine.emit().commit).toEqual({ offset: 112, metadata: expect.stringContaining(" c=112 ") });
    expect(engine.stats()).toMatchObject({ openWindows: 0, rememberedOrderIds: 0, idleAdvances: 0, duplicateRecords: 0 });
  });

  it("resumes a duplicate whose original is before the commit offset as a duplicate", () => {
    const config = { windowSizeMs: MIN, watermarkDelayMs: 0, dedupHorizonMs: MIN };
    const engine = new WindowEngine(0, config);
    const late = order(T0 + 10 * S);
    const records = [order(T0 + 200 * S), late, order(T0 + 230 * S), { ...late }, order(T0 + 265 * S)].map((o, offset) => ({ offset, order: o }));
    expect(records.map((r) => engine.ingest(r))).toEqual(["on-time", "late", "on-time", "duplicate", "on-time"]);
    const { commit, anomalies } = engine.emit();
    expect(commit!.offset).toBe(2); // offsets 0 and 1 are forgotten, but offset 3 duplicated 1
    expect(commit!.metadata).toMatch(/ d=1 n=3( v=\S+)?$/);

    const resumed = WindowEngine.resume(0, config, commit!.metadata);
    expect(resumed.commitPoint()).toEqual(commit);
    expect(records.slice(2).map((r) => resumed.ingest(r))).toEqual(["on-time", "duplicate", "on-time"]);
    const again = resumed.emit();
    expect(again.anomalies).toEqual(anomalies.filter((a) => a.offset >= 2));
    expect(again.windows.every((w) => w.windowEnd > T0 + 265 * S)).toBe(true); // nothing final at commit time
  });

  it("replays idle advances that happened after the commit offset at the same point", () => {
    const config = { windowSizeMs: MIN, watermarkDelayMs: 0, dedupHorizonMs: 100 * S };
    const engine = new WindowEngine(0, config);
    const first = order(T0 + 10 * S);
    engine.ingest({ offset: 0, order: first });
    engine.idleAdvance(50 * S); // max event time T0 + 60s: window [T0, T0+1m) final
    const lateOrder = order(T0 + 20 * S);
    expect(engine.ingest({ offset: 1, order: lateOrder })).toBe("late");
    const { commit, windows, anomalies } = engine.emit();
    expect(windows).toMatchObject([{ windowStart: T0, final: true, orders: 1 }]);
    expect(commit!.offset).toBe(0); // offset 0's id is still remembered
    // After record 0, idle time raised max event time to T0 + 60s (absolute: nothing before offset 0).
    expect(commit!.metadata).toContain(` i=0:${(T0 + 60 * S).toString(36)} `);

    const resumed = WindowEngine.resume(0, config, commit!.metadata);
    expect(resumed.ingest({ offset: 0, order: first })).toBe("on-time");
    expect(resumed.ingest({ offset: 1, order: lateOrder })).toBe("late");
    const again = resumed.emit();
    expect(again.anomalies).toEqual(anomalies);
    expect(again.windows).toEqual([]); // final at commit time: never again, not even partially
  });

  it("counts idle time from the last record before the crash when there is nothing to replay", () => {
    const engine = new WindowEngine(0, DEFAULTS);
    engine.ingest({ offset: 0, order: order(T0 + 10 * S) });
    engine.idleAdvance(10 * MIN); // everything final and forgotten
    const { commit } = engine.emit();
    expect(commit!.offset).toBe(1);
    const resumed = WindowEngine.resume(0, DEFAULTS, commit!.metadata);
    expect(resumed.idleAdvance(10 * MIN)).toBe(false); // the same tick again: no further advance
    expect(resumed.idleAdvance(11 * MIN)).toBe(true);
    expect(resumed.stats().maxEventTime).toBe(T0 + 10 * S + 11 * MIN);
  });

  it("carries not-yet-replayed state into commits made during a replay", () => {
    const config = { windowSizeMs: MIN, watermarkDelayMs: 0, dedupHorizonMs: 100 * S };
    const engine = new WindowEngine(0, config);
    const records = [order(T0 + 10 * S), order(T0 + 15 * S), order(T0 + 20 * S)].map((o, offset) => ({ offset, order: o }));
    engine.ingest(records[0]!);
    engine.ingest(records[1]!);
    engine.idleAdvance(50 * S);
    expect(engine.ingest(records[2]!)).toBe("late");
    const { commit } = engine.emit();
    const first = WindowEngine.resume(0, config, commit!.metadata);
    first.ingest(records[0]!);
    const midReplay = first.emit().commit!; // before the idle advance was replayed
    const second = WindowEngine.resume(0, config, midReplay.metadata);
    expect(records.slice(midReplay.offset).map((r) => second.ingest(r)).at(-1)).toBe("late");
  });

  it("re-opens a window open at the commit with the dim_customer version it was opened with, not the one current at resume", () => {
    const v1 = new CustomerSegments("aaaaaaaaaaaaaaaa", [["c1", "consumer"], ["c2", "enterprise"]]);
    const v2 = new CustomerSegments("bbbbbbbbbbbbbbbb", [["c1", "loyal"], ["c2", "loyal"]]);
    const lake = new Map([v1, v2].map((v) => [v.version!, v]));
    let current = v1;
    const config: WindowEngineConfig = { ...DEFAULTS, segmentsFor: () => current, segmentsAt: (version) => lake.get(version) };
    const records = [order(T0, { customerId: "c1" }), order(T0 + MIN, { customerId: "c2" }), order(T0 + 2 * S, { customerId: "c1" })].map((o, offset) => ({ offset, order: o }));
    const live = new WindowEngine(3, config);
    live.ingest(records[0]!);
    live.ingest(records[1]!);
    const { commit, windows: before } = live.emit();
    expect(before.map((w) => w.dimsVersion)).toEqual([v1.version, v1.version]);
    expect(commit!.metadata).toContain(` v=aaaaaaaaaaaaaaaa:${(T0 / MIN).toString(36)},1`);
    expect(WindowEngine.pinnedDimsVersions(3, commit!.metadata)).toEqual([v1.version]);

    current = v2; // a dims:load while the worker was down
    const resumed = WindowEngine.resume(3, config, commit!.metadata);
    for (const r of records) resumed.ingest(r);
    resumed.ingest({ offset: 3, order: order(T0 + 2 * MIN, { customerId: "c1" }) }); // a window opened after the resume
    const after = resumed.emit().windows;
    expect(after.map((w) => [w.windowStart, w.dimsVersion, w.bySegment.map((t) => [t.key, t.orders])])).toEqual([
      [T0, v1.version, [["consumer", 2]]],
      [T0 + MIN, v1.version, [["enterprise", 1]]],
      [T0 + 2 * MIN, v2.version, [["loyal", 1]]],
    ]);

    // A pinned version the lake does not have: the window takes the current one (the worker logs it).
    const missing = WindowEngine.resume(3, { ...config, segmentsAt: () => undefined }, commit!.metadata);
    missing.ingest(records[0]!);
    expect(missing.emit().windows.map((w) => w.dimsVersion)).toEqual([v2.version]);

    // Opened before any dimension was loaded: re-opens with none (UNKNOWN), not with the version loaded since.
    current = CustomerSegments.NONE;
    const bare = new WindowEngine(3, config);
    bare.ingest(records[0]!);
    const bareCommit = bare.emit().commit!;
    expect(WindowEngine.pinnedDimsVersions(3, bareCommit.metadata)).toEqual([]);
    current = v2;
    const bareResumed = WindowEngine.resume(3, config, bareCommit.metadata);
    bareResumed.ingest(records[0]!);
    expect(bareResumed.emit().windows.map((w) => [w.dimsVersion, w.bySegment.map((t) => t.key)])).toEqual([[null, ["UNKNOWN"]]]);
  });

  it("carries pinned versions of windows not re-opened yet into commits made during the replay, and drops them once final", () => {
    const v1 = new CustomerSegments("aaaaaaaaaaaaaaaa", [["c1", "consumer"]]);
    const v2 = new CustomerSegments("bbbbbbbbbbbbbbbb", [["c1", "loyal"]]);
    let current = v1;
    const config: WindowEngineConfig = { ...DEFAULTS, segmentsFor: () => current, segmentsAt: (version) => [v1, v2].find((v) => v.version === version) };
    const live = new WindowEngine(0, config);
    live.ingest({ offset: 0, order: order(T0) });
    live.ingest({ offset: 1, order: order(T0 + MIN) });
    const commit = live.emit().commit!;
    current = v2;
    const first = WindowEngine.resume(0, config, commit.metadata);
    first.ingest({ offset: 0, order: order(T0) });
    const midReplay = first.emit().commit!; // T0 + MIN not re-opened yet: still pinned to v1
    expect(midReplay.metadata).toContain(` v=aaaaaaaaaaaaaaaa:${(T0 / MIN).toString(36)},1`);
    const second = WindowEngine.resume(0, config, midReplay.metadata);
    second.ingest({ offset: 1, order: order(T0 + MIN) });
    expect(second.emit().windows.map((w) => w.dimsVersion)).toEqual([v1.version]);
    second.idleAdvance(10 * MIN);
    const done = second.emit();
    expect(done.windows.map((w) => [w.final, w.dimsVersion])).toEqual([[true, v1.version]]);
    expect(done.commit!.metadata).not.toContain(" v=");
  });

  it("resumes metadata written before versions were pinned as before: windows take the version current at resume", () => {
    const v2 = new CustomerSegments("bbbbbbbbbbbbbbbb", [["c1", "loyal"]]);
    const legacy = `om1 p=0 w=60000/120000/180000 c=0 m=- f=${T0 - 2 * MIN} b=${T0} i= d=`;
    expect(WindowEngine.pinnedDimsVersions(0, legacy)).toEqual([]);
    const engine = WindowEngine.resume(0, { ...DEFAULTS, segmentsFor: () => v2, segmentsAt: () => { throw new Error("not asked"); } }, legacy);
    engine.ingest({ offset: 0, order: order(T0) });
    expect(engine.emit().windows.map((w) => [w.dimsVersion, w.bySegment.map((t) => t.key)])).toEqual([[v2.version, ["loyal"]]]);
  });

  it("rejects malformed pinned versions", () => {
    const base = `om1 p=0 w=60000/120000/180000 c=0 m=- f=${T0} b=${T0} i= d=`;
    for (const bad of [" v=", " v=aaaa", " v=aa:", " v=a!:1", " v=aa:1;bb:1", " v=aa:1,0", ` v=${"a".repeat(65)}:1`])
      expect(() => WindowEngine.resume(0, DEFAULTS, base + bad), bad).toThrow(CommitMetadataError);
    expect(WindowEngine.pinnedDimsVersions(0, `${base} v=-:1;aa:2,1`)).toEqual(["aa"]);
  });

  it("rejects metadata from another partition, configuration or format", () => {
    const engine = new WindowEngine(1, DEFAULTS);
    engine.ingest({ offset: 0, order: order(T0) });
    const { metadata } = engine.emit().commit!;
    expect(() => WindowEngine.resume(2, DEFAULTS, metadata)).toThrow(CommitMetadataError);
    expect(() => WindowEngine.resume(1, { ...DEFAULTS, dedupHorizonMs: 4 * MIN }, metadata)).toThrow(/dedupHorizonMs/);
    expect(() => WindowEngine.resume(1, DEFAULTS, "")).toThrow(CommitMetadataError);
    expect(() => WindowEngine.resume(1, DEFAULTS, metadata.replace("c=0", "c=x"))).toThrow(/malformed/);
    expect(() => WindowEngine.resume(1, DEFAULTS, `${metadata} x=1`)).toThrow(CommitMetadataError);
    expect(WindowEngine.resume(1, DEFAULTS, metadata).stats().nextOffset).toBe(0);
  });

  it("records the processed position (n=) apart from the commit offset, and still resumes from metadata written without it", () => {
    const engine = new WindowEngine(3, DEFAULTS);
    for (let offset = 0; offset < 40; offset++) engine.ingest({ offset, order: order(T0 + offset * S) });
    const { offset, metadata } = engine.emit().commit!;
    expect(offset).toBe(0); // every order is still within the de-duplication horizon
    expect(decodeCommitMetadata(3, metadata).processedNext).toBe(40);
    const old = metadata.replace(/ n=[0-9a-z]+/, "");
    expect(decodeCommitMetadata(3, old).processedNext).toBeUndefined();
    const resumed = WindowEngine.resume(3, DEFAULTS, old);
    expect(resumed.stats().nextOffset).toBe(0);
    resumed.ingest({ offset: 0, order: order(T0) });
    expect(decodeCommitMetadata(3, resumed.emit().commit!.metadata).processedNext).toBe(1);
  });

  it("blocks releases while the metadata would not fit, then releases everything", () => {
    const config = { windowSizeMs: MIN, watermarkDelayMs: 0, maxCommitMetadataBytes: 110 };
    const engine = new WindowEngine(0, config);
    engine.ingest({ offset: 0, order: order(T0) });
    const good = engine.emit();
    expect(good.blocked).toBe(false);
    for (let i = 1; i <= 10; i++) {
      engine.ingest({ offset: i, order: order(T0 + i * S) });
      engine.idleAdvance(500); // one idle advance per record: the metadata grows
    }
    engine.ingest({ offset: 11, order: order(T0) }); // still on time: a partial value to hold back
    const blocked = engine.emit();
    expect(blocked).toEqual({ windows: [], anomalies: [], commit: good.commit, blocked: true });
    expect(engine.stats().blockedEmits).toBe(1);
    engine.idleAdvance(10 * MIN);
    const released = engine.emit();
    expect(released.blocked).toBe(false);
    expect(released.windows).toMatchObject([{ windowStart: T0, final: true, orders: 12 }]);
    expect(released.commit!.metadata.length).toBeLessThanOrEqual(110);
  });

  it("keeps internal state bounded by the open horizon over a long stream", () => {
    const engine = new WindowEngine(0, DEFAULTS);
    const peak = { openWindows: 0, rememberedOrderIds: 0, duplicateRecords: 0, idleAdvances: 0, pendingAnomalies: 0, metadata: 0 };
    let offset = 0;
    let recent: Order[] = [];
    let finalsSeen = 0;
    for (let i = 0; i < 60_000; i++) {
      const time = T0 + i * 100; // 10 orders per second of event time, 100 minutes in all
      let o = order(time - (i % 97 === 0 ? 5 * MIN : i % 7) * S, { customerId: `c${i % 50}` });
      if (i % 13 === 0 && recent.length > 0) o = recent[i % recent.length]!;
      recent = [...recent.slice(-19), o];
      engine.ingest({ offset: (offset += 1 + (i % 3)), order: o });
      if (i % 500 === 499) engine.idleAdvance(2 * S);
      if (i % 50 === 49) {
        const result = engine.emit();
        finalsSeen += finals(result).length;
        peak.metadata = Math.max(peak.metadata, result.commit!.metadata.length);
        const stats = engine.stats();
        for (const key of ["openWindows", "rememberedOrderIds", "duplicateRecords", "idleAdvances", "pendingAnomalies"] as const)
          peak[key] = Math.max(peak[key], stats[key]);
      }
    }
    expect(finalsSeen).toBeGreaterThan(95);
    expect(peak.openWindows).toBeLessThanOrEqual(4); // 2m delay over 1m windows, plus the one filling
    expect(peak.rememberedOrderIds).toBeLessThanOrEqual(3 * 600 + 100); // 3m horizon at 10/s
    expect(peak.duplicateRecords).toBeLessThanOrEqual(200);
    expect(peak.idleAdvances).toBeLessThanOrEqual(5); // one per 50 s of event time within the 3m horizon
    expect(peak.pendingAnomalies).toBeLessThanOrEqual(50);
    expect(peak.metadata).toBeLessThan(KAFKA_COMMIT_METADATA_MAX_BYTES);
  });
});

// ---------------------------------------------------------------------------------------
// Property tests against a brute-force oracle. The oracle shares no code or state with the
// engine: it recomputes everything from the whole history, straight from design.md.
// ---------------------------------------------------------------------------------------

interface IngestOp {
  kind: "ingest";
  offset: number;
  order: Order;
}
interface IdleOp {
  kind: "idle";
  elapsedMs: number;
}
interface EmitOp {
  kind: "emit";
}
interface CrashOp {
  kind: "crash";
  /** The restarted worker emits after every n replayed records (0: not during the replay). */
  replayEmitEvery: number;
}
type Op = IngestOp | IdleOp | EmitOp;
type SimOp = Op | CrashOp;

interface Settings {
  windowSizeMs: number;
  watermarkDelayMs: number;
  dedupHorizonMs: number;
}

interface ExpectedEmit {
  windows: WindowValue[];
  anomalies: AnomalyRecord[];
}

function oracle(ops: Op[], cfg: Settings, partition: number) {
  const { windowSizeMs: size, watermarkDelayMs: delay, dedupHorizonMs: horizon } = cfg;
  const startOf = (t: number) => Math.floor(t / size) * size;

  const maxAfter = new Map<number, number>();
  /** Max event time after ops[0..k], idle ticks included; -Infinity for k < 0. */
  const maxEventTimeAfter = (k: number): number => {
    if (maxAfter.has(k)) return maxAfter.get(k)!;
    let max = -Infinity;
    let atLastRecord = -Infinity;
    for (let i = 0; i <= k; i++) {
      const op = ops[i]!;
      if (op.kind === "ingest") atLastRecord = max = Math.max(max, op.order.eventTime);
      else if (op.kind === "idle") max = Math.max(max, atLastRecord + op.elapsedMs);
    }
    maxAfter.set(k, max);
    return max;
  };

  const kinds = new Map<number, "on-time" | "late" | "duplicate">();
  const kindOf = (i: number): "on-time" | "late" | "duplicate" => {
    if (kinds.has(i)) return kinds.get(i)!;
    const op = ops[i] as IngestOp;
    const before = maxEventTimeAfter(i - 1);
    let kind: "on-time" | "late" | "duplicate" = startOf(op.order.eventTime) + size <= before - delay ? "late" : "on-time";
    for (let j = 0; j < i; j++) {
      const other = ops[j]!;
      if (other.kind !== "ingest" || other.order.orderId !== op.order.orderId || kindOf(j) === "duplicate") continue;
      const seenAt = Math.max(maxEventTimeAfter(j - 1), other.order.eventTime);
      if (before <= seenAt + horizon) kind = "duplicate";
    }
    kinds.set(i, kind);
    return kind;
  };

  const value = (start: number, records: Order[], final: boolean): WindowValue => {
    const by = (dimension: (o: Order) => string) =>
      [...new Set(records.map(dimension))].sort().map((key) => {
        const matching = records.filter((o) => dimension(o) === key);
        return { key, revenueCents: matching.reduce((sum, o) => sum + Math.round(o.amount * 100), 0), orders: matching.length };
      });
    return {
      partition,
      windowStart: start,
      windowEnd: start + size,
      final,
      revenueCents: records.reduce((sum, o) => sum + Math.round(o.amount * 100), 0),
      orders: records.length,
      items: records.reduce((sum, o) => sum + o.quantity, 0),
      customers: new Set(records.map((o) => o.customerId).filter((c) => c !== null)).size,
      dimsVersion: null,
      byCountry: by((o) => o.country),
      byCategory: by((o) => o.category),
      bySegment: by(() => "UNKNOWN"),
    };
  };

  const ingestIndexes = ops.flatMap((op, i) => (op.kind === "ingest" ? [i] : []));
  const onTimeBefore = (k: number, start: number) =>
    ingestIndexes.filter((i) => i < k && kindOf(i) === "on-time" && startOf((ops[i] as IngestOp).order.eventTime) === start);

  const emits: ExpectedEmit[] = [];
  const finalValues = new Map<number, WindowValue>();
  let previousEmit = -1;
  ops.forEach((op, k) => {
    if (op.kind !== "emit") return;
    const watermark = maxEventTimeAfter(k) - delay;
    const starts = [...new Set(ingestIndexes.filter((i) => i < k && kindOf(i) === "on-time").map((i) => startOf((ops[i] as IngestOp).order.eventTime)))];
    const windows: WindowValue[] = [];
    for (const start of starts.sort((a, b) => a - b)) {
      const records = onTimeBefore(k, start);
      const orders = records.map((i) => (ops[i] as IngestOp).order);
      if (start + size <= watermark) {
        if (finalValues.has(start)) continue;
        finalValues.set(start, value(start, orders, true));
        windows.push(finalValues.get(start)!);
      } else if (records.some((i) => i > previousEmit)) {
        windows.push(value(start, orders, false));
      }
    }
    const anomalies = ingestIndexes
      .filter((i) => i > previousEmit && i < k && kindOf(i) !== "on-time")
      .map((i) => {
        const { offset, order: o } = ops[i] as IngestOp;
        return { kind: kindOf(i) as "late" | "duplicate", partition, offset, windowStart: startOf(o.eventTime), amount: o.amount };
      });
    emits.push({ windows, anomalies });
    previousEmit = k;
  });
  const anomalies = emits.flatMap((e) => e.anomalies);
  return { emits, finalValues, anomalies, kindOf, ingestIndexes };
}

// Generators: a drifting clock, events lagging behind it (some far enough to be late),
// true duplicates of recent or old orders, idle ticks, emits and (for recovery) crashes.

const settingsArb: fc.Arbitrary<Settings> = fc
  .record({
    windowSizeMs: fc.constantFrom(1_000, 60_000),
    delayWindows: fc.constantFrom(0, 0.5, 2),
    extraHorizonWindows: fc.constantFrom(0, 0, 1, 3),
  })
  .map(({ windowSizeMs, delayWindows, extraHorizonWindows }) => {
    const watermarkDelayMs = windowSizeMs * delayWindows;
    return { windowSizeMs, watermarkDelayMs, dedupHorizonMs: windowSizeMs * (1 + extraHorizonWindows) + watermarkDelayMs };
  });

type Draft =
  | { kind: "ingest"; advance: number; lag: number; gap: number; duplicate: { recent: boolean; pick: number } | null; customer: string | null; country: string; category: string; quantity: number; cents: number }
  | { kind: "idle"; fraction: number }
  | { kind: "emit" }
  | CrashOp;

const ingestDraft = fc.record({
  kind: fc.constant("ingest" as const),
  advance: fc.integer({ min: 0, max: 1_000 }),
  lag: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 1_500 }) }),
  gap: fc.integer({ min: 1, max: 3 }),
  duplicate: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.record({ recent: fc.boolean(), pick: fc.nat() }) }),
  customer: fc.constantFrom(null, "c1", "c2", "c3"),
  country: fc.constantFrom("US", "DE", "FR"),
  category: fc.constantFrom("coffee", "tea", "UNKNOWN"),
  quantity: fc.integer({ min: 1, max: 3 }),
  cents: fc.integer({ min: 0, max: 5_000 }),
});
const idleDraft = fc.record({ kind: fc.constant("idle" as const), fraction: fc.integer({ min: 0, max: 3_000 }) });
const emitDraft = fc.constant({ kind: "emit" as const });
const crashDraft = fc.record({ kind: fc.constant("crash" as const), replayEmitEvery: fc.constantFrom(0, 1, 3) });

const draftsArb = (withCrashes: boolean) =>
  fc.array(
    fc.oneof(
      { weight: 10, arbitrary: ingestDraft },
      { weight: 3, arbitrary: idleDraft },
      { weight: 3, arbitrary: emitDraft },
      { weight: withCrashes ? 1 : 0, arbitrary: crashDraft },
    ),
    { minLength: 5, maxLength: 60, size: "max" },
  );

/** Turns drafts into concrete ops; ends with a long idle tick and an emit so every window is final. */
function materialize(drafts: Draft[], cfg: Settings): SimOp[] {
  const scale = (thousandths: number, ms: number) => Math.round((thousandths / 1_000) * ms);
  const span = cfg.windowSizeMs + cfg.watermarkDelayMs;
  let clock = T0;
  let clockAtLastRecord = T0;
  let offset = -1;
  const orders: Order[] = [];
  const ops: SimOp[] = drafts.map((d): SimOp => {
    if (d.kind === "emit" || d.kind === "crash") return d;
    if (d.kind === "idle") {
      // Idle time is wall-clock time: the producers' clock moves on too.
      const elapsedMs = scale(d.fraction, span);
      clock = Math.max(clock, clockAtLastRecord + elapsedMs);
      return { kind: "idle", elapsedMs };
    }
    clockAtLastRecord = clock += scale(d.advance, cfg.windowSizeMs / 2);
    offset += d.gap;
    if (d.duplicate && orders.length > 0) {
      const { recent, pick } = d.duplicate;
      const index = recent ? orders.length - 1 - (pick % Math.min(orders.length, 5)) : pick % orders.length;
      return { kind: "ingest", offset, order: { ...orders[index]! } };
    }
    const o: Order = {
      orderId: `o${orders.length}`,
      customerId: d.customer,
      productId: "p",
      category: d.category,
      country: d.country,
      channel: "web",
      quantity: d.quantity,
      unitPrice: null,
      amount: d.cents / 100,
      eventTime: clock - scale(d.lag, span),
    };
    orders.push(o);
    return { kind: "ingest", offset, order: o };
  });
  return [...ops, { kind: "idle", elapsedMs: 10 * (cfg.dedupHorizonMs + span) }, { kind: "emit" }];
}

/** InfluxDB as the sink sees it: upserts keyed by window start, and by offset for anomalies. */
class InfluxSim {
  readonly windows = new Map<number, WindowValue>();
  readonly anomalies = new Map<number, AnomalyRecord>();

  write(result: EmitResult): void {
    for (const w of result.windows) {
      // A final value is written once; nothing may touch it afterwards, not even a rewrite.
      if (this.windows.get(w.windowStart)?.final) throw new Error(`window ${w.windowStart} written after its final value: ${JSON.stringify(w)}`);
      this.windows.set(w.windowStart, w);
    }
    for (const a of result.anomalies) {
      const previous = this.anomalies.get(a.offset);
      if (previous) expect(a, "a replayed anomaly rewrites its own point identically").toEqual(previous);
      this.anomalies.set(a.offset, a);
    }
  }
}

/**
 * Runs the worker loop with kill -9 crashes: a crash loses the engine and every idle tick
 * since the last released emit (wall-clock facts nothing persisted); the restarted worker
 * resumes from the last released commit and replays the records it had read from its offset.
 * Returns the sink's final state and the uninterrupted history it must equal.
 */
function runWithCrashes(ops: SimOp[], config: WindowEngineConfig, partition: number, hooks: { beforeOp?: (op: SimOp) => void; onRelease?: (result: EmitResult) => void } = {}) {
  const influx = new InfluxSim();
  const log: IngestOp[] = [];
  const lostIdle = new Set<number>();
  let engine = new WindowEngine(partition, config);
  let commit: CommitPoint | null = null;
  let commitCutoff = -1; // op index up to which nothing is lost by a crash
  const release = (result: EmitResult, cutoff: number) => {
    if (result.commit) expect(result.commit.metadata.length).toBeLessThanOrEqual(config.maxCommitMetadataBytes ?? 4096);
    hooks.onRelease?.(result);
    influx.write(result);
    if (result.blocked) return;
    commit = result.commit;
    commitCutoff = cutoff;
  };
  ops.forEach((op, i) => {
    hooks.beforeOp?.(op);
    if (op.kind === "ingest") {
      log.push(op);
      engine.ingest(op);
    } else if (op.kind === "idle") {
      engine.idleAdvance(op.elapsedMs);
    } else if (op.kind === "emit") {
      release(engine.emit(), i);
    } else {
      for (let j = commitCutoff + 1; j < i; j++) if (ops[j]!.kind === "idle") lostIdle.add(j);
      const from: CommitPoint | null = commit;
      engine = from ? WindowEngine.resume(partition, config, from.metadata) : new WindowEngine(partition, config);
      let replayed = 0;
      for (const record of log) {
        if (from && record.offset < from.offset) continue;
        engine.ingest(record);
        if (op.replayEmitEvery > 0 && ++replayed % op.replayEmitEvery === 0) release(engine.emit(), i);
      }
    }
  });
  const reference = ops.filter((op, i): op is Op => op.kind !== "crash" && !lostIdle.has(i));
  return { influx, reference, engine };
}

describe("WindowEngine.advanceEmpty", () => {
  it("moves a fresh partition's watermark with the wall clock, and an event behind it is then late", () => {
    const engine = new WindowEngine(0, { windowSizeMs: 60_000, watermarkDelayMs: 120_000 });
    expect(engine.stats().watermark).toBeNull();
    expect(engine.advanceEmpty(T0 + 10 * 60_000, 0)).toBe(true);
    expect(engine.stats().watermark).toBe(T0 + 8 * 60_000);
    expect(engine.advanceEmpty(T0, 0)).toBe(false); // never backwards
    const late = { orderId: "x", customerId: null, productId: "p", category: "c", country: "US", channel: "web", quantity: 1, unitPrice: null, amount: 1, eventTime: T0 };
    expect(engine.ingest({ offset: 0, order: late })).toBe("late");
    expect(engine.advanceEmpty(T0 + 20 * 60_000, 1)).toBe(false); // only before the first record
  });

  it("commits the advance at the next offset, so a resumed engine classifies the first records the same way, and may follow the clock again", () => {
    const config = { windowSizeMs: 60_000, watermarkDelayMs: 120_000 };
    const engine = new WindowEngine(3, config);
    expect(engine.emit().commit).toBeNull(); // nothing to commit before the advance
    expect(engine.advanceEmpty(T0 + 10 * 60_000, 42)).toBe(true);
    expect(engine.idleAdvance(60_000)).toBe(false); // no record: idle time is advanceEmpty's
    const { commit } = engine.emit();
    expect(commit?.offset).toBe(42);
    const resumed = WindowEngine.resume(3, config, commit!.metadata);
    expect(resumed.stats()).toMatchObject({ watermark: T0 + 8 * 60_000, nextOffset: 42 });
    const order = (orderId: string, eventTime: number) => ({ orderId, customerId: null, productId: "p", category: "c", country: "US", channel: "web", quantity: 1, unitPrice: null, amount: 1, eventTime });
    for (const e of [engine, resumed]) expect([e.ingest({ offset: 42, order: order("a", T0) }), e.ingest({ offset: 43, order: order("b", T0 + 9 * 60_000) })]).toEqual(["late", "on-time"]);
    // A resumed engine that still had no record follows the clock again, from its own commit.
    const idle = WindowEngine.resume(3, config, commit!.metadata);
    expect(idle.advanceEmpty(T0 + 15 * 60_000, 42)).toBe(true);
    expect(idle.emit().commit?.offset).toBe(42);
    expect(() => new WindowEngine(0, config).advanceEmpty(T0, -1)).toThrow(RangeError);
  });
});

describe("WindowEngine properties", () => {
  it("matches the brute-force oracle emit for emit: partials, finals and anomalies", () => {
    fc.assert(
      fc.property(settingsArb, draftsArb(false), fc.nat({ max: 9 }), (cfg, drafts, partition) => {
        const ops = materialize(drafts, cfg) as Op[];
        const expected = oracle(ops, cfg, partition);
        const engine = new WindowEngine(partition, cfg);
        const actual: ExpectedEmit[] = [];
        ops.forEach((op, i) => {
          if (op.kind === "ingest") expect(engine.ingest(op)).toBe(expected.kindOf(i));
          else if (op.kind === "idle") engine.idleAdvance(op.elapsedMs);
          else {
            const result = engine.emit();
            expect(result.blocked).toBe(false);
            actual.push({ windows: result.windows, anomalies: result.anomalies });
          }
        });
        expect(actual).toEqual(expected.emits);
        expect(engine.stats()).toMatchObject({ openWindows: 0, rememberedOrderIds: 0, duplicateRecords: 0, idleAdvances: 0, pendingAnomalies: 0 });
      }),
      { numRuns: 600 },
    );
  });

  it("after kill -9 at any points and resume from the commit, the sink equals an uninterrupted run", () => {
    fc.assert(
      fc.property(
        settingsArb,
        draftsArb(true),
        // Small limits force blocked emits; the final, list-free metadata is at most 89 bytes here.
        fc.constantFrom(KAFKA_COMMIT_METADATA_MAX_BYTES, KAFKA_COMMIT_METADATA_MAX_BYTES, 92, 100),
        (cfg, drafts, maxCommitMetadataBytes) => {
          const partition = 7;
          const ops = materialize(drafts, cfg);
          const { influx, reference } = runWithCrashes(ops, { ...cfg, maxCommitMetadataBytes }, partition);
          const expected = oracle(reference, cfg, partition);
          expect([...influx.windows.values()].every((w) => w.final)).toBe(true);
          expect(new Map([...influx.windows].sort(([a], [b]) => a - b))).toEqual(new Map([...expected.finalValues].sort(([a], [b]) => a - b)));
          expect(new Map([...influx.anomalies].sort(([a], [b]) => a - b))).toEqual(new Map(expected.anomalies.map((a) => [a.offset, a])));
        },
      ),
      { numRuns: 800 },
    );
  });

  it("with dim_customer loads live and while down, every value of a window carries the version it was opened with and its segments", () => {
    // Version k maps customer cN to SEGMENTS[(k + N) % 3]: every load moves every customer.
    const SEGMENTS = ["consumer", "enterprise", "student"];
    const versionOf = (k: number) => k.toString(16).padStart(16, "0");
    const segmentsOf = (k: number) => new CustomerSegments(versionOf(k), [1, 2, 3].map((n) => [`c${n}`, SEGMENTS[(k + n) % 3]!] as const));
    fc.assert(
      fc.property(settingsArb, draftsArb(true), fc.array(fc.nat({ max: 80 }), { maxLength: 3 }), fc.boolean(), (cfg, drafts, liveLoads, loadWhileDown) => {
        const ops = materialize(drafts, cfg);
        let current = 0;
        let opIndex = 0;
        const config: WindowEngineConfig = {
          ...cfg,
          segmentsFor: () => segmentsOf(current),
          segmentsAt: (version) => (/^[0-9a-f]{16}$/.test(version) && parseInt(version, 16) <= current ? segmentsOf(parseInt(version, 16)) : undefined),
        };
        const written = new Map<number, WindowValue[]>();
        const { influx, reference } = runWithCrashes(ops, config, 5, {
          beforeOp: (op) => {
            if (liveLoads.includes(opIndex++)) current++; // a dims:load the running worker picks up
            if (op.kind === "crash" && loadWhileDown) current++; // a dims:load while the worker is down
          },
          onRelease: (result) => {
            for (const w of result.windows) written.set(w.windowStart, [...(written.get(w.windowStart) ?? []), w]);
          },
        });
        const expected = oracle(reference, cfg, 5);
        const strip = ({ dimsVersion: _v, bySegment: _s, ...rest }: WindowValue) => rest;
        expect(new Map([...influx.windows].map(([k, w]) => [k, strip(w)]))).toEqual(new Map([...expected.finalValues].map(([k, w]) => [k, strip(w)])));
        for (const [start, values] of written) {
          // One version for the window's whole life, crashes and resumes included: no second set of segment points.
          expect(new Set(values.map((w) => w.dimsVersion)), `window ${start}`).toEqual(new Set([values[0]!.dimsVersion]));
          const final = influx.windows.get(start)!;
          const segments = segmentsOf(parseInt(final.dimsVersion!, 16));
          const bySegment = new Map<string, { key: string; revenueCents: number; orders: number }>();
          for (const i of expected.ingestIndexes) {
            const o = (reference[i] as IngestOp).order;
            if (expected.kindOf(i) !== "on-time" || windowStartOf(o.eventTime, cfg.windowSizeMs) !== start) continue;
            const key = segments.segmentOf(o.customerId);
            const t = bySegment.get(key) ?? bySegment.set(key, { key, revenueCents: 0, orders: 0 }).get(key)!;
            t.revenueCents += amountToCents(o.amount);
            t.orders++;
          }
          expect(final.bySegment).toEqual([...bySegment.values()].sort((a, b) => (a.key < b.key ? -1 : 1)));
        }
      }),
      { numRuns: 600 },
    );
  });

  it("a resumed engine classifies every replayed record as the uninterrupted run did", () => {
    fc.assert(
      fc.property(settingsArb, draftsArb(false), fc.nat(), (cfg, drafts, pick) => {
        const ops = materialize(drafts, cfg) as Op[];
        const expected = oracle(ops, cfg, 0);
        const engine = new WindowEngine(0, cfg);
        const commits: { commit: CommitPoint; at: number }[] = [];
        ops.forEach((op, i) => {
          if (op.kind === "ingest") engine.ingest(op);
          else if (op.kind === "idle") engine.idleAdvance(op.elapsedMs);
          else if (engine.emit().commit) commits.push({ commit: engine.commitPoint()!, at: i });
        });
        if (commits.length === 0) return;
        const { commit, at } = commits[pick % commits.length]!;
        const resumed = WindowEngine.resume(0, cfg, commit.metadata);
        for (const i of expected.ingestIndexes) {
          const op = ops[i] as IngestOp;
          if (op.offset < commit.offset) continue;
          // Up to the commit the history is the same; after it, idle ticks are not replayed.
          if (i < at) expect(resumed.ingest(op), `offset ${op.offset}`).toBe(expected.kindOf(i));
          else break;
        }
      }),
      { numRuns: 400 },
    );
  });
});
