/**
 * The reconciliation view's compare (GET /api/reconcile) replays the lake through DuckDB and the
 * window engine in the web process: seconds of CPU and memory per range. This bounds it per server:
 * one compare at a time (another range meanwhile is refused as busy, answered 429 like the query
 * runner's), the same range asked again while it runs waits for that one, and each result is kept
 * for a short while keyed by range so the same question from API clients does not run it again.
 * `fresh` (the Batch page's Compare) skips kept results: a reconciliation must not hide a change
 * made seconds ago.
 */
import { compareRange, type RangeComparison } from "../batch/reconcile-run.ts";
import { ReconcileBusyError, type TimeRange } from "../../lib/batch/reconcile.ts";
import type { DashboardEnv } from "./dashboard-env.ts";

/** How long a compare's result answers the same range again, ms. Short: InfluxDB and the lake keep changing. */
export const COMPARE_CACHE_MS = 10_000;
const MAX_CACHED = 16;

/**
 * One computation at a time, results kept `ttlMs` per key. `fresh` skips a kept result (and does not
 * join a running one, which may predate what the caller knows changed, e.g. a finished repair).
 */
export class CompareLimiter<T> {
  private running: { key: string; promise: Promise<T> } | undefined;
  private readonly kept = new Map<string, { at: number; value: T }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The value for `key` and when it was computed (epoch ms). Throws ReconcileBusyError while another key runs; compute's errors pass through (and are not kept). */
  async run(key: string, compute: () => Promise<T>, options: { fresh?: boolean } = {}): Promise<{ value: T; computedAt: number }> {
    const kept = this.kept.get(key);
    if (!options.fresh && kept && this.now() - kept.at < this.ttlMs) return { value: kept.value, computedAt: kept.at };
    if (this.running) {
      if (this.running.key !== key || options.fresh) throw new ReconcileBusyError(this.running.key);
      await this.running.promise;
      const joined = this.kept.get(key)!;
      return { value: joined.value, computedAt: joined.at };
    }
    const promise = compute();
    this.running = { key, promise };
    try {
      const value = await promise;
      const at = this.now();
      this.kept.delete(key);
      this.kept.set(key, { at, value });
      // Oldest first (Map order): drop beyond the bound.
      for (const old of this.kept.keys()) if (this.kept.size > MAX_CACHED) this.kept.delete(old);
      return { value, computedAt: at };
    } finally {
      this.running = undefined;
    }
  }

  /** Forgets every kept result (a repair was queued: the next compare must read again). */
  clear(): void {
    this.kept.clear();
  }
}

/** The server's one limiter (Next.js may load route modules more than once: it lives on globalThis). */
function limiter(): CompareLimiter<RangeComparison> {
  const holder = globalThis as unknown as Record<symbol, CompareLimiter<RangeComparison> | undefined>;
  const key = Symbol.for("orderpulse.reconcile-compare");
  return (holder[key] ??= new CompareLimiter<RangeComparison>(COMPARE_CACHE_MS));
}

/** GET /api/reconcile's comparison of `range`, bounded as above; `fresh` re-reads even within the cache time. */
export function compareRangeBounded(env: DashboardEnv, range: TimeRange, fresh: boolean): Promise<{ value: RangeComparison; computedAt: number }> {
  const key = `${new Date(range.fromMs).toISOString()}/${new Date(range.toMs).toISOString()}`;
  return limiter().run(key, () => compareRange(env.lake.lakeDir, env.lake.businessTz, { windowSizeMs: env.window.windowSizeMs, watermarkDelayMs: env.window.watermarkDelayMs }, env.influx(), range), { fresh });
}

/** A repair was queued: kept comparisons are stale. */
export function forgetComparisons(): void {
  limiter().clear();
}
