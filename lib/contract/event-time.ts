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

/** An instant's fields as written, not yet checked against their ranges; `offset` is its text (`Z`, `+05:30`, `-0800`). */
interface InstantFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millis: number;
  offset: string;
  /** The offset's hours and minutes as written (0 for `Z`), east of UTC when offsetSign is 1. */
  offsetHours: number;
  offsetMins: number;
  offsetSign: 1 | -1;
}

/** Digits `from`..`to` of `text` as a number, NaN when one is not an ASCII digit. */
function digitsAt(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    value = value * 10 + d;
  }
  return value;
}

/**
 * The fields of `YYYY-MM-DDTHH:MM:SS.sssZ` (what `Date.prototype.toISOString` writes, and so nearly every
 * producer) read by position, or undefined for any other text: the ISO_8601 match then reads it. The same
 * fields either way (event-time.test.ts holds the two to one answer); this one without the match's
 * eleven substrings per order (issue 13, the workers' profile).
 */
function canonicalFields(text: string): InstantFields | undefined {
  if (text.length !== 24 || text[4] !== "-" || text[7] !== "-" || text[10] !== "T" || text[13] !== ":" || text[16] !== ":" || text[19] !== "." || text[23] !== "Z") return undefined;
  const fields: InstantFields = {
    year: digitsAt(text, 0, 4),
    month: digitsAt(text, 5, 7),
    day: digitsAt(text, 8, 10),
    hour: digitsAt(text, 11, 13),
    minute: digitsAt(text, 14, 16),
    second: digitsAt(text, 17, 19),
    millis: digitsAt(text, 20, 23),
    offset: "Z",
    offsetHours: 0,
    offsetMins: 0,
    offsetSign: 1,
  };
  // NaN fails every comparison: a non-digit anywhere is left to the match, which refuses it.
  return fields.year + fields.month + fields.day + fields.hour + fields.minute + fields.second + fields.millis >= 0 ? fields : undefined;
}

/** The fields of any text ISO_8601 accepts, or undefined. */
function matchedFields(text: string): InstantFields | undefined {
  const m = ISO_8601.exec(text);
  if (!m) return undefined;
  return {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: m[6] === undefined ? 0 : Number(m[6]),
    millis: m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, "0")),
    offset: m[8]!,
    offsetHours: m[8] === "Z" ? 0 : Number(m[10]),
    offsetMins: m[8] === "Z" ? 0 : Number(m[11]),
    offsetSign: m[9] === "-" ? -1 : 1,
  };
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/**
 * Parses `YYYY-MM-DDTHH:MM[:SS[.fraction]](Z|±HH[:]MM)` to epoch milliseconds
 * (UTC). The fraction is truncated to milliseconds. Never throws: a text that
 * is not such an instant, or names a field outside its range (month 13, Feb 30,
 * hour 24, minute 60, a second of 60 that is not 23:59:60 UTC, an offset beyond
 * ±23:59), gives a reason naming the field.
 */
export function parseIsoInstant(text: string): EventTimeResult {
  const f = canonicalFields(text) ?? matchedFields(text);
  if (!f) return fail("not ISO-8601 with an offset or Z (YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM))");
  const { year, month, day, hour, minute, second, millis } = f;
  if (month < 1 || month > 12) return fail(`month ${pad(month, 2)} is not 01-12`);
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) return fail(`day ${pad(day, 2)}: ${MONTHS[month - 1]} ${pad(year, 4)} has ${days} days`);
  if (hour > 23) return fail(`hour ${pad(hour, 2)} is not 00-23`);
  if (minute > 59) return fail(`minute ${pad(minute, 2)} is not 00-59`);
  if (second > 60) return fail(`second ${pad(second, 2)} is not 00-59`);
  if (f.offsetHours > 23 || f.offsetMins > 59) return fail(`offset ${f.offset} is not within ±23:59`);
  const offsetMinutes = f.offsetSign * (f.offsetHours * 60 + f.offsetMins);
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
