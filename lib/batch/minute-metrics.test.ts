import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { amountToCents } from "../contract/money.ts";
import type { AnomalyRecord, WindowValue } from "../hot/window-engine.ts";
import { MINUTE_METRICS_TABLE, MinuteMetrics, minuteGoldRow, minuteMetricsPath } from "./minute-metrics.ts";

const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const MIN = 60_000;

const value = (partition: number, minute: number, orders: number, cents: number, customers = 1): WindowValue => ({
  partition,
  windowStart: T0 + minute * MIN,
  windowEnd: T0 + (minute + 1) * MIN,
  final: false,
  revenueCents: cents,
  orders,
  items: orders * 2,
  customers,
  dimsVersion: null,
  byCountry: [],
  byCategory: [],
  bySegment: [],
});

describe("MinuteMetrics", () => {
  it("keeps the last value per window and partition, sums partitions, and counts anomalies per kind (brute-force oracle)", () => {
    const event = fc.oneof(
      fc.record({ type: fc.constant("window" as const), partition: fc.nat({ max: 3 }), minute: fc.integer({ min: -2, max: 5 }), orders: fc.nat({ max: 50 }), cents: fc.nat({ max: 100_000 }), customers: fc.nat({ max: 9 }) }),
      fc.record({ type: fc.constant("anomaly" as const), kind: fc.constantFrom("late" as const, "duplicate" as const), partition: fc.nat({ max: 3 }), minute: fc.integer({ min: -2, max: 5 }), cents: fc.nat({ max: 100_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 80 }), (events) => {
        const metrics = new MinuteMetrics(T0, T0 + 4 * MIN);
        for (const e of events) {
          if (e.type === "window") metrics.window(value(e.partition, e.minute, e.orders, e.cents, e.customers));
          else metrics.anomaly({ kind: e.kind, partition: e.partition, offset: 0, windowStart: T0 + e.minute * MIN, amount: e.cents / 100 } satisfies AnomalyRecord);
        }
        const expected = [];
        for (let minute = 0; minute < 4; minute++) {
          const last = new Map<number, (typeof events)[number] & { type: "window" }>();
          for (const e of events) if (e.type === "window" && e.minute === minute) last.set(e.partition, e);
          const anomalies = events.filter((e) => e.type === "anomaly" && e.minute === minute) as ((typeof events)[number] & { type: "anomaly" })[];
          if (last.size === 0 && anomalies.length === 0) continue;
          const sum = (f: (e: (typeof events)[number] & { type: "window" }) => number) => [...last.values()].reduce((s, e) => s + f(e), 0);
          const late = anomalies.filter((a) => a.kind === "late");
          expected.push({
            windowStart: T0 + minute * MIN,
            orders: sum((e) => e.orders),
            revenueCents: sum((e) => e.cents),
            items: sum((e) => e.orders * 2),
            customers: sum((e) => e.customers),
            lateOrders: late.length,
            lateRevenueCents: late.reduce((s, a) => s + amountToCents(a.cents / 100), 0),
            duplicates: anomalies.length - late.length,
          });
        }
        expect(metrics.rows()).toEqual(expected);
      }),
    );
  });

  it("writes one row per window in the table's column order, the start as a UTC timestamp", () => {
    const metrics = new MinuteMetrics(T0, T0 + MIN);
    metrics.window(value(0, 0, 3, 1234));
    const [row] = metrics.rows();
    expect(minuteGoldRow(row!)).toEqual(["2026-11-20 00:00:00.000", 3, "12.34", 6, 1, 0, "0.00", 0]);
    expect(minuteGoldRow(row!)).toHaveLength(MINUTE_METRICS_TABLE.columns.length);
    expect(minuteMetricsPath("2026-11-20")).toBe("silver/minute_metrics/event_date=2026-11-20/minute_metrics.parquet");
  });
});
