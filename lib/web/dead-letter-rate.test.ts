import { describe, expect, it } from "vitest";
import { DEAD_LETTER_RATE_WINDOW_MS, deadLetterRateLabel, deadLettersPerMinute } from "./dead-letter-rate.ts";
import { ratePerSecond } from "./pipeline.ts";

describe("dead letters per minute over a sliding window", () => {
  it("a steady 20/min sent in bursts reads 20 at every poll, where the rate between polls jumped", () => {
    // The metrics worker sends its dead letters a batch at a time: 8 every 24 s is 20 per minute.
    const burstsAt = Array.from({ length: 60 }, (_, i) => i * 24_000);
    const sentBy = (t: number) => burstsAt.filter((b) => b <= t).length * 8;
    // ListOffsets by timestamp: the first offset sent at or after t (bursts get consecutive offsets).
    const offsetAt = (t: number) => burstsAt.filter((b) => b < t).length * 8;
    const polls = Array.from({ length: 24 }, (_, i) => 600_000 + i * 5_000);
    const sliding = polls.map((now) => deadLettersPerMinute([{ partition: 0, logStart: 0, logEnd: sentBy(now) }], [{ partition: 0, offset: offsetAt(now - DEAD_LETTER_RATE_WINDOW_MS) }], DEAD_LETTER_RATE_WINDOW_MS)!);
    for (const r of sliding) expect(Math.abs(r - 20)).toBeLessThanOrEqual(1.6); // one burst in or out of the window: 8 / 5 min
    // What the page showed: the log-end growth between two polls 5 s apart, per minute.
    const between = polls.slice(1).map((now, i) => ratePerSecond({ at: polls[i]!, offset: sentBy(polls[i]!) }, { at: now, offset: sentBy(now) })! * 60);
    expect(Math.max(...between)).toBeGreaterThanOrEqual(90);
    expect(Math.min(...between)).toBe(0);
  });

  it("sums partitions, divides by the window's minutes, rounds to 0.1", () => {
    const ends = [
      { partition: 0, logStart: 0, logEnd: 130 },
      { partition: 1, logStart: 10, logEnd: 40 },
    ];
    // 30 + 7 records in 5 minutes
    expect(deadLettersPerMinute(ends, [{ partition: 1, offset: 33 }, { partition: 0, offset: 100 }], 300_000)).toBe(7.4);
    expect(deadLettersPerMinute(ends, [{ partition: 0, offset: 130 }, { partition: 1, offset: 40 }], 300_000)).toBe(0);
    expect(deadLettersPerMinute(ends, [{ partition: 0, offset: 129 }, { partition: 1, offset: 40 }], 180_000)).toBe(0.3);
  });

  it("clamps a window start retention deleted, or one past the log end read just before", () => {
    const ends = [{ partition: 0, logStart: 50, logEnd: 80 }];
    expect(deadLettersPerMinute(ends, [{ partition: 0, offset: 0 }], 60_000)).toBe(30);
    expect(deadLettersPerMinute(ends, [{ partition: 0, offset: 95 }], 60_000)).toBe(0);
  });

  it("unknown without every partition's window start, or without a window", () => {
    const ends = [
      { partition: 0, logStart: 0, logEnd: 10 },
      { partition: 1, logStart: 0, logEnd: 10 },
    ];
    expect(deadLettersPerMinute(ends, [{ partition: 0, offset: 0 }], 60_000)).toBeNull();
    expect(deadLettersPerMinute(ends, [{ partition: 0, offset: 0 }, { partition: 1, offset: Number.NaN }], 60_000)).toBeNull();
    expect(deadLettersPerMinute(ends, [{ partition: 0, offset: 0 }, { partition: 1, offset: 0 }], 0)).toBeNull();
    expect(deadLettersPerMinute([], [], 60_000)).toBe(0);
  });

  it("labels the window it averages over", () => {
    expect(deadLetterRateLabel(DEAD_LETTER_RATE_WINDOW_MS)).toBe("per minute (last 5 min)");
    expect(deadLetterRateLabel(90_000)).toBe("per minute (last 90 s)");
  });
});
