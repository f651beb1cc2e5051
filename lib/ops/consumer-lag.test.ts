import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Order } from "../contract/order.ts";
import { WindowEngine, type WindowEngineConfig } from "../hot/window-engine.ts";
import { kafkaPartitionLags, LogEndHistory, processedPosition } from "./consumer-lag.ts";

const S = 1000;
const T0 = Date.UTC(2026, 11, 1, 12);
const CONFIG: WindowEngineConfig = { windowSizeMs: 60 * S, watermarkDelayMs: 5 * S };
const order = (eventTime: number, orderId: string): Order => ({ orderId, customerId: "c1", productId: "p1", category: "coffee", country: "US", channel: "web", quantity: 1, unitPrice: null, amount: 1, eventTime });

describe("processedPosition", () => {
  it("reads the window engine's processed position, not the commit offset that trails it by the horizon", () => {
    const engine = new WindowEngine(0, CONFIG);
    for (let offset = 0; offset < 500; offset++) engine.ingest({ offset, order: order(T0 + offset * 100, `o${offset}`) });
    const commit = engine.emit().commit!;
    expect(commit.offset).toBe(0); // every order is within the de-duplication horizon: replay from 0
    expect(processedPosition(0, commit, 0)).toEqual({ offset: 500, from: "processed" });
    // log end 510: 10 messages wait, not 510 (what log end − committed would say)
    const lags = kafkaPartitionLags([{ partition: 0, logStart: 0, logEnd: 510 }], new Map([[0, commit]]), new LogEndHistory(60_000), T0);
    expect(lags).toEqual([{ partition: 0, lag: 10, from: "processed", waitedMs: 0, waitedAtLeast: true }]);
  });

  it("falls back to the committed offset for metadata without a processed position or not the engine's, and to the log start without a commit", () => {
    expect(processedPosition(0, { offset: 40, metadata: null }, 0)).toEqual({ offset: 40, from: "committed" });
    expect(processedPosition(0, { offset: 40, metadata: "lake" }, 0)).toEqual({ offset: 40, from: "committed" });
    expect(processedPosition(0, { offset: 40, metadata: "om1 p=0 w=60000/5000/65000 c=40 m=- f=- b=- i= d=" }, 0)).toEqual({ offset: 40, from: "committed" });
    expect(processedPosition(0, { offset: 40, metadata: "om1 p=0 w=60000/5000/65000 c=40 m=- f=- b=- i= d= n=a" }, 0)).toEqual({ offset: 50, from: "processed" });
    expect(processedPosition(0, { offset: null, metadata: null }, 7)).toEqual({ offset: 7, from: "log start" });
    expect(processedPosition(0, undefined, 0)).toEqual({ offset: 0, from: "log start" });
    expect(processedPosition(0, { offset: 3, metadata: null }, 9), "retention deleted what was never read").toEqual({ offset: 9, from: "committed" });
  });
});

describe("LogEndHistory", () => {
  it("dates the oldest unprocessed message by the first sample whose log end passed it; a lower bound before the first sample", () => {
    const history = new LogEndHistory(60 * 60_000);
    history.record(0, T0, 100);
    history.record(0, T0 + 10 * S, 100);
    history.record(0, T0 + 20 * S, 130);
    history.record(0, T0 + 30 * S, 160);
    expect(history.waited(0, 160, T0 + 40 * S)).toEqual({ ms: 0, exact: true });
    expect(history.waited(0, 100, T0 + 40 * S)).toEqual({ ms: 20 * S, exact: true });
    expect(history.waited(0, 140, T0 + 40 * S)).toEqual({ ms: 10 * S, exact: true });
    expect(history.waited(0, 50, T0 + 40 * S)).toEqual({ ms: 40 * S, exact: false });
    expect(history.waited(1, 0, T0)).toEqual({ ms: 0, exact: true });
  });

  it("forgets samples older than keepMs but one, and starts over when the log end goes down (a recreated topic)", () => {
    const history = new LogEndHistory(30 * S);
    for (let i = 0; i <= 10; i++) history.record(0, T0 + i * 10 * S, 100 + i * 10);
    // samples kept: the one at T0+60s (older than 30 s, the last such) and after; offset 100 was produced before → at least 40 s
    expect(history.waited(0, 100, T0 + 100 * S)).toEqual({ ms: 40 * S, exact: false });
    history.record(0, T0 + 110 * S, 5);
    expect(history.waited(0, 0, T0 + 120 * S)).toEqual({ ms: 10 * S, exact: false });
  });

  it("property: equals a brute-force scan over every sample", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 200 }), (steps, position) => {
        const history = new LogEndHistory(Number.POSITIVE_INFINITY);
        const all: { at: number; logEnd: number }[] = [];
        let at = T0;
        let logEnd = 0;
        for (const [dt, grow] of steps) {
          at += dt * S;
          logEnd += grow;
          history.record(0, at, logEnd);
          all.push({ at, logEnd });
        }
        const now = at + S;
        const first = all.findIndex((s) => s.logEnd > position);
        const expected = first < 0 ? { ms: 0, exact: true } : { ms: now - all[first]!.at, exact: first > 0 };
        expect(history.waited(0, position, now)).toEqual(expected);
      }),
    );
  });
});
