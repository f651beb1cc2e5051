/**
 * The day the Batch page's "Run now" offers first: the newest business day the lake holds orders
 * for, so a fresh demo (whose only orders are today's) does not start on an empty yesterday.
 * Pure: the lake's directories, the clock and the time zone come in.
 */
import { localDateOf } from "../contract/business-day.ts";
import { ordersDirHourMs } from "../lake/layout.ts";
import { addDays } from "../ops/schedule.ts";

/** Where the offered day comes from: the lake's newest orders, or yesterday when the lake has none (or could not be read). */
export type RunNowBasis = "lake" | "empty lake" | "unreadable lake";

export interface RunNowDefault {
  /** Business day `YYYY-MM-DD` in BUSINESS_TZ. */
  date: string;
  basis: RunNowBasis;
}

/** The start (epoch ms) of the newest UTC event hour among `orders/…/event_hour=HH` directories; null when none is one. */
export function newestOrdersHourMs(dirs: Iterable<string>): number | null {
  let newest: number | null = null;
  for (const dir of dirs) {
    const hour = ordersDirHourMs(dir);
    if (hour !== undefined && (newest === null || hour > newest)) newest = hour;
  }
  return newest;
}

/**
 * The business day of the newest event hour with orders (`newestHourMs`, epoch ms; the lake keeps
 * orders by UTC event hour, so with BUSINESS_TZ=UTC this is the newest UTC day with data; in a zone
 * whose offset is not whole hours, the day the hour starts in), never later than today (`nowMs`:
 * an event up to MAX_EVENT_SKEW ahead can land in tomorrow's directory); yesterday when the lake
 * holds no orders (`newestHourMs` null) — `basis` says which, and `unreadable` marks a lake that
 * could not be listed.
 */
export function runNowDefaultDate(newestHourMs: number | null, nowMs: number, businessTz: string, unreadable = false): RunNowDefault {
  const today = localDateOf(nowMs, businessTz);
  if (newestHourMs === null) return { date: addDays(today, -1), basis: unreadable ? "unreadable lake" : "empty lake" };
  const newest = localDateOf(newestHourMs, businessTz);
  return { date: newest > today ? today : newest, basis: "lake" };
}

/** What the page says beside the day it offered. */
export function runNowBasisText(basis: RunNowBasis): string {
  switch (basis) {
    case "lake":
      return "the newest day with orders in the lake";
    case "empty lake":
      return "yesterday: the lake holds no orders yet";
    case "unreadable lake":
      return "yesterday: the lake could not be listed";
  }
}
