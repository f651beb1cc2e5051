import { describe, expect, it } from "vitest";
import { settleWithin } from "./settle-within.ts";

describe("settleWithin", () => {
  it("is true when the work settles in time, fulfilled or rejected, and false at the limit", async () => {
    expect(await settleWithin(Promise.resolve(1), 1_000)).toBe(true);
    expect(await settleWithin(Promise.reject(new Error("refused")), 1_000)).toBe(true);
    expect(await settleWithin(undefined, 0)).toBe(true);
    const started = Date.now();
    expect(await settleWithin(new Promise(() => undefined), 50)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(await settleWithin(new Promise(() => undefined), -5)).toBe(false);
  });
});
