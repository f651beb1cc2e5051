import { describe, expect, it } from "vitest";
import { ReconcileBusyError } from "../../lib/batch/reconcile.ts";
import { CompareLimiter } from "./reconcile-compare.ts";

/** A computation the test finishes by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe("CompareLimiter", () => {
  it("runs one at a time: another key is busy, the same key waits for the running one, then the result is kept for ttlMs", async () => {
    let now = 1_000;
    const limiter = new CompareLimiter<string>(10_000, () => now);
    let computed = 0;
    const a = deferred<string>();
    const first = limiter.run("A", () => (computed++, a.promise));
    await expect(limiter.run("B", async () => "b")).rejects.toThrow(ReconcileBusyError);
    await expect(limiter.run("B", async () => "b")).rejects.toThrow(/busy: a reconciliation compare of A is running/);
    await expect(limiter.run("A", async () => "a again", { fresh: true }), "fresh does not join a compare that may predate the change").rejects.toThrow(ReconcileBusyError);
    const joined = limiter.run("A", async () => "never");
    now = 2_000;
    a.resolve("a");
    expect(await first).toEqual({ value: "a", computedAt: 2_000 });
    expect(await joined).toEqual({ value: "a", computedAt: 2_000 });
    now = 11_999;
    expect(await limiter.run("A", async () => "recomputed")).toEqual({ value: "a", computedAt: 2_000 });
    expect(computed).toBe(1);
    now = 12_000;
    expect(await limiter.run("A", async () => "recomputed")).toEqual({ value: "recomputed", computedAt: 12_000 });
    expect(await limiter.run("A", async () => "fresh", { fresh: true })).toEqual({ value: "fresh", computedAt: 12_000 });
    expect(await limiter.run("B", async () => "b")).toEqual({ value: "b", computedAt: 12_000 });
  });

  it("keeps no failure (the next call computes again) and frees the slot; clear() forgets every kept result", async () => {
    const limiter = new CompareLimiter<string>(60_000, () => 0);
    await expect(limiter.run("A", async () => Promise.reject(new Error("InfluxDB down")))).rejects.toThrow("InfluxDB down");
    expect(await limiter.run("A", async () => "a")).toEqual({ value: "a", computedAt: 0 });
    limiter.clear();
    expect((await limiter.run("A", async () => "after repair")).value).toBe("after repair");
  });

  it("keeps at most 16 ranges, the oldest dropped first", async () => {
    const limiter = new CompareLimiter<number>(60_000, () => 0);
    for (let i = 0; i < 17; i++) await limiter.run(`r${i}`, async () => i);
    expect((await limiter.run("r0", async () => -1)).value, "r0 was dropped").toBe(-1);
    expect((await limiter.run("r16", async () => -1)).value).toBe(16);
  });
});
