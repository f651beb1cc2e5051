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

  it("gives the rule's answer for every amount: the fast path agrees with reading amount × 100 back at 15 digits", () => {
    const rule = (amount: number) => {
      const cents = Number((amount * 100).toPrecision(15));
      return Math.sign(cents) * Math.round(Math.abs(cents));
    };
    const same = (amount: number): void => {
      expect(Object.is(amountToCents(amount), rule(amount)), `amount ${amount}`).toBe(true);
    };
    // Decimals as producers write them (up to 4 places), any double, and the edges of the fast path.
    const written = fc.tuple(fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 0, max: 4 })).map(([n, places]) => n / 10 ** places);
    fc.assert(fc.property(fc.oneof(written, fc.double({ noNaN: true, noDefaultInfinity: true })), same), { numRuns: 20_000 });
    for (const amount of [0, -0, 1.005, 2.675, 0.125, 1e-20, -1e-20, 9_999_999_999_999.99, 1e13, 1e13 + 0.005, 0.1 + 0.2, 5e-3, Number.MIN_VALUE, Number.MAX_VALUE]) same(amount);
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
