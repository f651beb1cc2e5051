const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Thrown for text that is not a duration; the message says what was given and what would be accepted. */
export class DurationError extends Error {
  override name = "DurationError";
  /** `reason` reads on its own after the value, e.g. in a configuration report: "has no unit: …". */
  constructor(readonly text: string, readonly reason: string, message = `"${text}" ${reason}`) {
    super(message);
  }
}

/**
 * Parses durations such as `500ms`, `30s`, `2m`, `1h`, `1d` into milliseconds
 * (at most 365 days). A number needs its unit: `60` could mean 60 s or 60 ms, so
 * it is refused with a hint (only `0` may stand alone). Throws DurationError.
 */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) throw new DurationError(text, "is not a duration (use e.g. 500ms, 30s, 2m, 1h)", `not a duration: "${text}" (use e.g. 500ms, 30s, 2m, 1h)`);
  if (match[2] === undefined && Number(match[1]) !== 0)
    throw new DurationError(text, `has no unit: write ${match[1]}s for seconds or ${match[1]}ms for milliseconds (units: ms, s, m, h, d)`);
  const value = Number(match[1]) * UNIT_MS[match[2] ?? "ms"]!;
  if (!Number.isFinite(value) || value > 365 * UNIT_MS.d!) throw new DurationError(text, "is out of range (at most 365d)");
  return Math.round(value);
}

/** The shortest exact form of `ms` (e.g. 120000 → `2m`), readable back by parseDuration. */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    const size = UNIT_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
