import { z } from "zod";
import { centsToUnits } from "../contract/money.ts";
import { perBreakdown } from "../contract/dimensions.ts";
import type { WindowValue } from "./window-engine.ts";

/**
 * What metrics workers publish on `<topic>.metrics`, keyed by source partition
 * (so each source partition's messages stay in order), and what the feed reads.
 */
const breakdown = z.record(z.string(), z.object({ revenue: z.number().finite(), orders: z.number().int().min(0) }));

export const windowMessageSchema = z.object({
  type: z.literal("window"),
  partition: z.number().int().min(0),
  windowStart: z.number().int(),
  windowEnd: z.number().int(),
  final: z.boolean(),
  revenue: z.number().finite(),
  orders: z.number().int().min(0),
  items: z.number().int().min(0),
  customers: z.number().int().min(0),
  ...perBreakdown(() => breakdown),
});

export const watermarkMessageSchema = z.object({
  type: z.literal("watermark"),
  partition: z.number().int().min(0),
  /** Epoch ms; windows ending at or before it are final in this partition. */
  watermark: z.number().int(),
});

export const windowValueMessageSchema = z.discriminatedUnion("type", [windowMessageSchema, watermarkMessageSchema]);
export type WindowMessage = z.infer<typeof windowMessageSchema>;
export type WatermarkMessage = z.infer<typeof watermarkMessageSchema>;
export type WindowValueMessage = z.infer<typeof windowValueMessageSchema>;

export function decodeWindowValueMessage(bytes: Uint8Array | null): WindowValueMessage | { error: string } {
  try {
    const parsed = windowValueMessageSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes ?? new Uint8Array())));
    return parsed.success ? parsed.data : { error: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") };
  } catch (error) {
    return { error: `not JSON: ${(error as Error).message}` };
  }
}

const breakdownOf = (totals: { key: string; revenueCents: number; orders: number }[]) =>
  Object.fromEntries(totals.map((t) => [t.key, { revenue: centsToUnits(t.revenueCents), orders: t.orders }]));

/** The engine's window value as published on `<topic>.metrics`. */
export function windowMessageOf(value: WindowValue): WindowMessage {
  return {
    type: "window",
    partition: value.partition,
    windowStart: value.windowStart,
    windowEnd: value.windowEnd,
    final: value.final,
    revenue: centsToUnits(value.revenueCents),
    orders: value.orders,
    items: value.items,
    customers: value.customers,
    ...perBreakdown((d) => breakdownOf(value[d.field])),
  };
}
