import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { csvField, formatCsv, formatTable } from "./text-table.ts";

/** A strict RFC 4180 reader, to check that what formatCsv writes reads back the same. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  return rows;
}

describe("formatTable", () => {
  it("aligns columns, right-aligns numbers and shows NULL", () => {
    const text = formatTable(
      [
        { name: "country", type: "VARCHAR" },
        { name: "orders", type: "BIGINT" },
        { name: "revenue", type: "DECIMAL(18,2)" },
      ],
      [
        ["US", "1200", "15000.50"],
        ["DE", "7", null],
      ],
    );
    expect(text).toBe(["country | orders |  revenue", "--------+--------+---------", "US      |   1200 | 15000.50", "DE      |      7 |     NULL", ""].join("\n"));
  });

  it("keeps one line per row whatever the values hold", () => {
    const text = formatTable([{ name: "v" }, { name: "w" }], [["a\nb\tc", { x: [1, 2] }], ["😀😀", true]]);
    expect(text.split("\n")).toEqual(["v       | w", "--------+------------", "a\\nb\\tc | {\"x\":[1,2]}", "😀😀      | true", ""]);
  });

  it("prints 300,000 rows (the query command's --max-rows may ask for that many)", () => {
    const rows = Array.from({ length: 300_000 }, (_, i) => [i, i === 123_456 ? "the widest value" : "x"]);
    const lines = formatTable([{ name: "n", type: "BIGINT" }, { name: "v" }], rows).trimEnd().split("\n");
    expect(lines).toHaveLength(300_002);
    expect(lines[0]).toBe("     n | v");
    expect(lines[2 + 123_456]).toBe("123456 | the widest value");
  });

  it("prints just the header for no rows", () => {
    expect(formatTable([{ name: "n", type: "INTEGER" }], [])).toBe("n\n-\n");
  });
});

describe("formatCsv", () => {
  it("quotes only what needs quoting", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField('say "hi", twice')).toBe('"say ""hi"", twice"');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField(" edge")).toBe('" edge"');
    expect(formatCsv([{ name: "a" }, { name: "b" }], [[null, ""], [1.5, "x"]])).toBe('a,b\n,""\n1.5,x\n');
  });

  it("reads back field for field", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.string(), { minLength: 2, maxLength: 2 }), { maxLength: 10 }), (rows) => {
        const parsed = parseCsv(formatCsv([{ name: "a,b" }, { name: 'c"d' }], rows));
        expect(parsed).toEqual([["a,b", 'c"d'], ...rows]);
      }),
    );
  });
});
