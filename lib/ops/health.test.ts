import { describe, expect, it } from "vitest";
import { healthStatus, STALL_MS } from "./health.ts";

describe("healthStatus", () => {
  it("is unhealthy only when stalled with lag", () => {
    expect(healthStatus({ now: 100_000, lastProgressAt: 100_000 - STALL_MS - 1, lag: 5 })).toMatchObject({ healthy: false, reason: expect.stringMatching(/5 messages waiting/) });
    expect(healthStatus({ now: 100_000, lastProgressAt: 100_000 - STALL_MS - 1, lag: 0 }).healthy).toBe(true);
    expect(healthStatus({ now: 100_000, lastProgressAt: 100_000 - STALL_MS, lag: 5 }).healthy).toBe(true);
  });
});
