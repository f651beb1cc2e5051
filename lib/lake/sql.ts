/**
 * SQL quoting for the statements orderpulse writes itself (views, COPY, gold
 * tables), defined once. DuckDB follows standard SQL: a string literal doubles
 * its single quotes, an identifier doubles its double quotes
 * (https://duckdb.org/docs/sql/dialect/keywords_and_identifiers).
 */

/** `it's` → `'it''s'`. */
export const sqlLiteral = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** `a"b` → `"a""b"`. */
export const sqlIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;
