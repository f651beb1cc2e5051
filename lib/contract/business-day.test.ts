import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { BusinessDayError, businessDay, describeBusinessDay, localDateOf, parseBusinessDate } from "./business-day.ts";

const iso = (ms: number) => new Date(ms).toISOString();

describe("businessDay", () => {
  it("is the UTC calendar day in UTC", () => {
    const day = businessDay("2026-11-20", "UTC");
    expect([iso(day.startMs), iso(day.endMs)]).toEqual(["2026-11-20T00:00:00.000Z", "2026-11-21T00:00:00.000Z"]);
  });

  it("starts at local midnight in a zone with a half-hour offset", () => {
    const day = businessDay("2026-11-20", "Asia/Kolkata");
    expect([iso(day.startMs), iso(day.endMs)]).toEqual(["2026-11-19T18:30:00.000Z", "2026-11-20T18:30:00.000Z"]);
    expect(describeBusinessDay(day)).toBe("2026-11-20 in Asia/Kolkata = [2026-11-19T18:30:00.000Z, 2026-11-20T18:30:00.000Z)");
  });

  it("is 25 hours long when DST ends and 23 hours when it starts", () => {
    const fallBack = businessDay("2026-11-01", "America/New_York");
    expect([iso(fallBack.startMs), iso(fallBack.endMs)]).toEqual(["2026-11-01T04:00:00.000Z", "2026-11-02T05:00:00.000Z"]);
    const springForward = businessDay("2026-03-08", "America/New_York");
    expect([iso(springForward.startMs), iso(springForward.endMs)]).toEqual(["2026-03-08T05:00:00.000Z", "2026-03-09T04:00:00.000Z"]);
  });

  it("starts at the first instant after the gap where DST skips midnight", () => {
    // Chile moves clocks from 24:00 to 01:00 on the first Sunday of September.
    const day = businessDay("2026-09-06", "America/Santiago");
    expect(localDateOf(day.startMs, "America/Santiago")).toBe("2026-09-06");
    expect(localDateOf(day.startMs - 1, "America/Santiago")).toBe("2026-09-05");
    expect(day.endMs - day.startMs).toBe(23 * 3_600_000);
  });

  it("contains exactly the instants whose local date is the day (Intl as the reference)", () => {
    const zones = ["UTC", "America/New_York", "Asia/Kolkata", "Europe/Berlin", "Pacific/Chatham", "Australia/Lord_Howe", "America/Santiago", "Pacific/Kiritimati"];
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }), fc.constantFrom(...zones), (ms, zone) => {
        const date = localDateOf(ms, zone);
        const day = businessDay(date, zone);
        expect(day.startMs).toBeLessThanOrEqual(ms);
        expect(ms).toBeLessThan(day.endMs);
        expect(localDateOf(day.startMs, zone)).toBe(date);
        expect(localDateOf(day.startMs - 1, zone) < date).toBe(true);
        expect(localDateOf(day.endMs - 1, zone)).toBe(date);
        expect(localDateOf(day.endMs, zone) > date).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses dates that are not calendar dates and zones that are not zones", () => {
    for (const bad of ["2026-02-30", "2026-1-01", "20261120", "yesterday", "", "0999-01-01", "2026-11-20T00:00:00Z"]) {
      expect(() => parseBusinessDate(bad)).toThrow(BusinessDayError);
      expect(() => businessDay(bad, "UTC")).toThrow(/not a calendar date/);
    }
    expect(parseBusinessDate("2028-02-29")).toBe("2028-02-29");
    expect(() => businessDay("2026-11-20", "Mars/Olympus")).toThrow(/not an IANA time zone/);
  });
});
