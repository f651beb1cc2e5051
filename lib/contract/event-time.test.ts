import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseIsoInstant } from "./event-time.ts";

const pad = (n: number, width: number) => String(n).padStart(width, "0");

describe("parseIsoInstant", () => {
  it("gives the instant JavaScript's Date computes for the same in-range fields, any year 0000-9999 and offset", () => {
    const fields = fc.record({
      year: fc.integer({ min: 0, max: 9999 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 31 }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      second: fc.integer({ min: 0, max: 59 }),
      millis: fc.integer({ min: 0, max: 999 }),
      offset: fc.option(fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fields, (f) => {
        const offset = f.offset === undefined ? "Z" : `${f.offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(f.offset) / 60), 2)}:${pad(Math.abs(f.offset) % 60, 2)}`;
        const text = `${pad(f.year, 4)}-${pad(f.month, 2)}-${pad(f.day, 2)}T${pad(f.hour, 2)}:${pad(f.minute, 2)}:${pad(f.second, 2)}.${pad(f.millis, 3)}${offset}`;
        // The oracle: Date, which rolls a day past the month's end over, so such a day must be refused instead.
        const date = new Date(0);
        date.setUTCFullYear(f.year, f.month - 1, f.day);
        date.setUTCHours(f.hour, f.minute, f.second, f.millis);
        const result = parseIsoInstant(text);
        if (date.getUTCDate() !== f.day) expect(result, text).toEqual({ ok: false, reason: expect.stringMatching(/^day /) });
        else expect(result, text).toEqual({ ok: true, ms: date.getTime() - (f.offset ?? 0) * 60_000 });
      }),
      { numRuns: 20_000 },
    );
  });

  it("reads the toISOString form by position exactly as the general pattern reads it, in range or not", () => {
    // "+00:00" takes the ISO_8601 match; "Z" with milliseconds the positional read: one answer for both.
    const digits = (width: number) => fc.integer({ min: 0, max: 10 ** width - 1 }).map((n) => pad(n, width));
    const fields = fc.tuple(digits(4), digits(2), digits(2), digits(2), digits(2), digits(2), digits(3));
    const field = fc.oneof(fields, fields.map(([y, mo]) => [y, mo, "15", "23", "59", "60", "999"] as const));
    fc.assert(
      fc.property(field, fc.option(fc.integer({ min: 0, max: 23 }), { nil: undefined }), ([y, mo, d, h, mi, s, ms], spoilt) => {
        let text = `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`;
        // One character replaced, a digit or a separator: neither read may accept it.
        if (spoilt !== undefined) text = `${text.slice(0, spoilt)}x${text.slice(spoilt + 1)}`;
        const general = text.replace(/Z$/, "+00:00");
        const result = parseIsoInstant(text);
        const expected = parseIsoInstant(general);
        expect(result, text).toEqual(expected.ok ? expected : { ok: false, reason: expected.reason.replace(general, text) });
      }),
      { numRuns: 20_000 },
    );
  });

  it("reads a leap second as the last millisecond of 23:59 UTC and refuses one anywhere else", () => {
    expect(parseIsoInstant("2016-12-31T23:59:60Z")).toEqual({ ok: true, ms: Date.parse("2016-12-31T23:59:59.999Z") });
    expect(parseIsoInstant("2017-01-01T00:59:60+01:00")).toEqual({ ok: true, ms: Date.parse("2016-12-31T23:59:59.999Z") });
    expect(parseIsoInstant("2016-12-31T10:15:60Z")).toMatchObject({ ok: false });
  });
});
