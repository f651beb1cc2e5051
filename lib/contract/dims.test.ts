import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CustomerSegments, InvalidDimensionVersionError, DIM_CUSTOMER_TABLE, DIM_PRODUCT_TABLE, DimensionLoadError, diffDimension, formatProblem, validateDimension, type DimensionRow } from "./dims.ts";

const CUSTOMER_HEADER = ["customer_id", "segment", "is_premium", "signup_date", "home_country"];
const records = (...rows: string[][]) => rows.map((cells, i) => ({ line: i + 2, cells }));

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof DimensionLoadError) return error.problems.map(formatProblem);
    throw error;
  }
  return [];
}

describe("validateDimension", () => {
  it("normalises booleans, dates, countries and money, and sorts by key", () => {
    const rows = validateDimension(DIM_CUSTOMER_TABLE, "c.csv", CUSTOMER_HEADER, records(["c-2", "enterprise", "No", "", " de "], ["c-1", "consumer", "1", "2024-02-29", ""]));
    expect(rows).toEqual([
      ["c-1", "consumer", "true", "2024-02-29", null],
      ["c-2", "enterprise", "false", null, "DE"],
    ]);
    const products = validateDimension(DIM_PRODUCT_TABLE, "p.csv", ["list_price", "product_id", "name", "category"], records(["4.5", "p-1", "Mug", "coffee"], ["012", "p-2", "", ""]));
    expect(products).toEqual([
      ["p-1", "Mug", "coffee", "4.50"],
      ["p-2", null, null, "12.00"],
    ]);
  });

  it("names file, line and column of a missing id, an unknown boolean and a duplicate key", () => {
    expect(
      problems(() =>
        validateDimension(DIM_CUSTOMER_TABLE, "c.csv", CUSTOMER_HEADER, records(["", "consumer", "true", "", ""], ["c-1", "consumer", "perhaps", "", ""], ["c-2", "x", "yes", "", ""], ["c-2", "y", "no", "", ""], ["c-3", "z", "no", "2025-02-30", ""])),
      ),
    ).toEqual([
      "c.csv:2:1: customer_id is missing",
      'c.csv:3:3: is_premium "perhaps" is not a boolean (true/false, yes/no, 1/0)',
      'c.csv:5:1: duplicate customer_id "c-2" (first at line 4)',
      'c.csv:6:4: signup_date "2025-02-30" is not a calendar date YYYY-MM-DD',
    ]);
  });

  it("refuses a header without a required column or with an unknown one", () => {
    expect(problems(() => validateDimension(DIM_CUSTOMER_TABLE, "c.csv", ["customer_id", "segmnt", "is_premium"], []))).toEqual([
      'c.csv:1:2: unknown column "segmnt" (dim_customer has customer_id, segment, is_premium, signup_date, home_country)',
      "c.csv:1:4: required column segment is missing from the header",
    ]);
    expect(problems(() => validateDimension(DIM_PRODUCT_TABLE, "p.csv", ["product_id", "list_price"], records(["p-1", "-3"], ["p-2", "1.234"])))).toEqual([
      'p.csv:2:2: list_price "-3" is not an amount ≥ 0 with at most 2 decimals',
      'p.csv:3:2: list_price "1.234" is not an amount ≥ 0 with at most 2 decimals',
    ]);
  });
});

describe("diffDimension", () => {
  // Oracle: per key, compare the two tables by brute force.
  it("counts added, removed, updated and unchanged keys", () => {
    const table = fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.constantFrom("a", "b")), { selector: ([k]) => k, maxLength: 25 });
    fc.assert(
      fc.property(table, table, (before, after) => {
        const rows = (t: [number, string][]): DimensionRow[] => t.map(([k, s]) => [`c-${k}`, s, "true", null, null]);
        const changes = diffDimension(DIM_CUSTOMER_TABLE, rows(before), rows(after));
        const old = new Map(before);
        expect(changes.added).toBe(after.filter(([k]) => !old.has(k)).length);
        expect(changes.updated).toBe(after.filter(([k, s]) => old.has(k) && old.get(k) !== s).length);
        expect(changes.unchanged).toBe(after.filter(([k, s]) => old.get(k) === s).length);
        expect(changes.removed).toBe(before.filter(([k]) => !after.some(([j]) => j === k)).length);
      }),
    );
  });
});

describe("CustomerSegments", () => {
  it("is UNKNOWN for a missing customer or one the dimension lacks", () => {
    const segments = new CustomerSegments("v1", [["c-1", "enterprise"]]);
    expect([segments.segmentOf("c-1"), segments.segmentOf("c-9"), segments.segmentOf(null), CustomerSegments.NONE.segmentOf("c-1")]).toEqual(["enterprise", "UNKNOWN", "UNKNOWN", "UNKNOWN"]);
  });

  it("refuses a version id that could not travel in commit metadata", () => {
    for (const bad of ["", "a:b", "a b", "a;b", "a,b", "-", "x".repeat(65)]) expect(() => new CustomerSegments(bad), bad).toThrow(InvalidDimensionVersionError);
    expect(new CustomerSegments("0123456789abcdef").version).toBe("0123456789abcdef");
  });
});
