export const STALL_MS = 30_000;

/**
 * A worker is healthy unless its consume loop has not progressed for `stallMs`
 * while messages wait for it: idle with nothing to do is healthy.
 */
export function healthStatus(input: { now: number; lastProgressAt: number; lag: number; stallMs?: number }): { healthy: boolean; reason: string } {
  const idleFor = input.now - input.lastProgressAt;
  if (input.lag > 0 && idleFor > (input.stallMs ?? STALL_MS)) {
    return { healthy: false, reason: `no progress for ${Math.round(idleFor / 1000)}s with ${input.lag} messages waiting` };
  }
  return { healthy: true, reason: `lag ${input.lag}, last progress ${Math.round(idleFor / 1000)}s ago` };
}
