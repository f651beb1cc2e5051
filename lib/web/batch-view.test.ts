import { describe, expect, it } from "vitest";
import { agoText, differenceText, durationText, progressLine } from "./batch-view.ts";

const H = 3_600_000;

describe("batch view text", () => {
  it("says how long ago in whole units", () => {
    const now = Date.parse("2026-12-01T12:00:00Z");
    expect([now + 1000, now - 2000, now - 42_000, now - 12 * 60_000, now - 3 * H - 59 * 60_000, now - 50 * H].map((t) => agoText(t, now))).toEqual([
      "just now",
      "just now",
      "42 s ago",
      "12 min ago",
      "3 h ago",
      "2 d ago",
    ]);
  });

  it("writes durations and differences (InfluxDB minus the lake; money in cents)", () => {
    expect([850, 12_345, 245_000].map(durationText)).toEqual(["850 ms", "12.3 s", "4 min 05 s"]);
    expect(differenceText("revenue", 1000, 1234)).toBe("+2.34");
    expect(differenceText("orders", 5, 2)).toBe("-3");
    expect(differenceText("country[US].revenue", 5, 0)).toBe("-0.05");
    expect(differenceText("revenue", 1000, null)).toBe("missing in InfluxDB");
    expect(differenceText("orders", null, 3)).toBe("not in the lake");
  });

  it("finds the latest progress or phase line of a run's output", () => {
    const log = ["reconcile: windows starting in [a, b)", "replaying lake rows through the window engine [###] 40% 4/10", "before-repair: 2 mismatches", "rewriting InfluxDB points [####] 100% 8/8"].join("\n");
    expect(progressLine(log)).toBe("rewriting InfluxDB points [####] 100% 8/8");
    expect(progressLine("nothing here")).toBeUndefined();
  });
});
