/**
 * decodeOrder against a small independent oracle (issue 9): arbitrary JSON
 * values, arbitrary bytes, and order-shaped objects whose event time is built
 * from arbitrary (often impossible) calendar fields. The oracle checks the
 * calendar its own way (day 0 of the next month is the last day of this one),
 * so it shares no code with lib/contract/event-time.ts.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeOrder, NO_RECORD_TIMESTAMP, orderSchema, UNKNOWN } from "./order.ts";

const SKEW = 600_000;
const MIN = Date.UTC(2000, 0, 1);
const MAX = Date.UTC(2100, 0, 1);
const pad = (n: number, width = 2) => String(n).padStart(width, "0");

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millis: number;
  /** Offset in minutes east of UTC, or null for Z. */
  offset: number | null;
}

const fields: fc.Arbitrary<Fields> = fc.record({
  year: fc.integer({ min: 1995, max: 2105 }),
  month: fc.integer({ min: 0, max: 13 }),
  day: fc.integer({ min: 0, max: 32 }),
  hour: fc.oneof(fc.integer({ min: 0, max: 25 }), fc.constant(23)),
  minute: fc.oneof(fc.integer({ min: 0, max: 61 }), fc.constant(59)),
  second: fc.oneof(fc.integer({ min: 0, max: 61 }), fc.constant(60)),
  millis: fc.integer({ min: 0, max: 999 }),
  offset: fc.oneof(fc.constant(null), fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 })),
});

const text = ({ year, month, day, hour, minute, second, millis, offset }: Fields) => {
  const zone = offset === null ? "Z" : `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}.${pad(millis, 3)}${zone}`;
};

/** The oracle: the instant these fields name, or undefined when they name none. */
function oracleInstant(f: Fields): number | undefined {
  if (f.month < 1 || f.month > 12 || f.hour > 23 || f.minute > 59 || f.second > 60) return undefined;
  const lastDay = new Date(Date.UTC(f.year, f.month, 0)).getUTCDate();
  if (f.day < 1 || f.day > lastDay) return undefined;
  const ms = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, Math.min(f.second, 59), f.millis) - (f.offset ?? 0) * 60_000;
  if (f.second < 60) return ms;
  // A leap second only ends a UTC day; it reads as that minute's last millisecond.
  const utc = new Date(ms);
  return utc.getUTCHours() === 23 && utc.getUTCMinutes() === 59 ? Math.floor(ms / 60_000) * 60_000 + 59_999 : undefined;
}

const dimension = fc.oneof(fc.constantFrom("", " ", "\t \n", "web", " de "), fc.string({ maxLength: 6 }), fc.constant(null));
const amount = fc.oneof(fc.double({ noNaN: false }), fc.integer({ min: 0, max: 1e6 }).map((c) => c / 100), fc.constant(1.005));
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value) ?? "null");

function accepted(value: unknown, recordTimestamp: number) {
  const r = decodeOrder(typeof value === "object" && value instanceof Uint8Array ? value : bytes(value), recordTimestamp, SKEW);
  return r;
}

describe("decodeOrder fuzz against an oracle", () => {
  it("accepts an order exactly when its event time is a real instant in range and its amount is money; blank dimensions are UNKNOWN", () => {
    fc.assert(
      fc.property(fields, amount, dimension, dimension, dimension, (f, amt, country, category, customer) => {
        const order = { order_id: "o-1", event_time: text(f), amount: amt, country, category, customer_id: customer };
        const r = accepted(order, NO_RECORD_TIMESTAMP);
        const instant = oracleInstant(f);
        const money = Number.isFinite(amt) && amt >= 0 && amt < 1e9;
        const valid = instant !== undefined && instant >= MIN && instant < MAX && money;
        expect(r.ok, `${text(f)} amount ${amt}: ${r.ok ? "accepted" : r.rejection.reason}`).toBe(valid);
        if (!r.ok) {
          expect(r.rejection.reason.length).toBeGreaterThan(0);
          return;
        }
        expect(r.order.eventTime).toBe(instant);
        expect(r.order.amount === amt).toBe(true); // -0 is written as 0
        const blank = (v: string | null) => v === null || v.trim() === "";
        expect(r.order.country).toBe(blank(country) ? UNKNOWN : country!.trim().toUpperCase());
        expect(r.order.category).toBe(blank(category) ? UNKNOWN : category!.trim());
        expect(r.order.customerId).toBe(blank(customer) ? null : customer!.trim());
      }),
      { numRuns: 5_000 },
    );
  });

  it("never throws on arbitrary JSON values or bytes; whatever it accepts has a real time, finite money and no blank dimension", () => {
    const anyInput = fc.oneof(
      fc.jsonValue(),
      fc.uint8Array({ maxLength: 200 }),
      fc.record({ order_id: fc.string({ minLength: 1, maxLength: 8 }), amount: fc.jsonValue(), event_time: fc.jsonValue(), country: fc.jsonValue() }, { requiredKeys: [] }),
    );
    fc.assert(
      fc.property(anyInput, fc.oneof(fc.constant(NO_RECORD_TIMESTAMP), fc.integer({ min: 0, max: 2 ** 42 })), (input, ts) => {
        let r: ReturnType<typeof decodeOrder> | undefined;
        expect(() => (r = accepted(input, ts))).not.toThrow();
        if (!r!.ok) return;
        const o = r!.order;
        expect(Number.isSafeInteger(o.eventTime) && o.eventTime >= MIN && o.eventTime < MAX).toBe(true);
        expect(new Date(o.eventTime).getTime()).toBe(o.eventTime);
        expect(Number.isFinite(o.amount) && o.amount >= 0 && o.amount < 1e9).toBe(true);
        for (const d of [o.productId, o.category, o.country, o.channel]) expect(d.trim()).not.toBe("");
        if (o.customerId !== null) expect(o.customerId.trim()).not.toBe("");
      }),
      { numRuns: 3_000 },
    );
  });
});

describe("decodeOrder's fast path (issue 13)", () => {
  /** The contract through orderSchema alone: the reference the hand-written fast path must match. */
  function throughZod(value: Record<string, unknown>) {
    const parsed = orderSchema.safeParse(value);
    if (!parsed.success) return "invalid";
    const o = parsed.data;
    return { orderId: o.order_id, customerId: o.customer_id ?? null, productId: o.product_id ?? UNKNOWN, category: o.category ?? UNKNOWN, country: o.country ? o.country.toUpperCase() : UNKNOWN, channel: o.channel ?? UNKNOWN, quantity: o.quantity ?? 1, unitPrice: o.unit_price ?? null, amount: o.amount, eventTime: o.event_time };
  }
  const anyValue = fc.oneof(fc.constant(undefined), fc.constant(null), fc.string({ maxLength: 140 }), fc.double(), fc.integer(), fc.boolean(), fc.constant([]), fc.constant({}));
  const longText = fc.oneof(dimension, fc.string({ minLength: 120, maxLength: 140 }), fc.constant(`  ${"x".repeat(128)}  `), anyValue);
  const shaped = fc.record(
    {
      order_id: fc.oneof(fc.constantFrom("", "o-1", "x".repeat(128), "x".repeat(129)), anyValue),
      customer_id: longText,
      product_id: longText,
      category: longText,
      country: longText,
      channel: longText,
      quantity: fc.oneof(fc.integer({ min: -2, max: 1_000_002 }), fc.constantFrom(1, 1.5, 1_000_000, 1_000_001, 2 ** 53), anyValue),
      unit_price: fc.oneof(amount, fc.constantFrom(0, -0, 1e9, 1e9 - 0.01, -0.01), anyValue),
      amount: fc.oneof(amount, fc.constantFrom(0, -0, 1e9, 1e9 - 0.01, -0.01), anyValue),
      event_time: fc.oneof(fields.map(text), fc.integer({ min: MIN - 2, max: MAX + 2 }), fc.constantFrom(MIN - 1, MIN, MAX - 1, MAX, 2 ** 53, 1.5), anyValue),
    },
    { requiredKeys: [] },
  );

  it("gives exactly orderSchema's answer on order-shaped objects", () => {
    fc.assert(
      fc.property(shaped, (value) => {
        const clean = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
        const decoded = decodeOrder(bytes(clean), NO_RECORD_TIMESTAMP, SKEW);
        const expected = throughZod(clean);
        if (expected === "invalid") expect(decoded.ok ? "accepted" : decoded.rejection.code).toBe("invalid_field");
        else expect(decoded).toEqual({ ok: true, order: expected });
      }),
      { numRuns: 5_000 },
    );
  });
});
