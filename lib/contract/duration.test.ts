import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { formatDuration, parseDuration } from "./duration.ts";

describe("parseDuration", () => {
  it("reads every unit", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("2m")).toBe(120_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("1d")).toBe(86_400_000);
    expect(parseDuration("1.5s")).toBe(1_500);
    expect(parseDuration("0")).toBe(0);
  });
  it("refuses a number without a unit, with a hint", () => {
    expect(() => parseDuration("60")).toThrow('"60" has no unit: write 60s for seconds or 60ms for milliseconds (units: ms, s, m, h, d)');
    expect(() => parseDuration("1")).toThrow(/write 1s for seconds or 1ms/);
  });
  it("rejects what is not a duration", () => {
    for (const bad of ["", "abc", "-1s", "-1", "1 minute", "1y", "9999d"]) expect(() => parseDuration(bad)).toThrow();
    expect(() => parseDuration("-1")).toThrow('not a duration: "-1" (use e.g. 500ms, 30s, 2m, 1h)');
  });
  it("round-trips through formatDuration", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 * 86_400_000 }), (ms) => parseDuration(formatDuration(ms)) === ms));
  });
});
