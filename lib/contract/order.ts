import { z } from "zod";
import { findDuplicateKey } from "./duplicate-keys.ts";
import { parseIsoInstant } from "./event-time.ts";

/** A validated order, as every consumer inside orderpulse sees it. */
export interface Order {
  orderId: string;
  /** null when the event carries none: such orders count for no distinct customer. */
  customerId: string | null;
  productId: string;
  category: string;
  country: string;
  channel: string;
  quantity: number;
  unitPrice: number | null;
  amount: number;
  /** Event time, epoch milliseconds. */
  eventTime: number;
}

export const UNKNOWN = "UNKNOWN";
export const MAX_MESSAGE_BYTES = 64 * 1024;
const MIN_EVENT_TIME = Date.UTC(2000, 0, 1);
const MAX_EVENT_TIME = Date.UTC(2100, 0, 1);

export type RejectionCode =
  | "too_large"
  | "not_utf8"
  | "not_json"
  | "not_object"
  | "duplicate_key"
  | "invalid_field"
  | "event_time_skew";

export interface Rejection {
  code: RejectionCode;
  /** Human-readable: names the field and what was wrong with it. */
  reason: string;
}

export type DecodeResult = { ok: true; order: Order } | { ok: false; rejection: Rejection };

/** Kafka's "no timestamp" (record timestamp −1): older or misconfigured producers send it. */
export const NO_RECORD_TIMESTAMP = -1;

/**
 * An optional text dimension: trimmed; blank ("" or only spaces) or null is a
 * missing one (design.md: UNKNOWN, or no customer), never an invalid order.
 */
const optionalText = z
  .string()
  .nullish()
  .transform((value) => (value == null ? null : value.trim()))
  .pipe(z.string().max(128, "at most 128 characters").nullable())
  .transform((value) => (value === "" ? null : value));
const money = z.number().finite().min(0).lt(1e9);

export const orderSchema = z.object({
  order_id: z.string().min(1, "must not be empty").max(128, "at most 128 characters"),
  customer_id: optionalText,
  product_id: optionalText,
  category: optionalText,
  country: optionalText,
  channel: optionalText,
  quantity: z.number().int("must be a whole number").min(1).max(1_000_000).nullish(),
  unit_price: money.nullish(),
  amount: money,
  event_time: z.union([z.string(), z.number()]).transform((value, ctx) => {
    let ms: number;
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) {
        ctx.addIssue({ code: "custom", message: "epoch milliseconds must be a whole number" });
        return z.NEVER;
      }
      ms = value;
    } else {
      const parsed = parseIsoInstant(value);
      if (!parsed.ok) {
        ctx.addIssue({ code: "custom", message: parsed.reason });
        return z.NEVER;
      }
      ms = parsed.ms;
    }
    if (ms < MIN_EVENT_TIME || ms >= MAX_EVENT_TIME) {
      ctx.addIssue({ code: "custom", message: "outside 2000-01-01..2100-01-01" });
      return z.NEVER;
    }
    return ms;
  }),
});

const utf8 = new TextDecoder("utf-8", { fatal: true });

type OrderFields = z.output<typeof orderSchema>;

/** optionalText, by hand: null for missing or blank, the trimmed text, or undefined when it is invalid. */
function fastOptionalText(value: unknown): string | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  if (trimmed.length > 128) return undefined;
  return trimmed === "" ? null : trimmed;
}

const isMoney = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value) && value >= 0 && value < 1e9;

/**
 * orderSchema's result for an object it accepts, without zod (the metrics
 * worker's profile, issue 13: zod's machinery was a tenth of its time per
 * message); undefined for anything it might reject, which then goes to
 * orderSchema for the exact issues. Every check is orderSchema's own, in the
 * same terms (order.fuzz.test.ts holds the two to the same answer).
 */
function fastOrderFields(json: Record<string, unknown>): OrderFields | undefined {
  const orderId = json.order_id;
  if (typeof orderId !== "string" || orderId.length < 1 || orderId.length > 128) return undefined;
  const customerId = fastOptionalText(json.customer_id);
  const productId = fastOptionalText(json.product_id);
  const category = fastOptionalText(json.category);
  const country = fastOptionalText(json.country);
  const channel = fastOptionalText(json.channel);
  if (customerId === undefined || productId === undefined || category === undefined || country === undefined || channel === undefined) return undefined;
  const quantity = json.quantity;
  if (quantity !== undefined && quantity !== null && !(typeof quantity === "number" && Number.isInteger(quantity) && quantity >= 1 && quantity <= 1_000_000)) return undefined;
  const unitPrice = json.unit_price;
  if (unitPrice !== undefined && unitPrice !== null && !isMoney(unitPrice)) return undefined;
  const amount = json.amount;
  if (!isMoney(amount)) return undefined;
  const eventTime = json.event_time;
  let ms: number;
  if (typeof eventTime === "number") {
    if (!Number.isSafeInteger(eventTime)) return undefined;
    ms = eventTime;
  } else if (typeof eventTime === "string") {
    const parsed = parseIsoInstant(eventTime);
    if (!parsed.ok) return undefined;
    ms = parsed.ms;
  } else return undefined;
  if (ms < MIN_EVENT_TIME || ms >= MAX_EVENT_TIME) return undefined;
  return {
    order_id: orderId,
    customer_id: customerId,
    product_id: productId,
    category,
    country,
    channel,
    quantity: quantity as number | null | undefined,
    unit_price: unitPrice as number | null | undefined,
    amount,
    event_time: ms,
  };
}

function reject(code: RejectionCode, reason: string): DecodeResult {
  return { ok: false, rejection: { code, reason } };
}

/**
 * Decodes one Kafka message value into an order, or says why it is not one.
 * Pure and total: any bytes give a result, never an exception.
 *
 * Invalid: not UTF-8, not JSON, not an object, a key repeated in any object
 * (`duplicate_key`), a field outside the contract (`invalid_field`: wrong type,
 * out of range, an event time that names no real instant, e.g. Feb 30).
 *
 * @param recordTimestamp the Kafka record timestamp (epoch ms); an event more
 *   than `maxEventSkewMs` ahead of it is rejected, so one bad clock cannot push
 *   a partition's watermark into the future. A record without one
 *   ({@link NO_RECORD_TIMESTAMP}, or any negative or non-finite value) skips
 *   that check: there is nothing to compare with.
 */
export function decodeOrder(bytes: Uint8Array | null, recordTimestamp: number, maxEventSkewMs: number): DecodeResult {
  if (bytes === null || bytes.length === 0) return reject("not_json", "empty message");
  if (bytes.length > MAX_MESSAGE_BYTES) return reject("too_large", `message of ${bytes.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return reject("not_utf8", "message is not valid UTF-8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return reject("not_json", `not JSON: ${(error as Error).message.slice(0, 120)}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return reject("not_object", `expected a JSON object, got ${Array.isArray(json) ? "an array" : json === null ? "null" : typeof json}`);
  }
  const duplicate = findDuplicateKey(text, json);
  if (duplicate !== undefined) return reject("duplicate_key", `key "${duplicate.slice(0, 120)}" appears twice in one object`);
  let o = fastOrderFields(json as Record<string, unknown>);
  if (o === undefined) {
    const parsed = orderSchema.safeParse(json);
    if (!parsed.success) {
      const reason = parsed.error.issues
        .slice(0, 3)
        .map((issue) => `${issue.path.join(".") || "order"}: ${issue.message}`)
        .join("; ");
      return reject("invalid_field", reason);
    }
    o = parsed.data;
  }
  if (recordTimestamp >= 0 && o.event_time > recordTimestamp + maxEventSkewMs) {
    return reject(
      "event_time_skew",
      `event_time ${new Date(o.event_time).toISOString()} is more than ${maxEventSkewMs} ms ahead of the record timestamp ${new Date(recordTimestamp).toISOString()}`,
    );
  }
  return {
    ok: true,
    order: {
      orderId: o.order_id,
      customerId: o.customer_id ?? null,
      productId: o.product_id ?? UNKNOWN,
      category: o.category ?? UNKNOWN,
      country: o.country ? o.country.toUpperCase() : UNKNOWN,
      channel: o.channel ?? UNKNOWN,
      quantity: o.quantity ?? 1,
      unitPrice: o.unit_price ?? null,
      amount: o.amount,
      eventTime: o.event_time,
    },
  };
}

/** The Kafka key for an order: one customer's orders, and every copy of an order, share a partition. */
export function orderKey(order: { customer_id?: string | null; order_id: string }): string {
  return order.customer_id ?? order.order_id;
}
