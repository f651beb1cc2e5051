/**
 * Business days: a calendar date in BUSINESS_TZ as a half-open range of UTC
 * instants. Pure: Intl only, no clock.
 *
 * The day D is [first instant whose local date is D, first instant whose local
 * date is D + 1). That is local midnight where midnight exists, and the first
 * instant after a gap where a DST change skips midnight (e.g. America/Santiago);
 * a day is 23 or 25 hours long across DST changes. It agrees with DuckDB's
 * `CAST(timezone(tz, timezone('UTC', t)) AS DATE)` (the lake's daily_kpis view)
 * for every zone whose local date never runs backwards, which is every zone in
 * use today.
 */

export class BusinessDayError extends Error {
  constructor(
    message: string,
    readonly context: { date?: string; timeZone?: string },
  ) {
    super(message);
    this.name = "BusinessDayError";
  }
}

export interface BusinessDay {
  /** `YYYY-MM-DD`. */
  date: string;
  timeZone: string;
  /** Epoch ms of the day's first instant (inclusive). */
  startMs: number;
  /** Epoch ms of the next day's first instant (exclusive). */
  endMs: number;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;
/** Every real zone's offset is within ±14 h, plus slack for DST: the search brackets local midnight. */
const SEARCH_MS = 36 * 3_600_000;

/** The date's UTC midnight, or undefined when `text` is not a real `YYYY-MM-DD` calendar date (years 1000–9999). */
function utcMidnight(text: string): number | undefined {
  const match = DATE.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1000) return undefined;
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  return back.getUTCFullYear() === year && back.getUTCMonth() === month - 1 && back.getUTCDate() === day ? ms : undefined;
}

/** Checks a `YYYY-MM-DD` argument; throws BusinessDayError naming what is wrong. */
export function parseBusinessDate(text: string): string {
  if (utcMidnight(text) === undefined)
    throw new BusinessDayError(`${JSON.stringify(text)} is not a calendar date written YYYY-MM-DD`, { date: text });
  return text;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", hourCycle: "h23" });
    } catch {
      throw new BusinessDayError(`${JSON.stringify(timeZone)} is not an IANA time zone (e.g. Europe/Berlin)`, { timeZone });
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The `YYYY-MM-DD` local date of an instant in `timeZone`. */
export function localDateOf(ms: number, timeZone: string): string {
  const parts = formatterFor(timeZone).formatToParts(ms);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year").padStart(4, "0")}-${part("month")}-${part("day")}`;
}

/** The first instant (ms) whose local date is `date` or later: binary search, local dates being monotone. */
function firstInstantOf(date: string, utcMs: number, timeZone: string): number {
  let low = utcMs - SEARCH_MS; // local date < date here
  let high = utcMs + SEARCH_MS; // local date ≥ date here
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (localDateOf(middle, timeZone) >= date) high = middle;
    else low = middle;
  }
  return high;
}

/** The UTC range of the business day `date` in `timeZone`. */
export function businessDay(date: string, timeZone: string): BusinessDay {
  const midnight = utcMidnight(date);
  if (midnight === undefined) throw new BusinessDayError(`${JSON.stringify(date)} is not a calendar date written YYYY-MM-DD`, { date, timeZone });
  formatterFor(timeZone);
  const next = new Date(midnight + DAY_MS).toISOString().slice(0, 10);
  return {
    date,
    timeZone,
    startMs: firstInstantOf(date, midnight, timeZone),
    endMs: firstInstantOf(next, midnight + DAY_MS, timeZone),
  };
}

/** `[2026-11-19T18:30:00.000Z, 2026-11-20T18:30:00.000Z)`: for messages. */
export function describeBusinessDay(day: BusinessDay): string {
  return `${day.date} in ${day.timeZone} = [${new Date(day.startMs).toISOString()}, ${new Date(day.endMs).toISOString()})`;
}
