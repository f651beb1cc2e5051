/**
 * Query results as text: an aligned table for people, CSV (RFC 4180) for
 * tools. Pure. Values are what the lake query layer returns (JSON-safe: text,
 * numbers, booleans, null, lists and structs).
 */

export interface TextColumn {
  name: string;
  /** DuckDB type name; numeric types are right-aligned in a table. */
  type?: string;
}

const NUMERIC_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL)/;

/** One value as text; null is `NULL` in a table and empty in CSV. */
function valueText(value: unknown, nullText: string): string {
  if (value === null || value === undefined) return nullText;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return JSON.stringify(value);
}

/** Control characters would break the table's lines: shown escaped, as JSON does. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what must go
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/** Characters, not UTF-16 units, so that emoji count once. */
const width = (text: string) => [...text].length;

/**
 * Header, a dashed rule, then one line per row, columns separated by ` | `;
 * numbers right-aligned, everything else left-aligned; NULL for null.
 */
export function formatTable(columns: readonly TextColumn[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((row) => columns.map((_, i) => printable(valueText(row[i], "NULL"))));
  const headers = columns.map((c) => printable(c.name));
  // A loop, not Math.max(...column): spreading 200,000 rows as arguments overflows the call stack.
  const widths = headers.map(width);
  for (const row of cells) row.forEach((cell, i) => (widths[i] = Math.max(widths[i]!, width(cell))));
  const right = columns.map((c) => NUMERIC_TYPE.test(c.type ?? ""));
  const pad = (text: string, i: number) => {
    const fill = " ".repeat(widths[i]! - width(text));
    return right[i] ? fill + text : text + fill;
  };
  const line = (values: string[]) => values.map(pad).join(" | ").trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("-+-"), ...cells.map(line)].join("\n") + "\n";
}

/** A CSV field: quoted when it holds a comma, quote, line break or edge spaces; quotes doubled. */
export function csvField(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A header line and one line per row, `\n`-terminated; null is an empty field, an empty string `""` (as DuckDB reads them). */
export function formatCsv(columns: readonly TextColumn[], rows: readonly (readonly unknown[])[]): string {
  const field = (value: unknown) => (value === "" ? '""' : csvField(valueText(value, "")));
  const lines = [columns.map((c) => csvField(c.name)), ...rows.map((row) => columns.map((_, i) => field(row[i])))];
  return lines.map((fields) => `${fields.join(",")}\n`).join("");
}
