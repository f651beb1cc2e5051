export const STALL_MS = 30_000;

export interface HealthStatus {
  /** False only when stalled: /healthz then answers 503 and a supervisor may restart the worker. */
  healthy: boolean;
  /** `degraded`: running, but something is lost or refused (e.g. InfluxDB refusing points); it says what. */
  status: "ok" | "degraded" | "stalled";
  reason: string;
}

/**
 * A worker is healthy unless its consume loop has not progressed for `stallMs`
 * while messages wait for it: idle with nothing to do is healthy. `degraded`,
 * when given, names a problem restarting would not fix.
 */
export function healthStatus(input: { now: number; lastProgressAt: number; lag: number; stallMs?: number; degraded?: string }): HealthStatus {
  const idleFor = input.now - input.lastProgressAt;
  if (input.lag > 0 && idleFor > (input.stallMs ?? STALL_MS)) {
    return { healthy: false, status: "stalled", reason: `no progress for ${Math.round(idleFor / 1000)}s with ${input.lag} messages waiting` };
  }
  const running = `lag ${input.lag}, last progress ${Math.round(idleFor / 1000)}s ago`;
  if (input.degraded) return { healthy: true, status: "degraded", reason: `${input.degraded}; ${running}` };
  return { healthy: true, status: "ok", reason: running };
}
