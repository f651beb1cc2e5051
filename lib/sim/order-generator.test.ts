import { describe, expect, it } from "vitest";
import { CATALOG, MESSAGE_KINDS, NO_CHAOS, OrderGenerator, type GeneratorOptions, type MessageKind } from "./order-generator.ts";
import { decodeOrder } from "../contract/order.ts";

const base: GeneratorOptions = {
  seed: 42,
  startMs: Date.parse("2026-11-20T00:00:00Z"),
  ratePerSecond: 50,
  chaos: { duplicates: 0.05, late: 0.03, outOfOrder: 0.1, malformed: 0.04, nulls: 0.05, skew: 0.02 },
  windowSizeMs: 60_000,
  watermarkDelayMs: 120_000,
  maxEventSkewMs: 600_000,
};
const take = (options: GeneratorOptions, n: number) => {
  const g = new OrderGenerator(options);
  return Array.from({ length: n }, () => g.next());
};

describe("OrderGenerator", () => {
  it("is deterministic for a seed", () => {
    const a = take(base, 500).map((m) => m.value.toString("hex"));
    expect(take(base, 500).map((m) => m.value.toString("hex"))).toEqual(a);
    expect(take({ ...base, seed: 43 }, 500).map((m) => m.value.toString("hex"))).not.toEqual(a);
  });

  it("makes every kind decode as its kind says", () => {
    const messages = take(base, 20_000);
    const seen = new Set<string>();
    const counts = new Map<MessageKind, number>();
    for (const m of messages) {
      counts.set(m.kind, (counts.get(m.kind) ?? 0) + 1);
      const r = decodeOrder(m.value, m.timestamp, base.maxEventSkewMs);
      if (m.kind === "malformed") expect(r.ok, m.value.toString()).toBe(false);
      else if (m.kind === "skewed") expect(r.ok ? "ok" : r.rejection.code).toBe("event_time_skew");
      else {
        expect(r.ok, m.value.toString()).toBe(true);
        if (!r.ok) continue;
        const id = r.order.orderId;
        expect(m.truth, m.kind).toBe(!seen.has(id));
        expect(m.kind === "duplicate").toBe(seen.has(id));
        seen.add(id);
        if (m.kind === "late") expect(m.timestamp - r.order.eventTime).toBeGreaterThan(base.windowSizeMs + base.watermarkDelayMs);
        if (m.kind === "out_of_order") expect(m.timestamp - r.order.eventTime).toBeLessThan(base.watermarkDelayMs);
        expect(m.key).toBe(r.order.customerId ?? r.order.orderId);
      }
    }
    for (const kind of MESSAGE_KINDS) expect(counts.get(kind) ?? 0, kind).toBeGreaterThan(0);
    expect(Math.abs(counts.get("malformed")! / 20_000 - 0.04)).toBeLessThan(0.01);
  });

  it("produces realistic orders: catalog prices, amount = quantity x price, repeat customers", () => {
    const messages = take({ ...base, chaos: NO_CHAOS }, 5_000);
    const customers = new Map<string, number>();
    for (const m of messages) {
      const o = JSON.parse(m.value.toString());
      const product = CATALOG.find((p) => p.id === o.product_id)!;
      expect(o.unit_price).toBe(product.unitPrice);
      expect(o.category).toBe(product.category);
      expect(o.amount).toBeCloseTo(o.quantity * o.unit_price, 6);
      customers.set(o.customer_id, (customers.get(o.customer_id) ?? 0) + 1);
    }
    expect(Math.max(...customers.values())).toBeGreaterThan(5);
    // Arrival times advance at about the requested rate.
    const span = (messages.at(-1)!.timestamp - messages[0]!.timestamp) / 1000;
    expect(Math.abs(5_000 / span - 50)).toBeLessThan(5);
  });

  it("keeps event time advancing at rates above one order per millisecond", () => {
    const messages = take({ ...base, chaos: NO_CHAOS, ratePerSecond: 10_000 }, 20_000);
    const span = (messages.at(-1)!.timestamp - messages[0]!.timestamp) / 1000;
    expect(Math.abs(20_000 / span - 10_000)).toBeLessThan(500);
  });

  it("refuses chaos fractions that cannot hold", () => {
    expect(() => new OrderGenerator({ ...base, chaos: { ...NO_CHAOS, late: 0.7, malformed: 0.5 } })).toThrow(/sum to at most 1/);
    expect(() => new OrderGenerator({ ...base, chaos: { ...NO_CHAOS, late: -0.1 } })).toThrow(RangeError);
  });
});
