/**
 * Which Y axis each series of the Lake page's result chart goes on. Orders (hundreds) and revenue
 * (tens of thousands) on one axis flatten the smaller series onto the baseline, so a series whose
 * largest magnitude differs from the first series' by more than a ratio gets the right-hand axis.
 * Pure: the chart's points come in.
 */

export type YAxisSide = "left" | "right";

const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
/** A Y-axis tick, compact (1.2M, 280K, 950), so a large value fits the axis's width; tables keep the exact values. */
export const compactTick = (value: number): string => compact.format(value);

/** How many times larger one series' largest magnitude must be than another's before they get separate axes. */
export const SEPARATE_AXIS_RATIO = 10;

/** The largest |value| of a series over the points; 0 when it has no finite number. */
export function seriesMagnitude(data: readonly Record<string, unknown>[], name: string): number {
  let max = 0;
  for (const point of data) {
    const value = point[name];
    if (typeof value === "number" && Number.isFinite(value)) max = Math.max(max, Math.abs(value));
  }
  return max;
}

/**
 * The axis of each series, in `series` order. The first series is on the left and sets its scale;
 * a later series whose largest magnitude is more than `ratio` times larger or smaller than the
 * first's goes on the right (one right axis: every such series shares it); the rest stay left. A
 * series with no non-zero value (or a first series without one) stays left: there is no
 * magnitude to compare.
 */
export function yAxisSides(data: readonly Record<string, unknown>[], series: readonly string[], ratio = SEPARATE_AXIS_RATIO): YAxisSide[] {
  const magnitudes = series.map((name) => seriesMagnitude(data, name));
  const anchor = magnitudes[0] ?? 0;
  return magnitudes.map((m, i): YAxisSide => {
    if (i === 0 || anchor === 0 || m === 0) return "left";
    return Math.max(m, anchor) / Math.min(m, anchor) > ratio ? "right" : "left";
  });
}
