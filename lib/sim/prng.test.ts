import { describe, expect, it } from "vitest";
import { Prng } from "./prng.ts";

describe("Prng", () => {
  it("repeats its sequence for a seed and differs across seeds", () => {
    const take = (seed: number) => Array.from({ length: 50 }, ((p) => () => p.nextUint32())(new Prng(seed)));
    expect(take(7)).toEqual(take(7));
    expect(take(7)).not.toEqual(take(8));
  });
  it("is roughly uniform", () => {
    const p = new Prng(1);
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[Math.floor(p.next() * 10)]++;
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });
  it("keeps int() within bounds and weighted() near its weights", () => {
    const p = new Prng(2);
    let heads = 0;
    for (let i = 0; i < 20_000; i++) {
      const v = p.int(3, 5);
      expect(v >= 3 && v <= 5).toBe(true);
      if (p.weighted([["a", 3], ["b", 1]] as const) === "a") heads++;
    }
    expect(Math.abs(heads / 20_000 - 0.75)).toBeLessThan(0.02);
  });
});
