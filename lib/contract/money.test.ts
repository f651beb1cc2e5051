import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { addUnits, amountToCents, centsToUnits, formatCents, unitsToCents } from "./money.ts";

describe("money", () => {
  it("rounds each amount once, half away from zero on the value as written", () => {
    expect(amountToCents(1.005)).toBe(101);
    expect(amountToCents(2.675)).toBe(268);
    expect(amountToCents(0.125)).toBe(13);
    expect(amountToCents(-1.005)).toBe(-101);
    expect(amountToCents(9.99)).toBe(999);
    expect(amountToCents(0)).toBe(0);
  });

  it("formats cents with two decimals", () => {
    expect(formatCents(0)).toBe("0.00");
    expect(formatCents(5)).toBe("0.05");
    expect(formatCents(-1234)).toBe("-12.34");
    expect(formatCents(100_000_000_00)).toBe("100000000.00");
  });

  it("cents survive the trip through currency units, and sums through cents stay exact", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1e11, max: 1e11 }), { maxLength: 50 }), (cents) => {
        for (const c of cents) expect(unitsToCents(centsToUnits(c))).toBe(c);
        const total = cents.reduce((sum, c) => sum + c, 0);
        expect(unitsToCents(cents.map(centsToUnits).reduce(addUnits, 0))).toBe(total);
      }),
    );
  });
});
