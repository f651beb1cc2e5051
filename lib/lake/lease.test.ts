import { describe, expect, it } from "vitest";
import { leasePath, leaseState, parseLease, serializeLease, type PartitionLease } from "./lease.ts";
import { parseCommitMarkerPath } from "./layout.ts";

const lease: PartitionLease = { owner: "w-a", host: "h", pid: 42, expiresAt: 10_000 };
const alive = () => false;

describe("partition leases", () => {
  it("round-trips, and is not mistaken for a commit marker", () => {
    expect(parseLease(serializeLease(lease))).toEqual(lease);
    expect(parseLease("{torn")).toBeUndefined();
    expect(parseLease('{"owner":"x"}')).toBeUndefined();
    expect(leasePath(3)).toBe("_commits/partition=3.lease");
    expect(parseCommitMarkerPath(leasePath(3))).toBeUndefined();
  });

  it("is mine, held by another, or free once expired or its process is gone", () => {
    expect(leaseState(undefined, "w-a", 0, alive)).toEqual({ kind: "free" });
    expect(leaseState(lease, "w-a", 9_999, alive)).toEqual({ kind: "mine" });
    expect(leaseState(lease, "w-b", 9_999, alive)).toEqual({ kind: "held", lease });
    expect(leaseState(lease, "w-b", 10_000, alive)).toEqual({ kind: "free" });
    expect(leaseState(lease, "w-b", 0, () => true)).toEqual({ kind: "free" });
    expect(leaseState(lease, "w-a", 10_000, alive)).toEqual({ kind: "free" });
  });
});
