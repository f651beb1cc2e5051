/**
 * Strict event-time parsing (design.md, "Order event"): an ISO-8601 instant
 * with `Z` or an offset, every field checked against its calendar range, so
 * nothing rolls over the way `Date.parse("2026-02-30T10:00:00Z")` moves an
 * order to March 2nd.
 *
 * Leap seconds: `23:59:60` (UTC) is accepted and read as 23:59:59.999 of that
 * minute, the last millisecond epoch time can name; the order stays in the
 * minute, day and window its producer meant. A second of 60 anywhere else
 * (e.g. `10:15:60Z`) is no leap second and is rejected. Which days really had
 * one is not checked: none was inserted after 2016 and none will be (the 2022
 * CGPM decision), so the table would only reject past producers' clocks.
 */

export type EventTimeResult = { ok: true; ms: number } | { ok: false; reason: string };

// A fraction only after seconds: in ISO 8601 `10:00.5` would be half a minute, not 500 ms.
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):?(\d{2}))$/;
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/** Days in `month` (1–12) of `year`, proleptic Gregorian. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const fail = (reason: string): EventTimeResult => ({ ok: false, reason });

/**
 * Parses `YYYY-MM-DDTHH:MM[:SS[.fraction]](Z|±HH[:]MM)` to epoch milliseconds
 * (UTC). The fraction is truncated to milliseconds. Never throws: a text that
 * is not such an instant, or names a field outside its range (month 13, Feb 30,
 * hour 24, minute 60, a second of 60 that is not 23:59:60 UTC, an offset beyond
 * ±23:59), gives a reason naming the field.
 */
export function parseIsoInstant(text: string): EventTimeResult {
  const m = ISO_8601.exec(text);
  if (!m) return fail("not ISO-8601 with an offset or Z (YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM))");
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, "0"));
  if (month < 1 || month > 12) return fail(`month ${m[2]} is not 01-12`);
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) return fail(`day ${m[3]}: ${MONTHS[month - 1]} ${m[1]} has ${days} days`);
  if (hour > 23) return fail(`hour ${m[4]} is not 00-23`);
  if (minute > 59) return fail(`minute ${m[5]} is not 00-59`);
  if (second > 60) return fail(`second ${m[6]} is not 00-59`);
  let offsetMinutes = 0;
  if (m[8] !== "Z") {
    const [offsetHours, offsetMins] = [Number(m[10]), Number(m[11])];
    if (offsetHours > 23 || offsetMins > 59) return fail(`offset ${m[8]} is not within ±23:59`);
    offsetMinutes = (m[9] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  // setUTCFullYear, unlike Date.UTC, takes years 0-99 as written; the fields are in range, so nothing rolls over.
  const instant = new Date(0);
  instant.setUTCFullYear(year, month - 1, day);
  instant.setUTCHours(hour, minute, Math.min(second, 59), millis);
  const local = instant.getTime();
  const ms = local - offsetMinutes * 60_000;
  if (second === 60) {
    const utc = new Date(ms);
    if (utc.getUTCHours() !== 23 || utc.getUTCMinutes() !== 59)
      return fail(`second 60 is a leap second only at 23:59:60 UTC, and ${text} is ${utc.toISOString().slice(11, 16)} UTC`);
    // The last millisecond of the minute: the leap second itself has no epoch time of its own.
    return { ok: true, ms: ms - utc.getUTCSeconds() * 1000 - utc.getUTCMilliseconds() + 59_999 };
  }
  return { ok: true, ms };
}
