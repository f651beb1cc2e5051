import { describe, expect, it } from "vitest";
import { pivotProbe } from "./pivot.ts";

describe("the static probe of a dynamic PIVOT", () => {
  it("puts IN (1) after each ON column without an IN list", () => {
    expect(pivotProbe("PIVOT orders ON country USING sum(amount)")).toEqual({ sql: "PIVOT orders ON country IN (1) USING sum(amount)", dynamicColumns: 1 });
    expect(pivotProbe("pivot (SELECT 1 AS a, 2 AS b) on a, b in (2), upper(a || ',') group by x")?.sql).toBe(
      "pivot (SELECT 1 AS a, 2 AS b) on a IN (1), b in (2), upper(a || ',') IN (1) group by x",
    );
    expect(pivotProbe("-- first a comment\nPIVOT_WIDER t ON c /* why */")?.sql).toBe("-- first a comment\nPIVOT_WIDER t ON c IN (1) /* why */");
  });

  it("does not see keywords inside strings, identifiers or comments", () => {
    expect(pivotProbe("PIVOT t ON 'a, using' || \"on, group\" -- , limit\n USING count(*)")?.sql).toBe(
      "PIVOT t ON 'a, using' || \"on, group\" IN (1) -- , limit\n USING count(*)",
    );
    expect(pivotProbe("PIVOT t ON $x$ , using $x$ USING count(*)")?.sql).toBe("PIVOT t ON $x$ , using $x$ IN (1) USING count(*)");
    expect(pivotProbe("PIVOT t ON E'it\\'s, using' USING count(*)")?.sql).toBe("PIVOT t ON E'it\\'s, using' IN (1) USING count(*)");
  });

  it("is nothing for a statement that is not a dynamic PIVOT", () => {
    for (const sql of ["SELECT 1", "PIVOT t ON c IN ('a') USING count(*)", "SELECT * FROM (PIVOT t ON c)", "/* PIVOT t ON c */ SELECT 1"])
      expect(pivotProbe(sql), sql).toBeUndefined();
  });
});
