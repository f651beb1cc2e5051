import { describe, expect, it } from "vitest";
import { newestOrdersHourMs, runNowBasisText, runNowDefaultDate } from "./run-now-day.ts";

const now = Date.parse("2026-12-03T15:20:00Z");

describe("Run now's default day", () => {
  it("the newest event hour among the lake's orders directories; other directories do not count", () => {
    const dirs = [
      "orders/event_date=2026-12-01/event_hour=23",
      "orders/event_date=2026-12-02/event_hour=04",
      "orders/event_date=2026-12-02/event_hour=03",
      "orders_invalid/ingest_date=2026-12-03",
      "orders/event_date=2026-12-31/event_hour=24",
      "orders/event_date=2026-02-30/event_hour=01",
    ];
    expect(newestOrdersHourMs(dirs)).toBe(Date.parse("2026-12-02T04:00:00Z"));
    expect(newestOrdersHourMs(["orders_invalid/ingest_date=2026-12-03"])).toBeNull();
    expect(newestOrdersHourMs([])).toBeNull();
  });

  it("a fresh demo's lake holds only today's orders: today, not the empty yesterday", () => {
    expect(runNowDefaultDate(Date.parse("2026-12-03T14:00:00Z"), now, "UTC")).toEqual({ date: "2026-12-03", basis: "lake" });
  });

  it("an older lake: its newest UTC day with data", () => {
    expect(runNowDefaultDate(Date.parse("2026-11-20T23:00:00Z"), now, "UTC")).toEqual({ date: "2026-11-20", basis: "lake" });
  });

  it("the business day in BUSINESS_TZ: 23:00 UTC on 20 November is 21 November in Berlin", () => {
    expect(runNowDefaultDate(Date.parse("2026-11-20T23:00:00Z"), now, "Europe/Berlin")).toEqual({ date: "2026-11-21", basis: "lake" });
    expect(runNowDefaultDate(Date.parse("2026-11-20T23:00:00Z"), now, "America/New_York")).toEqual({ date: "2026-11-20", basis: "lake" });
  });

  it("never after today: an order stamped ahead of the clock lands in tomorrow's directory", () => {
    const beforeMidnight = Date.parse("2026-12-03T23:59:00Z");
    expect(runNowDefaultDate(Date.parse("2026-12-04T00:00:00Z"), beforeMidnight, "UTC")).toEqual({ date: "2026-12-03", basis: "lake" });
  });

  it("no orders in the lake: yesterday, and says why", () => {
    expect(runNowDefaultDate(null, now, "UTC")).toEqual({ date: "2026-12-02", basis: "empty lake" });
    expect(runNowDefaultDate(null, Date.parse("2026-12-03T00:30:00Z"), "America/New_York")).toEqual({ date: "2026-12-01", basis: "empty lake" });
    expect(runNowDefaultDate(null, now, "UTC", true)).toEqual({ date: "2026-12-02", basis: "unreadable lake" });
    expect(runNowBasisText("empty lake")).toBe("yesterday: the lake holds no orders yet");
    expect(runNowBasisText("lake")).toBe("the newest day with orders in the lake");
  });
});
