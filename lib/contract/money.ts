/**
 * Money, defined once (design.md, "Order event": money). Every figure in
 * orderpulse is a sum of per-order whole cents, so sums are exact and additive
 * on every path (hot, lake, gold, reconcile, dashboard).
 */

/**
 * An order's amount in whole cents, rounding half away from zero on the value
 * as written: amount × 100 in binary floating point can land just below .5
 * (1.005 × 100 = 100.49999999999999), so it is first read back at 15
 * significant digits, which recovers the decimal the producer wrote.
 * `amount` is a finite number (the order contract guarantees it); result: integer cents.
 */
export function amountToCents(amount: number): number {
  const scaled = amount * 100;
  // Fast path, the same answer without a string (the hot path does this per order): when `scaled` is within
  // 4e-16 of its nearest integer relative to its size, less than half a unit of its 15th significant digit,
  // reading it back at 15 digits gives that integer exactly (below 1e15 every integer has at most 15 digits).
  const nearest = Math.round(scaled);
  if (Math.abs(scaled) < 1e15 && Math.abs(scaled - nearest) <= 4e-16 * Math.abs(scaled)) return nearest === 0 ? 0 : nearest; // -0 reads back as 0
  const cents = Number(scaled.toPrecision(15));
  return Math.sign(cents) * Math.round(Math.abs(cents));
}

/** Integer cents → a decimal string with exactly two decimals: -1234 → "-12.34". */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** Integer cents → currency units as a number (InfluxDB fields, JSON messages): 1234 → 12.34. */
export const centsToUnits = (cents: number): number => cents / 100;

/**
 * Currency units as stored by InfluxDB or sent in JSON (a float that was cents / 100)
 * → integer cents. Exact for every value produced by {@link centsToUnits}.
 */
export const unitsToCents = (units: number): number => Math.round(units * 100);

/** Adds two currency amounts through cents, so repeated sums of cents/100 values never drift. */
export const addUnits = (a: number, b: number): number => centsToUnits(unitsToCents(a) + unitsToCents(b));
