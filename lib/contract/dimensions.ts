/**
 * The order dimensions, defined once (design.md, "Order event" and "Windows").
 *
 * ORDER_DIMENSIONS are the order's text dimensions (missing or blank becomes
 * UNKNOWN); the lake's per-dimension aggregate views come from this list.
 * WINDOW_DIMENSIONS are the ones the hot path breaks each window down by: the
 * window engine's totals, the InfluxDB measurement (tag = the dimension name),
 * the `<topic>.metrics` message field, the feed, the Live page, repair and
 * reconcile all read this list, so a new breakdown is one line here (plus its
 * tests). A dimension is an order field, or `segment`: the customer's segment
 * in dim_customer (lib/contract/dims.ts), in the version the window recorded.
 */
import type { Order } from "./order.ts";
import type { CustomerSegments } from "./dims.ts";

/** Text dimensions of an order, as named in the event and the lake. */
export const ORDER_DIMENSIONS = ["country", "category", "channel"] as const satisfies readonly (keyof Order)[];
export type OrderDimension = (typeof ORDER_DIMENSIONS)[number];

/** A window dimension's name: an order field, or the customer's segment from dim_customer. */
export type WindowDimensionName = OrderDimension | "segment";

export interface WindowDimension {
  /** The order field (or `segment`), and the InfluxDB tag key. */
  readonly dimension: WindowDimensionName;
  /** Field of window values and `<topic>.metrics` messages, e.g. `byCountry`. */
  readonly field: `by${string}`;
  /** InfluxDB measurement, tags `partition` and the dimension. */
  readonly measurement: `order_window_by_${string}`;
}

export const WINDOW_DIMENSIONS = [
  { dimension: "country", field: "byCountry", measurement: "order_window_by_country" },
  { dimension: "category", field: "byCategory", measurement: "order_window_by_category" },
  { dimension: "segment", field: "bySegment", measurement: "order_window_by_segment" },
] as const satisfies readonly WindowDimension[];

/** An order's key in a window dimension: its field, or its customer's segment in `segments` (the window's dim_customer version). */
export function windowDimensionKey(dimension: WindowDimensionName, order: Order, segments: CustomerSegments): string {
  return dimension === "segment" ? segments.segmentOf(order.customerId) : order[dimension];
}

export type BreakdownField = (typeof WINDOW_DIMENSIONS)[number]["field"];
export type BreakdownMeasurement = (typeof WINDOW_DIMENSIONS)[number]["measurement"];

/** One value per window dimension, keyed by its field: `{ byCountry: T, byCategory: T, bySegment: T }`. */
export type PerBreakdown<T> = { [F in BreakdownField]: T };

/** Builds a {@link PerBreakdown} by calling `make` for each window dimension. */
export function perBreakdown<T>(make: (dimension: (typeof WINDOW_DIMENSIONS)[number]) => T): PerBreakdown<T> {
  return Object.fromEntries(WINDOW_DIMENSIONS.map((d) => [d.field, make(d)])) as PerBreakdown<T>;
}
