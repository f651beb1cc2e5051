/**
 * A worker's health as the Pipeline page shows it: its /healthz answer (lib/ops/health.ts) and
 * its offset-gap count from its /metrics (Prometheus text, `orderpulse_offset_gaps_total`).
 * Pure: the bodies come in; unreachable workers are the caller's to report.
 */
import { z } from "zod";

const healthzSchema = z.object({ healthy: z.boolean(), status: z.enum(["ok", "degraded", "stalled"]), reason: z.string() });

export interface WorkerHealth {
  name: string;
  url: string;
  /** False when /healthz could not be read (refused, timed out, not JSON): `reason` says why. */
  reachable: boolean;
  status: "ok" | "degraded" | "stalled" | null;
  reason: string;
  /** Sum over partitions of `orderpulse_offset_gaps_total`; null when the worker has no such metric (the feed) or it was unreadable. */
  offsetGaps: number | null;
}

/** /healthz's body (200 healthy, 503 stalled, both JSON); anything else is unreachable with the reason. */
export function readHealthz(httpStatus: number, body: string): Pick<WorkerHealth, "reachable" | "status" | "reason"> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { reachable: false, status: null, reason: `/healthz answered ${httpStatus} with a body that is not JSON` };
  }
  const health = healthzSchema.safeParse(parsed);
  if (!health.success) return { reachable: false, status: null, reason: `/healthz answered ${httpStatus} without { healthy, status, reason }` };
  return { reachable: true, status: health.data.status, reason: health.data.reason };
}

/** The offset-gap counter's total in Prometheus text; null when the metric is not declared at all. */
export function offsetGapsOf(metricsText: string): number | null {
  let declared = false;
  let total = 0;
  for (const line of metricsText.split("\n")) {
    if (/^# (TYPE|HELP) orderpulse_offset_gaps_total\b/.test(line)) declared = true;
    const sample = /^orderpulse_offset_gaps_total(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (sample) {
      declared = true;
      const v = Number(sample[1]);
      if (Number.isFinite(v)) total += v;
    }
  }
  return declared ? total : null;
}
