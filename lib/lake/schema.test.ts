import { describe, expect, it } from "vitest";
import { toLakeInvalidRow, toLakeOrderRow } from "./schema.ts";
import { decodeOrder } from "../contract/order.ts";

const T = Date.parse("2026-11-20T10:00:00.123Z");

describe("toLakeOrderRow", () => {
  it("maps a decoded order and keeps the message text as raw", () => {
    const bytes = new TextEncoder().encode('{"order_id":"x","amount":9,"event_time":"2026-11-20T10:00:00.123Z","country":"de","extra":"kept"}');
    const decoded = decodeOrder(bytes, T, 600_000);
    if (!decoded.ok) throw new Error("fixture must decode");
    expect(toLakeOrderRow(decoded.order, { partition: 1, offset: 42, ingestedAt: T + 5 }, bytes)).toEqual({
      order_id: "x",
      customer_id: null,
      product_id: "UNKNOWN",
      category: "UNKNOWN",
      country: "DE",
      channel: "UNKNOWN",
      quantity: 1,
      unit_price: null,
      amount: 9,
      amount_cents: 900,
      event_time: T,
      kafka_partition: 1,
      kafka_offset: 42,
      ingested_at: T + 5,
      raw: '{"order_id":"x","amount":9,"event_time":"2026-11-20T10:00:00.123Z","country":"de","extra":"kept"}',
    });
  });
});

describe("amount_cents", () => {
  it("is the amount rounded once, half away from zero on the value as written", () => {
    const row = (amount: number) => toLakeOrderRow({ orderId: "x", customerId: null, productId: "p", category: "c", country: "US", channel: "web", quantity: 1, unitPrice: null, amount, eventTime: T }, { partition: 0, offset: 0, ingestedAt: T }, "{}");
    expect([1.005, 2.675, 0.1, 999_999_999.99].map((a) => row(a).amount_cents)).toEqual([101, 268, 10, 99_999_999_999]);
  });
});

describe("toLakeInvalidRow", () => {
  it("keeps the raw bytes and the reason; a missing record timestamp (Kafka's -1) becomes null", () => {
    const raw = new Uint8Array([0xff, 0x00]);
    const source = { partition: 3, offset: 7, ingestedAt: T };
    expect(toLakeInvalidRow({ code: "not_utf8", reason: "message is not valid UTF-8" }, { ...source, recordTimestamp: T - 1 }, raw)).toEqual({
      kafka_partition: 3,
      kafka_offset: 7,
      record_timestamp: T - 1,
      reason_code: "not_utf8",
      reason: "message is not valid UTF-8",
      raw,
      ingested_at: T,
    });
    expect(toLakeInvalidRow({ code: "not_json", reason: "empty message" }, { ...source, recordTimestamp: -1 }, null)).toMatchObject({ record_timestamp: null, raw: null });
  });
});
