import type { WatermarkMessage, WindowMessage } from "./window-values.ts";
import { perBreakdown, WINDOW_DIMENSIONS, type PerBreakdown } from "../contract/dimensions.ts";
import { addUnits, centsToUnits, unitsToCents } from "../contract/money.ts";

export interface Breakdown {
  [key: string]: { revenue: number; orders: number };
}

/** One window over all source partitions: what the browser sees; per window dimension (`byCountry`, `byCategory`) a Breakdown. */
export type WindowTotal = FeedTotals & PerBreakdown<Breakdown>;

export interface FeedTotals {
  windowStart: number;
  windowEnd: number;
  revenue: number;
  orders: number;
  items: number;
  customers: number;
  /** revenue / orders, 0 without orders. */
  aov: number;
  /** Every source partition's watermark has passed the window's end. */
  final: boolean;
}


function addBreakdown(into: Breakdown, from: Breakdown): void {
  for (const [key, v] of Object.entries(from)) {
    const slot = (into[key] ??= { revenue: 0, orders: 0 });
    slot.revenue = addUnits(slot.revenue, v.revenue);
    slot.orders += v.orders;
  }
}

/**
 * The feed's view of the hot path: the latest value per (window, source
 * partition), summed per window. Exact however many metrics workers publish,
 * since each partition's value replaces its previous one. Pure: no IO, no clock.
 */
export class FeedState {
  private readonly windows = new Map<number, Map<number, WindowMessage>>();
  private readonly watermarks = new Map<number, number>();

  /**
   * @param sourcePartitions partitions of the orders topic: a window is final
   *   overall once every one of them has reported a watermark past its end.
   * @param horizonMs windows older than this behind the newest are forgotten.
   */
  constructor(private readonly sourcePartitions: number, private readonly horizonMs = 60 * 60_000) {}

  /** Applies one partition's window value; returns the window's new total, or nothing for a window older than the horizon. */
  applyWindow(message: WindowMessage): WindowTotal | undefined {
    if (message.windowStart < this.newest - this.horizonMs) return undefined;
    let partitions = this.windows.get(message.windowStart);
    if (!partitions) {
      partitions = new Map();
      this.windows.set(message.windowStart, partitions);
    }
    const previous = partitions.get(message.partition);
    // A final value is never replaced by a partial one (a replaying worker may re-send partials).
    if (!(previous?.final && !message.final)) partitions.set(message.partition, message);
    this.evict();
    return this.total(message.windowStart);
  }

  /** Applies one partition's watermark; returns the windows that became final overall. */
  applyWatermark(message: WatermarkMessage): WindowTotal[] {
    const before = new Set([...this.windows.keys()].filter((start) => this.isFinal(start)));
    this.watermarks.set(message.partition, Math.max(message.watermark, this.watermarks.get(message.partition) ?? -Infinity));
    return [...this.windows.keys()]
      .filter((start) => !before.has(start) && this.isFinal(start))
      .sort((a, b) => a - b)
      .map((start) => this.total(start)!);
  }

  snapshot(): WindowTotal[] {
    return [...this.windows.keys()].sort((a, b) => a - b).map((start) => this.total(start)!);
  }

  total(windowStart: number): WindowTotal | undefined {
    const partitions = this.windows.get(windowStart);
    if (!partitions) return undefined;
    const total: WindowTotal = { windowStart, windowEnd: windowStart, revenue: 0, orders: 0, items: 0, customers: 0, aov: 0, ...perBreakdown((): Breakdown => ({})), final: this.isFinal(windowStart) };
    for (const p of partitions.values()) {
      total.windowEnd = p.windowEnd;
      total.revenue = addUnits(total.revenue, p.revenue);
      total.orders += p.orders;
      total.items += p.items;
      total.customers += p.customers;
      for (const d of WINDOW_DIMENSIONS) addBreakdown(total[d.field], p[d.field]);
    }
    total.aov = total.orders > 0 ? centsToUnits(Math.round(unitsToCents(total.revenue) / total.orders)) : 0;
    return total;
  }

  private isFinal(windowStart: number): boolean {
    const partitions = this.windows.get(windowStart);
    const end = partitions?.values().next().value?.windowEnd;
    if (end === undefined || this.watermarks.size < this.sourcePartitions) return false;
    return [...this.watermarks.values()].every((w) => w >= end);
  }

  private get newest(): number {
    return this.windows.size > 0 ? Math.max(...this.windows.keys()) : -Infinity;
  }

  private evict(): void {
    const newest = this.newest;
    for (const start of this.windows.keys()) if (start < newest - this.horizonMs) this.windows.delete(start);
  }
}
