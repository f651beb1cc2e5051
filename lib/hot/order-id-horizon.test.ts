import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { OrderIdHorizon } from "./order-id-horizon.ts";

/** The oracle: a plain list of entries in the order they were remembered. */
interface Entry {
  orderId: string;
  offset: number;
  seenAt: number;
  maxEventTimeBefore: number;
}

type Step = { kind: "remember"; id: number; advance: number } | { kind: "forget"; behind: number };

const IDS = 120;
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant("remember" as const), id: fc.nat({ max: IDS - 1 }), advance: fc.nat({ max: 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("forget" as const), behind: fc.integer({ min: -2, max: 150 }) }) },
);

describe("OrderIdHorizon", () => {
  it("answers as a list of remembered entries does, across ring growth, shrinking and wrap-around", () => {
    let largest = 0;
    let shrunk = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 50, maxLength: 400, size: "max" }), fc.integer({ min: 1, max: 16 }), (steps, initialCapacity) => {
        // Initial capacities up to 16 round up to 16 slots.
        const horizon = new OrderIdHorizon(initialCapacity);
        let oracle: Entry[] = [];
        let clock = 0;
        let offset = 0;
        for (const s of steps) {
          if (s.kind === "remember") {
            const orderId = `order-${s.id}`;
            const before = clock;
            clock += s.advance;
            offset += 1 + s.advance; // gaps allowed
            const present = oracle.find((e) => e.orderId === orderId);
            if (present) {
              expect(() => horizon.remember(orderId, offset, clock, before)).toThrow(/remembered already/);
            } else {
              horizon.remember(orderId, offset, clock, before);
              oracle.push({ orderId, offset, seenAt: clock, maxEventTimeBefore: before });
            }
          } else {
            const time = clock - s.behind;
            const capacity = horizon.capacity;
            horizon.forgetSeenBefore(time);
            if (horizon.capacity < capacity) shrunk++;
            oracle = oracle.filter((e) => !(e.seenAt < time));
          }
          expect(horizon.size).toBe(oracle.length);
          // Never smaller than the entries; above the initial 16 slots, never more than 8 × them.
          expect(horizon.capacity).toBeGreaterThanOrEqual(oracle.length);
          if (horizon.capacity > 16) expect(horizon.capacity).toBeLessThanOrEqual(8 * oracle.length);
          largest = Math.max(largest, oracle.length);
          const oldest = oracle[0];
          expect(horizon.oldest()).toEqual(oldest && { offset: oldest.offset, maxEventTimeBefore: oldest.maxEventTimeBefore });
          const offsets = new Map(oracle.map((e) => [e.orderId, e.offset]));
          for (let id = 0; id < IDS; id++) if (horizon.offsetOf(`order-${id}`) !== offsets.get(`order-${id}`)) expect(horizon.offsetOf(`order-${id}`)).toBe(offsets.get(`order-${id}`));
        }
      }),
      { numRuns: 150 },
    );
    // The rings start at 16 entries: runs that held more than 64 grew them twice; forgets shrank them back.
    expect(largest).toBeGreaterThan(64);
    expect(shrunk).toBeGreaterThan(0);
  });

  it("keeps every entry when the ring grows after it wrapped around", () => {
    const horizon = new OrderIdHorizon(16);
    for (let i = 0; i < 12; i++) horizon.remember(`o${i}`, i, i, i);
    horizon.forgetSeenBefore(8); // head at 8: the next entries wrap past index 15
    for (let i = 12; i < 60; i++) horizon.remember(`o${i}`, i, i, i); // grows 16 → 64 with the head inside the ring
    expect(horizon.size).toBe(52);
    for (let i = 0; i < 60; i++) expect(horizon.offsetOf(`o${i}`)).toBe(i < 8 ? undefined : i);
    expect(horizon.oldest()).toEqual({ offset: 8, maxEventTimeBefore: 8 });
  });

  it("keeps offsets and event times beyond 32 bits exactly", () => {
    const horizon = new OrderIdHorizon();
    const t = Date.UTC(2026, 11, 2);
    horizon.remember("a", Number.MAX_SAFE_INTEGER - 1, t + 1, t);
    expect(horizon.offsetOf("a")).toBe(Number.MAX_SAFE_INTEGER - 1);
    expect(horizon.oldest()).toEqual({ offset: Number.MAX_SAFE_INTEGER - 1, maxEventTimeBefore: t });
    horizon.forgetSeenBefore(t + 1);
    expect(horizon.size).toBe(1);
    horizon.forgetSeenBefore(t + 2);
    expect(horizon.size).toBe(0);
    expect(horizon.offsetOf("a")).toBeUndefined();
  });
});
