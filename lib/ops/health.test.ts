import { describe, expect, it } from "vitest";
import { healthStatus, STALL_MS } from "./health.ts";

describe("healthStatus", () => {
  it("is unhealthy only when stalled with lag", () => {
    expect(healthStatus({ now: 100_000, lastProgressAt: 100_000 - STALL_MS - 1, lag: 5 })).toMatchObject({ healthy: false, reason: expect.stringMatching(/5 messages waiting/) });
    expect(healthStatus({ now: 100_000, lastProgressAt: 100_000 - STALL_MS - 1, lag: 0 }).healthy).toBe(true);
    expect(healthStatus({ now: 100_000, lastProgressAt: 100_000 - STALL_MS, lag: 5 }).healthy).toBe(true);
  });

  it("is degraded, not unhealthy, when something is refused", () => {
    expect(healthStatus({ now: 1, lastProgressAt: 1, lag: 0, degraded: "InfluxDB refused 3 points" })).toEqual({ healthy: true, status: "degraded", reason: "InfluxDB refused 3 points; lag 0, last progress 0s ago" });
    expect(healthStatus({ now: 1, lastProgressAt: 1, lag: 0 }).status).toBe("ok");
  });
});
