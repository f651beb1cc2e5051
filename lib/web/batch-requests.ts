/**
 * What the Batch page's routes accept (app/api/batch/*, app/api/reconcile,
 * app/api/actions/*): zod schemas, parsed at the edge; handlers then trust the
 * typed values. Dates are business days `YYYY-MM-DD` (BUSINESS_TZ); instants
 * ISO-8601 with an offset or `Z`.
 */
import { z } from "zod";
import { BusinessDayError, parseBusinessDate } from "../contract/business-day.ts";
import { JOBS } from "../ops/schedule.ts";

export const businessDateSchema = z.string().transform((text, ctx) => {
  try {
    return parseBusinessDate(text);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as BusinessDayError).message });
    return z.NEVER;
  }
});

const isoSeconds = z.iso.datetime({ offset: true });
const isoMinutes = z.iso.datetime({ offset: true, precision: -1 });
/** ISO-8601 with an offset or `Z`, to the second (or finer) or to the minute (`2026-12-03T12:00Z`, what the Batch page fills in). */
const instantSchema = z
  .string()
  .refine((text) => isoSeconds.safeParse(text).success || isoMinutes.safeParse(text).success, { message: "expected an ISO-8601 time with an offset or Z, e.g. 2026-12-03T12:00Z" })
  .transform((text) => Date.parse(text));

/** Longest range the reconciliation view replays and repairs in one request (the replay reads every lake row once). */
export const MAX_RECONCILE_RANGE_MS = 7 * 86_400_000;

/** `{ from, to }` instants, from < to, at most MAX_RECONCILE_RANGE_MS apart; epoch ms out. */
export const instantRangeSchema = z
  .object({ from: instantSchema, to: instantSchema })
  // Only once both ends parsed: otherwise these would also report a range that is not one.
  .refine((r) => r.from < r.to, { message: "from must be before to", path: ["to"], when: (payload) => payload.issues.length === 0 })
  .refine((r) => r.to - r.from <= MAX_RECONCILE_RANGE_MS, { message: "the range may be at most 7 days", path: ["to"], when: (payload) => payload.issues.length === 0 })
  .transform((r) => ({ fromMs: r.from, toMs: r.to }));

/** `{ from, to }` business days, both inclusive (backfill). Reversed or over-long ranges are refused by backfillPlan (ScheduleError). */
export const dateRangeSchema = z.object({ from: businessDateSchema, to: businessDateSchema });

/** Run now: one day, both daily jobs (in order) or one of them. */
export const runNowSchema = z.object({ date: businessDateSchema, job: z.enum([...JOBS, "all"]).default("all") });

/** The history grid's depth: days back from today. */
export const overviewQuerySchema = z.object({ days: z.coerce.number().int().min(1).max(366).default(14) });

export const runIdSchema = z.coerce.number().int().min(1);
