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
    expect(parseDuration("250")).toBe(250);
  });
  it("rejects what is not a duration", () => {
    for (const bad of ["", "abc", "-1s", "1 minute", "1y", "9999d"]) expect(() => parseDuration(bad)).toThrow();
  });
  it("round-trips through formatDuration", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 * 86_400_000 }), (ms) => parseDuration(formatDuration(ms)) === ms));
  });
});
