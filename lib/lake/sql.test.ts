import { describe, expect, it } from "vitest";
import { sqlIdentifier, sqlLiteral } from "./sql.ts";

describe("SQL quoting", () => {
  it("doubles the quote character it encloses, and only that one", () => {
    expect(sqlLiteral("it's \"x\"")).toBe(`'it''s "x"'`);
    expect(sqlIdentifier(`a"b'c`)).toBe(`"a""b'c"`);
    expect(sqlLiteral("")).toBe("''");
  });
});
