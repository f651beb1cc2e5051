const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses durations such as `500ms`, `30s`, `2m`, `1h` (a bare number is milliseconds). */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) throw new Error(`not a duration: "${text}" (use e.g. 500ms, 30s, 2m, 1h)`);
  const value = Number(match[1]) * UNIT_MS[match[2] ?? "ms"]!;
  if (!Number.isFinite(value) || value > 365 * UNIT_MS.d!) throw new Error(`duration out of range: "${text}"`);
  return Math.round(value);
}

export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    const size = UNIT_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
