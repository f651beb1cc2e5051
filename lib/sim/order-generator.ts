import { Prng } from "./prng.ts";
import { orderKey } from "../contract/order.ts";

/** Fractions (0..1) of messages that carry each kind of trouble; their sum must stay <= 1. */
export interface ChaosRates {
  duplicates: number;
  late: number;
  outOfOrder: number;
  malformed: number;
  nulls: number;
  skew: number;
}

export const NO_CHAOS: ChaosRates = { duplicates: 0, late: 0, outOfOrder: 0, malformed: 0, nulls: 0, skew: 0 };

export interface GeneratorOptions {
  seed: number;
  /** Simulated arrival time of the first message (epoch ms). */
  startMs: number;
  /** Mean messages per simulated second: spaces arrival times. */
  ratePerSecond: number;
  chaos: ChaosRates;
  /** Used to make late events certainly late and skewed events certainly skewed. */
  windowSizeMs: number;
  watermarkDelayMs: number;
  maxEventSkewMs: number;
}

export type MessageKind = "order" | "duplicate" | "late" | "out_of_order" | "nulls" | "malformed" | "skewed";
export const MESSAGE_KINDS: readonly MessageKind[] = ["order", "duplicate", "late", "out_of_order", "nulls", "malformed", "skewed"];

export interface SimMessage {
  kind: MessageKind;
  key: string | null;
  value: Buffer;
  /** Kafka record timestamp: the simulated arrival time. */
  timestamp: number;
  /** True for the first copy of every valid order: what `--truth` records. */
  truth: boolean;
}

interface Product {
  id: string;
  category: string;
  unitPrice: number;
}

// Category, price range, product count, and relative demand by part of day (night, morning, afternoon, evening).
const CATEGORIES = [
  ["coffee", 2.5, 7, 30, [0.3, 3, 1.2, 0.5]],
  ["bakery", 1.5, 6, 20, [0.2, 2.2, 1, 0.4]],
  ["books", 5, 40, 30, [0.6, 0.6, 1, 1.4]],
  ["apparel", 10, 150, 40, [0.5, 0.6, 1.2, 1.6]],
  ["home", 5, 200, 25, [0.4, 0.5, 1, 1.3]],
  ["electronics", 15, 1200, 30, [0.5, 0.4, 1, 1.5]],
  ["furniture", 80, 1500, 25, [0.2, 0.3, 0.8, 1.2]],
] as const;

export const COUNTRIES = [["US", 35], ["DE", 12], ["GB", 10], ["FR", 8], ["CA", 7], ["JP", 6], ["BR", 5], ["IN", 5], ["AU", 4], ["NL", 3], ["ES", 3], ["IT", 2]] as const;
const CHANNELS = [["web", 50], ["mobile", 35], ["store", 10], ["marketplace", 5]] as const;
const QUANTITIES = [[1, 60], [2, 25], [3, 8], [4, 4], [5, 3]] as const;
/** Customer ids run c-1 … c-CUSTOMERS. */
export const CUSTOMERS = 5_000;

/** The catalog is fixed (not seeded): the same product always has the same category and price. */
export const CATALOG: readonly Product[] = (() => {
  const prng = new Prng(0x0ca7a106);
  const products: Product[] = [];
  for (const [category, low, high, count] of CATEGORIES) {
    for (let i = 0; i < count; i++) {
      const unitPrice = Math.round((low + (high - low) * prng.next() ** 2) * 100) / 100;
      products.push({ id: `p-${products.length + 1}`, category, unitPrice });
    }
  }
  return products;
})();

const round2 = (x: number) => Math.round(x * 100) / 100;
const hex = (n: number) => n.toString(16).padStart(8, "0");

/**
 * Generates a deterministic stream of order messages: the same options give the
 * same bytes. Chaos kinds are exclusive per message, so counts by kind add up.
 */
export class OrderGenerator {
  private readonly prng: Prng;
  /** Simulated arrival time, fractional ms: rounding each gap would stall time at rates above 1000/s. */
  private arrivalExact: number;
  private arrival: number;
  private readonly recent: { key: string | null; value: Buffer }[] = [];
  private readonly demandByPart: [Product, number][][];

  constructor(private readonly options: GeneratorOptions) {
    const total = Object.values(options.chaos).reduce((a, b) => a + b, 0);
    if (total > 1 || Object.values(options.chaos).some((f) => f < 0 || f > 1)) {
      throw new RangeError(`chaos fractions must each be within 0..1 and sum to at most 1 (sum is ${total})`);
    }
    if (!(options.ratePerSecond > 0)) throw new RangeError("ratePerSecond must be positive");
    this.prng = new Prng(options.seed);
    this.arrivalExact = options.startMs;
    this.arrival = options.startMs;
    this.demandByPart = [0, 1, 2, 3].map((part) =>
      CATALOG.map((p) => [p, CATEGORIES.find(([c]) => c === p.category)![4][part]!] as [Product, number]),
    );
  }

  next(): SimMessage {
    const prng = this.prng;
    this.arrivalExact += prng.exponential(1000 / this.options.ratePerSecond);
    this.arrival = Math.floor(this.arrivalExact);
    const c = this.options.chaos;
    const r = prng.next();
    let edge = 0;
    const roll = (fraction: number) => r < (edge += fraction);

    if (roll(c.duplicates) && this.recent.length > 0) {
      const copy = prng.pick(this.recent);
      return { kind: "duplicate", key: copy.key, value: copy.value, timestamp: this.arrival, truth: false };
    }
    if (roll(c.malformed)) return { kind: "malformed", key: `c-${prng.int(1, CUSTOMERS)}`, value: this.malformed(), timestamp: this.arrival, truth: false };
    if (roll(c.skew)) {
      const ahead = this.options.maxEventSkewMs + prng.int(60_000, 7_200_000);
      return this.valid("skewed", this.arrival + ahead, false);
    }
    if (roll(c.late)) {
      const behind = this.options.windowSizeMs + this.options.watermarkDelayMs + prng.int(60_000, 1_800_000);
      return this.valid("late", this.arrival - behind, false);
    }
    if (roll(c.outOfOrder)) return this.valid("out_of_order", this.arrival - prng.int(1, Math.floor(this.options.watermarkDelayMs * 0.9)), false);
    if (roll(c.nulls)) return this.valid("nulls", this.arrival, true);
    return this.valid("order", this.arrival, false);
  }

  private order(eventTime: number): Record<string, unknown> {
    const prng = this.prng;
    const hour = new Date(eventTime).getUTCHours();
    const product = prng.weighted(this.demandByPart[Math.floor(hour / 6)]!);
    const quantity = product.category === "furniture" ? 1 : prng.weighted(QUANTITIES);
    const uuid = [prng.nextUint32(), prng.nextUint32(), prng.nextUint32(), prng.nextUint32()].map(hex).join("");
    return {
      order_id: `${uuid.slice(0, 8)}-${uuid.slice(8, 12)}-4${uuid.slice(13, 16)}-${uuid.slice(16, 20)}-${uuid.slice(20, 32)}`,
      // Repeat customers: a squared uniform favours low ids, so some customers order often.
      customer_id: `c-${1 + Math.floor(CUSTOMERS * prng.next() ** 2)}`,
      product_id: product.id,
      category: product.category,
      country: prng.weighted(COUNTRIES),
      channel: prng.weighted(CHANNELS),
      quantity,
      unit_price: product.unitPrice,
      amount: round2(quantity * product.unitPrice),
      event_time: new Date(eventTime).toISOString(),
    };
  }

  private valid(kind: MessageKind, eventTime: number, withNulls: boolean): SimMessage {
    const order = this.order(eventTime);
    if (withNulls) {
      const optional = ["customer_id", "product_id", "category", "country", "channel", "quantity", "unit_price"];
      for (let i = this.prng.int(1, 3); i > 0; i--) {
        const field = this.prng.pick(optional);
        if (this.prng.next() < 0.5) order[field] = null;
        else delete order[field];
      }
    }
    const key = orderKey(order as { order_id: string; customer_id?: string | null });
    const value = Buffer.from(JSON.stringify(order));
    const truth = kind !== "skewed";
    if (truth) {
      this.recent.push({ key, value });
      if (this.recent.length > 50) this.recent.shift();
    }
    return { kind, key, value, timestamp: this.arrival, truth };
  }

  private malformed(): Buffer {
    const order = this.order(this.arrival);
    const json = JSON.stringify(order);
    switch (this.prng.int(0, 8)) {
      case 0:
        return Buffer.from(json.slice(0, this.prng.int(1, json.length - 2)));
      case 1:
        return Buffer.from(`ORDER;${order.order_id};${order.amount}`);
      case 2:
        return Buffer.from(JSON.stringify([order]));
      case 3:
        return Buffer.from(JSON.stringify({ ...order, order_id: undefined }));
      case 4:
        return Buffer.from(JSON.stringify({ ...order, amount: -Number(order.amount) - 1 }));
      case 5:
        return Buffer.from(JSON.stringify({ ...order, amount: String(order.amount) }));
      case 6:
        return Buffer.from(JSON.stringify({ ...order, event_time: "yesterday" }));
      case 7:
        return Buffer.concat([Buffer.from(json.slice(0, 10)), Buffer.from([0xff, 0xfe]), Buffer.from(json.slice(10))]);
      default:
        return Buffer.from(JSON.stringify({ ...order, quantity: 0 }));
    }
  }
}
