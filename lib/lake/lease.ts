/**
 * Partition leases: the lake writer's fence (design.md, "Lake": the lake writer
 * is fenced). A writer holds `_commits/partition=<p>.lease` while it writes a
 * partition; a new owner waits until the lease is released, expires, or names a
 * process that is gone, before its start-up clean-up deletes anything, and a
 * writer checks that it still holds the lease right before each marker write.
 * So a rebalance cannot delete a file a live flush has just renamed into place,
 * and a writer that lost the partition never claims rows it no longer has.
 * What it cannot fence: a writer stalled longer than the TTL between its last
 * check and the rename it was doing (inside one file write, or the marker write):
 * the TTL must exceed any one write. Pure.
 */
import { z } from "zod";
import { COMMITS_ROOT, LakeLayoutError } from "./layout.ts";

/** How long a lease lasts without renewal; a writer renews it at every flush step. */
export const LEASE_TTL_MS = 30_000;

export interface PartitionLease {
  /** The writer instance: unique per process and start. */
  owner: string;
  host: string;
  pid: number;
  /** Epoch ms. */
  expiresAt: number;
}

const leaseSchema = z.strictObject({
  owner: z.string().min(1),
  host: z.string().min(1),
  pid: z.number().int().min(1),
  expiresAt: z.number().int(),
});

export function leasePath(partition: number): string {
  if (!Number.isSafeInteger(partition) || partition < 0) throw new LakeLayoutError(`partition ${partition} is not a non-negative integer`);
  return `${COMMITS_ROOT}/partition=${partition}.lease`;
}

export function serializeLease(lease: PartitionLease): string {
  return `${JSON.stringify(leaseSchema.parse(lease))}\n`;
}

/** A lease file's text; one that does not parse (a torn or foreign file) counts as no lease, since leases are rewritten whole. */
export function parseLease(text: string): PartitionLease | undefined {
  try {
    const parsed = leaseSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export type LeaseState = { kind: "free" } | { kind: "mine" } | { kind: "held"; lease: PartitionLease };

/**
 * Who may write the partition at `now`: `mine` (the caller's live lease), `free`
 * (none, expired, or its process is gone: `holderGone`), or `held` by another live writer.
 */
export function leaseState(lease: PartitionLease | undefined, owner: string, now: number, holderGone: (lease: PartitionLease) => boolean): LeaseState {
  if (!lease || lease.expiresAt <= now || holderGone(lease)) return { kind: "free" };
  return lease.owner === owner ? { kind: "mine" } : { kind: "held", lease };
}
