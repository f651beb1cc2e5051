import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeOrder, MAX_MESSAGE_BYTES, NO_RECORD_TIMESTAMP, orderKey, UNKNOWN, type DecodeResult } from "./order.ts";

const T = Date.parse("2026-11-20T10:00:00.000Z");
const SKEW = 600_000;
const full = {
  order_id: "9b1c",
  customer_id: "c-1042",
  product_id: "p-17",
  category: "coffee",
  country: "us",
  channel: "web",
  quantity: 2,
  unit_price: 4.5,
  amount: 9.0,
  event_time: "2026-11-20T10:00:00.123Z",
};
const bytes = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
const decode = (value: unknown, recordTs = T) => decodeOrder(bytes(value), recordTs, SKEW);
const rejection = (result: DecodeResult) => (result.ok ? undefined : result.rejection);

describe("decodeOrder", () => {
  it("decodes the documented example", () => {
    expect(decode(full)).toEqual({
      ok: true,
      order: {
        orderId: "9b1c",
        customerId: "c-1042",
        productId: "p-17",
        category: "coffee",
        country: "US",
        channel: "web",
        quantity: 2,
        unitPrice: 4.5,
        amount: 9,
        eventTime: T + 123,
      },
    });
  });

  it("fills optional fields: UNKNOWN dimensions, quantity 1, no customer", () => {
    const result = decode({ order_id: "x", amount: 0, event_time: T, category: null });
    expect(result).toEqual({
      ok: true,
      order: { orderId: "x", customerId: null, productId: UNKNOWN, category: UNKNOWN, country: UNKNOWN, channel: UNKNOWN, quantity: 1, unitPrice: null, amount: 0, eventTime: T },
    });
  });

  it("keeps unknown extra fields out of the way", () => {
    expect(decode({ ...full, coupon: "XMAS", nested: { a: 1 } }).ok).toBe(true);
  });

  it("reads event_time as ISO-8601 with Z or an offset, or epoch ms", () => {
    const at = (event_time: unknown) => {
      const r = decode({ ...full, event_time });
      return r.ok ? r.order.eventTime : r.rejection.code;
    };
    expect(at("2026-11-20T10:00:00Z")).toBe(T);
    expect(at("2026-11-20T11:00:00+01:00")).toBe(T);
    expect(at("2026-11-20T05:00:00-0500")).toBe(T);
    expect(at("2026-11-20T10:00:00.123456789Z")).toBe(T + 123);
    expect(at(T)).toBe(T);
    expect(at("2026-11-20T10:00:00")).toBe("invalid_field"); // no zone: ambiguous
    expect(at("2026-11-20")).toBe("invalid_field");
    expect(at("2026-13-40T10:00:00Z")).toBe("invalid_field");
    expect(at("2026-11-20T10:00Z")).toBe(T);
    expect(at("2026-11-20T10:00:00.5Z")).toBe(T + 500);
    expect(at(T + 0.5)).toBe("invalid_field");
    expect(at("1999-12-31T23:59:59Z")).toBe("invalid_field");
    expect(at(true)).toBe("invalid_field");
  });

  it("enforces every required field and range", () => {
    const cases: [string, unknown][] = [
      ["order_id", { ...full, order_id: undefined }],
      ["order_id", { ...full, order_id: "" }],
      ["order_id", { ...full, order_id: "x".repeat(129) }],
      ["order_id", { ...full, order_id: 42 }],
      ["amount", { ...full, amount: undefined }],
      ["amount", { ...full, amount: -1 }],
      ["amount", { ...full, amount: 1e9 }],
      ["amount", { ...full, amount: "9.00" }],
      ["event_time", { ...full, event_time: undefined }],
      ["quantity", { ...full, quantity: 0 }],
      ["quantity", { ...full, quantity: 1.5 }],
      ["unit_price", { ...full, unit_price: -3 }],
      ["country", { ...full, country: 7 }],
      ["customer_id", { ...full, customer_id: "c".repeat(129) }],
      ["category", { ...full, category: 5 }],
    ];
    for (const [field, value] of cases) {
      const r = rejection(decode(value));
      expect(r?.code, field).toBe("invalid_field");
      expect(r?.reason, field).toContain(field);
    }
    expect(decode({ ...full, amount: Number.MAX_VALUE }).ok).toBe(false);
  });

  it("rejects what is not a JSON object", () => {
    expect(rejection(decode("{nope"))?.code).toBe("not_json");
    expect(rejection(decode("[1,2]"))?.code).toBe("not_object");
    expect(rejection(decode("null"))?.code).toBe("not_object");
    expect(rejection(decode("42"))?.code).toBe("not_object");
    expect(rejection(decodeOrder(null, T, SKEW))?.code).toBe("not_json");
    expect(rejection(decodeOrder(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), T, SKEW))?.code).toBe("not_utf8");
    expect(rejection(decodeOrder(new Uint8Array(MAX_MESSAGE_BYTES + 1), T, SKEW))?.code).toBe("too_large");
  });

  it("rejects deeply nested JSON with a reason instead of throwing (fault suite: 5,000 levels overflowed the stack)", () => {
    const deep = '{"order_id":' + '{"a":'.repeat(8_000) + "1" + "}".repeat(8_000) + ',"amount":1,"event_time":"2026-11-20T10:00:00Z"}';
    expect(deep.length).toBeLessThan(MAX_MESSAGE_BYTES);
    expect(rejection(decode(deep))).toEqual({ code: "invalid_field", reason: "order_id: Invalid input: expected string, received object" });
  });

  it("rejects impossible calendar times with the true reason, never rolling them over", () => {
    const reason = (event_time: string) => {
      const r = decode({ ...full, event_time }, NO_RECORD_TIMESTAMP);
      return r.ok ? `accepted ${new Date(r.order.eventTime).toISOString()}` : `${r.rejection.code}: ${r.rejection.reason}`;
    };
    expect(reason("2026-02-30T10:00:00Z")).toBe("invalid_field: event_time: day 30: February 2026 has 28 days");
    expect(reason("2026-02-29T10:00:00Z")).toBe("invalid_field: event_time: day 29: February 2026 has 28 days");
    expect(reason("2028-02-29T10:00:00Z")).toBe("accepted 2028-02-29T10:00:00.000Z");
    expect(reason("2100-02-29T10:00:00Z")).toMatch(/February 2100 has 28 days/);
    expect(reason("2000-02-29T10:00:00Z")).toBe("accepted 2000-02-29T10:00:00.000Z");
    expect(reason("2026-04-31T10:00:00Z")).toBe("invalid_field: event_time: day 31: April 2026 has 30 days");
    expect(reason("2026-11-00T10:00:00Z")).toBe("invalid_field: event_time: day 00: November 2026 has 30 days");
    expect(reason("2026-13-01T10:00:00Z")).toBe("invalid_field: event_time: month 13 is not 01-12");
    expect(reason("2026-00-01T10:00:00Z")).toBe("invalid_field: event_time: month 00 is not 01-12");
    expect(reason("2026-11-20T24:00:00Z")).toBe("invalid_field: event_time: hour 24 is not 00-23");
    expect(reason("2026-11-20T10:60:00Z")).toBe("invalid_field: event_time: minute 60 is not 00-59");
    expect(reason("2026-11-20T10:00:61Z")).toBe("invalid_field: event_time: second 61 is not 00-59");
    expect(reason("2026-11-20T10:00:00+24:00")).toBe("invalid_field: event_time: offset +24:00 is not within ±23:59");
    expect(reason("2026-11-20T10:00:00+01:60")).toMatch(/offset \+01:60/);
    expect(reason("2026-11-20 10:00:00Z")).toMatch(/^invalid_field: event_time: not ISO-8601/);
    expect(reason("2026-11-20T10:00.5Z")).toMatch(/^invalid_field: event_time: not ISO-8601/); // half a minute in ISO 8601, not 500 ms
  });

  it("reads a leap second as the last millisecond of its minute, and refuses a second 60 elsewhere", () => {
    const at = (event_time: string) => {
      const r = decode({ ...full, event_time }, Date.parse("2027-01-01T00:00:00Z"));
      return r.ok ? new Date(r.order.eventTime).toISOString() : r.rejection.reason;
    };
    expect(at("2016-12-31T23:59:60Z")).toBe("2016-12-31T23:59:59.999Z");
    expect(at("2016-12-31T23:59:60.5Z")).toBe("2016-12-31T23:59:59.999Z");
    expect(at("2017-01-01T00:59:60+01:00")).toBe("2016-12-31T23:59:59.999Z");
    expect(at("2016-12-31T18:59:60-05:00")).toBe("2016-12-31T23:59:59.999Z");
    expect(at("2026-11-20T10:15:60Z")).toBe("event_time: second 60 is a leap second only at 23:59:60 UTC, and 2026-11-20T10:15:60Z is 10:15 UTC");
  });

  it("treats blank optional dimensions as missing ones, not as invalid", () => {
    const r = decode({ ...full, category: "", country: "   ", channel: "\t", product_id: " ", customer_id: "" });
    expect(r).toEqual({ ok: true, order: expect.objectContaining({ customerId: null, productId: UNKNOWN, category: UNKNOWN, country: UNKNOWN, channel: UNKNOWN }) });
    const trimmed = decode({ ...full, country: "  de ", customer_id: " c-7 " });
    expect(trimmed).toEqual({ ok: true, order: expect.objectContaining({ country: "DE", customerId: "c-7" }) });
  });

  it("calls a key repeated in any object a duplicate_key, however it is escaped", () => {
    const cases: [string, string][] = [
      ['{"order_id":"o","amount":2,"amount":2000,"event_time":1764000000000}', "amount"],
      ['{"order_id":"o","amount":2,"event_time":1764000000000,"\\u0061mount":3}', "amount"],
      ['{"order_id":"o","amount":2,"event_time":1764000000000,"extra":{"a":[{"k":1},{"k":1,"k":2}]}}', "extra.a[1].k"],
    ];
    for (const [text, key] of cases) {
      expect(rejection(decode(text)), text).toEqual({ code: "duplicate_key", reason: `key "${key}" appears twice in one object` });
    }
    // The same key in sibling objects is no repeat.
    expect(decode('{"order_id":"o","amount":2,"event_time":1764000000000,"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":2}]}').ok).toBe(true);
  });

  it("skips the skew check for a record without a timestamp (Kafka's -1)", () => {
    const farAhead = { ...full, event_time: "2099-01-01T00:00:00Z" };
    expect(rejection(decode(farAhead, T))?.code).toBe("event_time_skew");
    expect(decode(farAhead, NO_RECORD_TIMESTAMP).ok).toBe(true);
    expect(decode(farAhead, Number.NaN).ok).toBe(true);
  });

  it("rejects events too far ahead of their record timestamp", () => {
    const ahead = (ms: number) => decode({ ...full, event_time: T + ms }, T);
    expect(ahead(SKEW).ok).toBe(true);
    expect(rejection(ahead(SKEW + 1))?.code).toBe("event_time_skew");
    expect(ahead(-86_400_000).ok).toBe(true); // late is not invalid
  });

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 2 ** 42 }), (data, ts) => {
        const r = decodeOrder(data, ts, SKEW);
        return r.ok ? typeof r.order.orderId === "string" : r.rejection.reason.length > 0;
      }),
      { numRuns: 2_000 },
    );
  });

  it("never throws on arbitrary JSON, and accepts only orders within the contract", () => {
    const fields = fc.record(
      {
        order_id: fc.oneof(fc.string({ maxLength: 140 }), fc.integer(), fc.constant(null)),
        customer_id: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
        quantity: fc.oneof(fc.integer({ min: -3, max: 10 }), fc.double(), fc.constant(null)),
        amount: fc.oneof(fc.double(), fc.integer(), fc.string()),
        event_time: fc.oneof(fc.integer({ min: 0, max: 2 ** 43 }), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fields, fc.jsonValue()), (value) => {
        const r = decodeOrder(bytes(JSON.stringify(value) ?? "null"), 2 ** 42, SKEW);
        if (!r.ok) return r.rejection.reason.length > 0;
        const o = r.order;
        return o.orderId.length >= 1 && o.orderId.length <= 128 && Number.isFinite(o.amount) && o.amount >= 0 && o.amount < 1e9 && Number.isInteger(o.quantity) && o.quantity >= 1;
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("orderKey", () => {
  it("keys by customer, falling back to the order id", () => {
    expect(orderKey({ order_id: "o", customer_id: "c" })).toBe("c");
    expect(orderKey({ order_id: "o", customer_id: null })).toBe("o");
    expect(orderKey({ order_id: "o" })).toBe("o");
  });
});
