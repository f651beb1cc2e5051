/**
 * What the Batch page computes for display. Pure: the clock comes in.
 */
import { formatMeasure, type Measure } from "../batch/reconcile.ts";

/** `3 h ago`, `12 min ago`, `40 s ago`, `2 d ago` (whole units, rounded down; the future reads `just now`). */
export function agoText(thenMs: number, nowMs: number): string {
  const s = Math.floor((nowMs - thenMs) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3_600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** A duration in ms as `850 ms`, `12.3 s`, `4 min 05 s`. */
export function durationText(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/** InfluxDB minus the lake, as the view shows it beside a mismatch: `+12.34`, `-3`, or `missing` / `extra` for an absent point. */
export function differenceText(measure: Measure, expected: number | null, actual: number | null): string {
  if (actual === null) return "missing in InfluxDB";
  if (expected === null) return "not in the lake";
  const diff = actual - expected;
  return `${diff > 0 ? "+" : ""}${formatMeasure(measure, diff)}`;
}

/** The last line of a run's output that reports progress or a phase, for "repairing… 40%". */
export function progressLine(log: string): string | undefined {
  return log
    .split("\n")
    .filter((l) => /\d+%|^summary |rewrote|reconcile: /.test(l))
    .at(-1)
    ?.trim();
}
