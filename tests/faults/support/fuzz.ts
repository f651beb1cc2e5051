/**
 * The fault suite's fuzzer (scenario e): seeded, so a failure repeats with its seed. Every case is invalid by
 * construction and names the rejection codes the order contract (lib/contract/order.ts, design.md) allows for it,
 * written out here rather than computed by the decoder under test.
 */
import type { RejectionCode } from "../../../lib/contract/order.ts";
import { Prng } from "../../../lib/sim/prng.ts";

export interface FuzzCase {
  key: string;
  /** null: a tombstone. */
  value: Buffer | null;
  category: string;
  codes: readonly RejectionCode[];
  headers?: Record<string, Buffer>;
}

const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

export class Fuzzer {
  private readonly prng: Prng;

  constructor(seed: number, private readonly now: number) {
    this.prng = new Prng(seed);
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.prng.int(0, items.length - 1)]!;
  }

  private letters(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += LETTERS[this.prng.int(0, LETTERS.length - 1)];
    return s;
  }

  private bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.prng.int(0, 255);
    return b;
  }

  /** A valid order's fields: each case breaks it in one way. */
  private base(i: number): Record<string, unknown> {
    return {
      order_id: `fz-${i}-${this.letters(6)}`,
      customer_id: `c-${this.prng.int(1, 500)}`,
      country: this.pick(["US", "DE", "JP", "BR"]),
      category: this.pick(["coffee", "books", "toys"]),
      channel: this.pick(["web", "app"]),
      quantity: this.prng.int(1, 5),
      amount: this.prng.int(1, 99_999) / 100,
      event_time: new Date(this.now - this.prng.int(0, 60_000)).toISOString(),
    };
  }

  private json(o: unknown): Buffer {
    return Buffer.from(JSON.stringify(o));
  }

  /** The i-th case: a category chosen at random, then a random variant of it. */
  next(i: number): FuzzCase {
    const key = `fuzz-${i}`;
    const o = this.base(i);
    const invalidField = ["invalid_field"] as const;
    const categories: (() => Omit<FuzzCase, "key">)[] = [
      () => ({ category: "random bytes", value: this.bytes(this.prng.int(1, 3_000)), codes: ["not_utf8", "not_json", "not_object", "invalid_field"] }),
      () => ({ category: "empty or tombstone", value: this.prng.next() < 0.5 ? null : Buffer.alloc(0), codes: ["not_json"] }),
      () => {
        const depth = this.prng.int(1_000, 9_000);
        const variant = this.prng.int(0, 3);
        if (variant === 0) return { category: "deep JSON", value: Buffer.from(`{"order_id":${'{"a":'.repeat(depth)}1${"}".repeat(depth)},"amount":1,"event_time":"${o.event_time}"}`), codes: invalidField };
        if (variant === 1) return { category: "deep JSON", value: Buffer.from("[".repeat(depth * 3) + "]".repeat(depth * 3)), codes: ["not_object"] };
        if (variant === 2) return { category: "deep JSON", value: Buffer.from(`{"x":${'{"a":'.repeat(depth)}{"b":1,"b":2}${"}".repeat(depth)}}`), codes: ["duplicate_key"] };
        return { category: "deep JSON", value: Buffer.from(JSON.stringify({ ...o, amount: -1 }).replace(/}$/, `,"deep":${"[".repeat(depth * 2)}${"]".repeat(depth * 2)}}`)), codes: invalidField };
      },
      () =>
        this.prng.next() < 0.3
          ? { category: "huge string", value: this.json({ ...o, note: this.letters(this.prng.int(65_537, 200_000)) }), codes: ["too_large"] }
          : { category: "huge string", value: this.json({ ...o, [this.pick(["order_id", "customer_id", "country"])]: this.letters(this.prng.int(129, 60_000)) }), codes: invalidField },
      () => {
        const [field, value] = this.pick<[string, unknown]>([
          ["amount", "12.50"], ["amount", true], ["amount", null], ["amount", []], ["amount", {}], ["amount", -0.01], ["amount", 1e9],
          ["order_id", 123], ["order_id", ""], ["order_id", null], ["event_time", true], ["event_time", 1.5], ["event_time", "yesterday"],
          ["event_time", null], ["quantity", 0], ["quantity", 2.5], ["quantity", "3"], ["unit_price", -1], ["country", 123], ["customer_id", {}],
        ]);
        return { category: "wrong types", value: this.json({ ...o, [field]: value }), codes: invalidField };
      },
      () => {
        const literal = this.pick(["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]);
        const field = this.pick(["amount", "unit_price", "event_time", "quantity"]);
        // JSON has no NaN or Infinity: as bare words they are not JSON; 1e400 parses to Infinity, which no field takes.
        const text = JSON.stringify({ ...o, [field]: "@@" }).replace('"@@"', literal);
        return { category: "NaN/Infinity", value: Buffer.from(text), codes: literal.includes("e400") ? invalidField : ["not_json"] };
      },
      () => {
        const variant = this.pick<[unknown, readonly RejectionCode[]]>([
          ["2099-12-31T23:59:59Z", ["event_time_skew"]],
          [this.now + 86_400_000, ["event_time_skew"]],
          [new Date(this.now + 3_600_000).toISOString(), ["event_time_skew"]],
          ["2100-01-01T00:00:00Z", invalidField],
          ["9999-12-31T23:59:59Z", invalidField],
          ["+275760-09-13T00:00:00Z", invalidField],
          [8.64e15, invalidField],
          [2 ** 53, invalidField],
        ]);
        return { category: "far-future time", value: this.json({ ...o, event_time: variant[0] }), codes: variant[1] };
      },
      () => {
        const time = this.pick<unknown>(["1969-12-31T23:59:59Z", "1900-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "-000001-01-01T00:00:00Z", "1999-12-31T23:59:59.999Z", -1, -86_400_000, 0]);
        return { category: "pre-1970 time", value: this.json({ ...o, event_time: time }), codes: invalidField };
      },
      () => {
        const variant = this.prng.int(0, 4);
        const renamed = (from: string, to: string) => {
          const copy: Record<string, unknown> = { ...o, [to]: o[from] };
          delete copy[from];
          return copy;
        };
        if (variant === 0) return { category: "unicode keys", value: this.json(renamed("order_id", "\u043erder_id")), codes: invalidField }; // Cyrillic о
        if (variant === 1) return { category: "unicode keys", value: this.json(renamed("amount", "\uff41mount")), codes: invalidField }; // fullwidth a
        if (variant === 2) return { category: "unicode keys", value: this.json({ ...renamed("event_time", "event_time\u200b"), "\u{1f6d2}": "🛒", "\ud800": 1 }), codes: invalidField };
        if (variant === 3) return { category: "unicode keys", value: Buffer.from(JSON.stringify(o).replace(/}$/, `,"\\u0061mount":5}`)), codes: ["duplicate_key"] };
        return { category: "unicode keys", value: this.json({ ...o, amount: "٣", "ключ": "значение", "鍵": [1, 2] }), codes: invalidField };
      },
      () => {
        const text = this.pick(["[1,2,3]", "null", '"an order"', "42", "true", `[${JSON.stringify(o)}]`]);
        return { category: "not an object", value: Buffer.from(text), codes: ["not_object"] };
      },
      () => {
        // Overlong "/", a lone continuation byte, a UTF-16 surrogate in UTF-8, 0xFF: not UTF-8 whatever follows.
        const bad = this.pick([Buffer.from([0xc0, 0xaf]), Buffer.from([0x80]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xff])]);
        const text = JSON.stringify(o);
        const at = text.indexOf(String(o.order_id));
        return { category: "invalid UTF-8", value: Buffer.concat([Buffer.from(text.slice(0, at)), bad, Buffer.from(text.slice(at))]), codes: ["not_utf8"] };
      },
      () => ({ category: "duplicate key", value: Buffer.from(JSON.stringify(o).replace(/}$/, `,"amount":${this.prng.int(1, 9_999)}}`)), codes: ["duplicate_key"] }),
    ];
    const made = categories[this.prng.int(0, categories.length - 1)]!();
    // Now and then, producer headers with arbitrary bytes: a dead letter keeps them.
    const headers = this.prng.next() < 0.1 ? { "x-fuzz": this.bytes(this.prng.int(0, 64)) } : undefined;
    return { key, ...made, ...(headers ? { headers } : {}) };
  }
}
