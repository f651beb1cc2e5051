import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Point } from "@influxdata/influxdb-client";
import {
  anomalyPoint,
  pipelinePoint,
  anomalyTimestampNs,
  LineProtocolError,
  MEASUREMENTS,
  safeTagValue,
  toLineProtocol,
  windowPoints,
  type InfluxPoint,
} from "./influx-points.ts";
import type { WindowValue } from "./window-engine.ts";

const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
const T0_NS = BigInt(T0) * 1_000_000n;
const MIN = 60_000;

const window: WindowValue = {
  partition: 3,
  windowStart: T0,
  windowEnd: T0 + MIN,
  final: true,
  revenueCents: 123_456,
  orders: 7,
  items: 9,
  customers: 4,
  byCountry: [
    { key: "DE", revenueCents: 23_456, orders: 2 },
    { key: "US", revenueCents: 100_000, orders: 5 },
  ],
  byCategory: [{ key: "cold brew", revenueCents: 123_456, orders: 7 }],
  dimsVersion: null,
  bySegment: [],
};

describe("windowPoints", () => {
  it("maps a window value to order_window, by-country and by-category points at the window start", () => {
    expect(windowPoints(window)).toEqual([
      {
        measurement: "order_window",
        tags: { partition: "3" },
        fields: {
          revenue: { type: "float", value: 1234.56 },
          orders: { type: "int", value: 7 },
          items: { type: "int", value: 9 },
          customers: { type: "int", value: 4 },
          final: { type: "int", value: 1 },
        },
        timestampNs: T0_NS,
      },
      {
        measurement: "order_window_by_country",
        tags: { partition: "3", country: "DE" },
        fields: { revenue: { type: "float", value: 234.56 }, orders: { type: "int", value: 2 } },
        timestampNs: T0_NS,
      },
      {
        measurement: "order_window_by_country",
        tags: { partition: "3", country: "US" },
        fields: { revenue: { type: "float", value: 1000 }, orders: { type: "int", value: 5 } },
        timestampNs: T0_NS,
      },
      {
        measurement: "order_window_by_category",
        tags: { partition: "3", category: "cold brew" },
        fields: { revenue: { type: "float", value: 1234.56 }, orders: { type: "int", value: 7 } },
        timestampNs: T0_NS,
      },
    ]);
  });

  it("marks a partial value final=0", () => {
    expect(windowPoints({ ...window, final: false })[0]!.fields.final).toEqual({ type: "int", value: 0 });
  });

  it("renders money as the cent value, never as a binary fraction", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e13 }), (cents) => {
        const line = toLineProtocol(windowPoints({ ...window, revenueCents: cents, byCountry: [], byCategory: [] })[0]!);
        const revenue = /revenue=([^, ]+)/.exec(line)![1]!;
        expect(revenue).toMatch(/^\d+(\.\d{1,2})?$/);
        expect(Math.round(Number(revenue) * 100)).toBe(cents);
      }),
    );
  });
});

describe("anomalyPoint", () => {
  it("is one point per record: orders 1, revenue in cents, tags partition and kind", () => {
    expect(anomalyPoint({ kind: "late", partition: 2, offset: 42, windowStart: T0, amount: 1.005 }, MIN)).toEqual({
      measurement: "order_anomaly",
      tags: { partition: "2", kind: "late" },
      fields: { orders: { type: "int", value: 1 }, revenue: { type: "float", value: 1.01 } },
      timestampNs: T0_NS + 42n,
    });
  });

  it("places the point inside its window, offset by the Kafka offset modulo the window in ns", () => {
    expect(anomalyTimestampNs(T0, 60_000_000_000 + 5, MIN)).toBe(T0_NS + 5n);
    expect(anomalyTimestampNs(T0, Number.MAX_SAFE_INTEGER, 1_000)).toBe(T0_NS + BigInt(Number.MAX_SAFE_INTEGER) % 1_000_000_000n);
  });

  it("gives distinct records of one window distinct timestamps within the window", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1_000, MIN),
        fc.nat({ max: Number.MAX_SAFE_INTEGER - 1e9 }),
        fc.uniqueArray(fc.nat({ max: 999_999_999 }), { minLength: 2, maxLength: 20 }),
        (size, base, deltas) => {
          const stamps = deltas.map((d) => anomalyTimestampNs(T0, base + d, size));
          expect(new Set(stamps).size).toBe(deltas.length);
          for (const stamp of stamps) {
            expect(stamp >= T0_NS && stamp < T0_NS + BigInt(size) * 1_000_000n).toBe(true);
          }
        },
      ),
    );
  });
});

describe("safeTagValue", () => {
  it("keeps ordinary values and replaces what line protocol cannot carry", () => {
    expect(safeTagValue("cold brew, large=1")).toBe("cold brew, large=1");
    expect(safeTagValue("a\\")).toBe("a\uFFFD");
    expect(safeTagValue("line\nbreak\ttab")).toBe("line\uFFFDbreak\uFFFDtab");
    expect(safeTagValue("")).toBe("UNKNOWN");
  });
});

describe("toLineProtocol", () => {
  const point = (overrides: Partial<InfluxPoint>): InfluxPoint => ({
    measurement: "m",
    tags: {},
    fields: { n: { type: "int", value: 1 } },
    timestampNs: 5n,
    ...overrides,
  });

  it("renders the documented shapes, tags and fields sorted, integers with i", () => {
    expect(toLineProtocol(windowPoints(window)[0]!)).toBe(
      `order_window,partition=3 customers=4i,final=1i,items=9i,orders=7i,revenue=1234.56 ${T0_NS}`,
    );
    expect(toLineProtocol(windowPoints(window)[3]!)).toBe(`order_window_by_category,category=cold\\ brew,partition=3 orders=7i,revenue=1234.56 ${T0_NS}`);
  });

  it("escapes measurement commas and spaces, and tag key, tag value and field key commas, equals and spaces", () => {
    const line = toLineProtocol(
      point({
        measurement: "my m,x=y",
        tags: { "k y,=": "v a,l=ue" },
        fields: { "f i,e=ld": { type: "float", value: -1.5 } },
      }),
    );
    expect(line).toBe("my\\ m\\,x=y,k\\ y\\,\\==v\\ a\\,l\\=ue f\\ i\\,e\\=ld=-1.5 5");
  });

  it("refuses what it cannot represent faithfully", () => {
    const refused = [
      point({ measurement: "" }),
      point({ tags: { country: "" } }),
      point({ tags: { country: "a\\" } }),
      point({ tags: { country: "a\nb" } }),
      point({ fields: {} }),
      point({ fields: { n: { type: "int", value: 1.5 } } }),
      point({ fields: { n: { type: "int", value: 2 ** 53 } } }),
      point({ fields: { x: { type: "float", value: Number.NaN } } }),
      point({ fields: { x: { type: "float", value: Infinity } } }),
    ];
    for (const p of refused) expect(() => toLineProtocol(p), JSON.stringify(p, (_, v) => (typeof v === "bigint" ? String(v) : v))).toThrow(LineProtocolError);
  });

  it("agrees with @influxdata/influxdb-client's Point for every point we produce", () => {
    const text = fc.string({ unit: fc.constantFrom("a", "Z", " ", ",", "=", "\\", "\n", "é", '"', "0"), minLength: 0, maxLength: 8 });
    const totals = fc.array(fc.record({ key: text, revenueCents: fc.integer({ min: 0, max: 1e12 }), orders: fc.nat({ max: 1e6 }) }), { maxLength: 3 });
    const values = fc.record({
      partition: fc.nat({ max: 200 }),
      windowStart: fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }).map((t) => t - (t % MIN)),
      final: fc.boolean(),
      revenueCents: fc.integer({ min: 0, max: 1e13 }),
      orders: fc.nat(),
      items: fc.nat(),
      customers: fc.nat(),
      byCountry: totals,
      byCategory: totals,
      bySegment: totals,
      dimsVersion: fc.option(fc.stringMatching(/^[0-9a-f]{16}$/), { nil: null }),
    });
    fc.assert(
      fc.property(values, fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.constantFrom("late", "duplicate"), (v, offset, kind) => {
        const points = [
          ...windowPoints({ ...v, windowEnd: v.windowStart + MIN }),
          anomalyPoint({ kind: kind as "late" | "duplicate", partition: v.partition, offset, windowStart: v.windowStart, amount: v.revenueCents / 100 }, MIN),
        ];
        for (const p of points) {
          const reference = new Point(p.measurement).timestamp(p.timestampNs.toString());
          for (const [key, value] of Object.entries(p.tags)) reference.tag(key, value);
          for (const [key, field] of Object.entries(p.fields)) {
            if (field.type === "string") reference.stringField(key, field.value);
            else if (field.type === "int") reference.intField(key, field.value);
            else reference.floatField(key, field.value);
          }
          expect(toLineProtocol(p)).toBe(reference.toLineProtocol());
        }
      }),
      { numRuns: 300 },
    );
  });

  it("covers every measurement the design names", () => {
    expect(Object.values(MEASUREMENTS).sort()).toEqual(["alert", "order_anomaly", "order_window", "order_window_by_category", "order_window_by_country", "order_window_by_segment", "pipeline"]);
  });
});

describe("pipelinePoint", () => {
  it("maps a sample to integer fields at its wall-clock time, omitting an unknown watermark", () => {
    const sample = { worker: "metrics", partition: 2, at: 1_700_000_000_000, lag: 5, watermark: null, consumed: 10, invalid: 1, late: 2, duplicates: 3, offsetGaps: 0, missedMessages: 0, bufferedPoints: 7, refusedPoints: 4 };
    const point = pipelinePoint(sample);
    expect(point.tags).toEqual({ worker: "metrics", partition: "2" });
    expect(point.timestampNs).toBe(1_700_000_000_000_000_000n);
    expect(point.fields.watermark).toBeUndefined();
    expect(Object.values(point.fields).every((f) => f.type === "int")).toBe(true);
    expect(pipelinePoint({ ...sample, watermark: 123 }).fields.watermark).toEqual({ type: "int", value: 123 });
    expect(point.fields.refused_points).toEqual({ type: "int", value: 4 });
  });
});
