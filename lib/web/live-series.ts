/**
 * The Live chart's rows: InfluxDB history merged with the feed's window totals. Pure.
 * The feed is newer than InfluxDB for a window it has sent (it carries partials as they
 * change); InfluxDB alone knows late counts (they never reach the feed).
 */
import type { WindowTotal } from "../hot/feed-state.ts";

/** One bar of the chart: a window (or a coarser bucket). Money in currency units. */
export interface ChartRow {
  start: number;
  revenue: number;
  orders: number;
  /** Late orders (event time in this window, arrived after it closed) and their revenue: in InfluxDB only. */
  late: number;
  lateRevenue: number;
  final: boolean;
}

/** A window the feed sent, in chart terms. */
export function rowOfWindow(w: WindowTotal): ChartRow {
  return { start: w.windowStart, revenue: w.revenue, orders: w.orders, late: 0, lateRevenue: 0, final: w.final };
}

/**
 * History rows with the feed's windows laid over them, sorted by start, within [fromMs, ∞).
 * A feed window replaces the history row of the same start (keeping its late count) unless
 * history is final and the feed row is not (a final value is never replaced by a partial).
 * Only meaningful when history buckets are one window long; coarser buckets ignore the feed.
 */
export function mergeRows(history: ChartRow[], live: Iterable<WindowTotal>, fromMs: number): ChartRow[] {
  const rows = new Map(history.map((r) => [r.start, r]));
  for (const w of live) {
    if (w.windowStart < fromMs) continue;
    const before = rows.get(w.windowStart);
    if (before?.final && !w.final) continue;
    rows.set(w.windowStart, { ...rowOfWindow(w), late: before?.late ?? 0, lateRevenue: before?.lateRevenue ?? 0 });
  }
  return [...rows.values()].sort((a, b) => a.start - b.start);
}

/** "updated 5s ago" and whether the data is stale (older than `staleAfterMs`). */
export function freshness(lastUpdateAt: number | null, now: number, staleAfterMs: number): { text: string; stale: boolean } {
  if (lastUpdateAt === null) return { text: "no data yet", stale: true };
  const seconds = Math.max(0, Math.round((now - lastUpdateAt) / 1000));
  const text = seconds < 120 ? `updated ${seconds}s ago` : `updated ${Math.round(seconds / 60)} min ago`;
  return { text, stale: now - lastUpdateAt > staleAfterMs };
}

const TICK_STEPS_MS = [10, 30, 60, 300, 600, 900, 1_800, 3_600, 3 * 3_600, 6 * 3_600, 12 * 3_600, 86_400].map((s) => s * 1_000);

/** Round-numbered time-axis ticks inside [fromMs, toMs]: the smallest step that keeps them at most `maxTicks`. */
export function timeTicks(fromMs: number, toMs: number, maxTicks = 8): number[] {
  if (!(toMs > fromMs)) return [];
  const step = TICK_STEPS_MS.find((s) => (toMs - fromMs) / s <= maxTicks) ?? TICK_STEPS_MS.at(-1)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(fromMs / step) * step; t <= toMs; t += step) ticks.push(t);
  return ticks;
}
