import { describe, expect, it } from "vitest";
import { healthStatus } from "../ops/health.ts";
import { offsetGapsOf, readHealthz } from "./worker-health.ts";

describe("a worker's health for the Pipeline page", () => {
  it("reads what /healthz serves, healthy or stalled", () => {
    const ok = healthStatus({ now: 10_000, lastProgressAt: 9_000, lag: 0 });
    expect(readHealthz(200, JSON.stringify(ok))).toEqual({ reachable: true, status: "ok", reason: ok.reason });
    const stalled = healthStatus({ now: 100_000, lastProgressAt: 0, lag: 5 });
    expect(readHealthz(503, JSON.stringify(stalled))).toMatchObject({ reachable: true, status: "stalled" });
  });

  it("a body that is not a health answer is unreachable, with the status it came with", () => {
    expect(readHealthz(404, "not found")).toEqual({ reachable: false, status: null, reason: "/healthz answered 404 with a body that is not JSON" });
    expect(readHealthz(200, '{"up":true}').reason).toMatch(/without \{ healthy, status, reason \}/);
  });

  it("sums the offset-gap counter over partitions; absent metric is null, declared without samples is 0", () => {
    const text = ['# HELP orderpulse_offset_gaps_total offset gaps', "# TYPE orderpulse_offset_gaps_total counter", 'orderpulse_offset_gaps_total{partition="0",worker="lake"} 2', 'orderpulse_offset_gaps_total{partition="3",worker="lake"} 1', 'orderpulse_offset_gaps_totalx 9'].join("\n");
    expect(offsetGapsOf(text)).toBe(3);
    expect(offsetGapsOf("# TYPE orderpulse_offset_gaps_total counter\n")).toBe(0);
    expect(offsetGapsOf("process_cpu_seconds_total 1\n")).toBeNull();
  });
});
