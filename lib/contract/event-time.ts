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
 * Days from 1970-01-01 to `year`-`month`-`day` (month 1–12), proleptic Gregorian, years 0–9999 as written (as
 * `setUTCFullYear` takes them, unlike `Date.UTC`): H. Hinnant's days_from_civil
 * (https://howardhinnant.github.io/date_algorithms.html#days_from_civil).
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

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
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
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
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return fail(`offset ${m[8]} is not within ±23:59`);
    offsetMinutes = (m[9] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  // The fields are in range, so nothing rolls over; arithmetic rather than a Date per order (the hot path parses each one).
  const local = daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + Math.min(second, 59) * 1000 + millis;
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
