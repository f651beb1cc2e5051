/**
 * The customer and product dimension tables (design.md, "Dimensions"): their
 * columns, the validation every loaded row goes through, what changed between
 * two versions, and the customer → segment lookup the hot path and replays
 * share. Pure: files are read and written in workers/dims/.
 *
 * A row arrives as text cells (a CSV record, or a Parquet row cast to text)
 * with its position in the file, so every error names file, line and column.
 */

export const UNKNOWN_SEGMENT = "UNKNOWN";

export type DimensionTableName = "dim_customer" | "dim_product";

export interface DimensionColumn {
  name: string;
  /** DuckDB type in the Parquet file. */
  sqlType: "VARCHAR" | "BOOLEAN" | "DATE" | "DECIMAL(18,2)";
  required: boolean;
}

export interface DimensionTable {
  name: DimensionTableName;
  /** The key column: unique, never blank. */
  key: string;
  columns: readonly DimensionColumn[];
}

export const DIM_CUSTOMER_TABLE: DimensionTable = {
  name: "dim_customer",
  key: "customer_id",
  columns: [
    { name: "customer_id", sqlType: "VARCHAR", required: true },
    { name: "segment", sqlType: "VARCHAR", required: true },
    { name: "is_premium", sqlType: "BOOLEAN", required: true },
    { name: "signup_date", sqlType: "DATE", required: false },
    { name: "home_country", sqlType: "VARCHAR", required: false },
  ],
};

export const DIM_PRODUCT_TABLE: DimensionTable = {
  name: "dim_product",
  key: "product_id",
  columns: [
    { name: "product_id", sqlType: "VARCHAR", required: true },
    { name: "name", sqlType: "VARCHAR", required: false },
    { name: "category", sqlType: "VARCHAR", required: false },
    { name: "list_price", sqlType: "DECIMAL(18,2)", required: false },
  ],
};

export const DIMENSION_TABLES: readonly DimensionTable[] = [DIM_CUSTOMER_TABLE, DIM_PRODUCT_TABLE];

/** A validated row: one normalised text per column (booleans `true`/`false`, dates `YYYY-MM-DD`, money `12.30`), null when empty. */
export type DimensionRow = (string | null)[];

/** One input record: its cells by header name, and where it sits in the file (1-based). */
export interface InputRecord {
  line: number;
  cells: readonly (string | null)[];
}

export interface DimensionProblem {
  file: string;
  line: number;
  /** 1-based column number in the file. */
  column: number;
  message: string;
}

export const formatProblem = (p: DimensionProblem): string => `${p.file}:${p.line}:${p.column}: ${p.message}`;

export class DimensionLoadError extends Error {
  constructor(
    readonly table: DimensionTableName,
    readonly problems: readonly DimensionProblem[],
  ) {
    const shown = problems.slice(0, 20).map(formatProblem);
    if (problems.length > shown.length) shown.push(`… and ${problems.length - shown.length} more`);
    super(`${table}: ${problems.length} problem(s); nothing was replaced:\n${shown.map((s) => `  ${s}`).join("\n")}`);
    this.name = "DimensionLoadError";
  }
}

const BOOLEANS: Record<string, boolean> = { true: true, false: false, t: true, f: false, yes: true, no: false, y: true, n: false, "1": true, "0": false };

/** `YYYY-MM-DD` of a real calendar day, else undefined. */
function calendarDate(text: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d ? text : undefined;
}

/** A cell's normalised value, or a problem text. */
function normalise(column: DimensionColumn, raw: string | null): { value: string | null } | { problem: string } {
  const text = raw?.trim() ?? "";
  if (text === "") return column.required ? { problem: `${column.name} is missing` } : { value: null };
  switch (column.sqlType) {
    case "BOOLEAN": {
      const value = BOOLEANS[text.toLowerCase()];
      return value === undefined ? { problem: `${column.name} ${JSON.stringify(text)} is not a boolean (true/false, yes/no, 1/0)` } : { value: String(value) };
    }
    case "DATE": {
      const value = calendarDate(text);
      return value === undefined ? { problem: `${column.name} ${JSON.stringify(text)} is not a calendar date YYYY-MM-DD` } : { value };
    }
    case "DECIMAL(18,2)": {
      if (!/^\d{1,15}(\.\d{1,2})?$/.test(text)) return { problem: `${column.name} ${JSON.stringify(text)} is not an amount ≥ 0 with at most 2 decimals` };
      const [units, fraction = ""] = text.split(".");
      return { value: `${BigInt(units!)}.${fraction.padEnd(2, "0")}` };
    }
    case "VARCHAR":
      if (text.length > 256) return { problem: `${column.name} is ${text.length} characters long (at most 256)` };
      return { value: column.name === "home_country" ? text.toUpperCase() : text };
  }
}

/**
 * Validates a whole input: the header (every column of the table, no other),
 * then every record. Returns the rows in the table's column order, sorted by
 * key (so a version's content does not depend on input order).
 * @throws DimensionLoadError with every problem found (file:line:column), when there is any
 */
export function validateDimension(table: DimensionTable, file: string, header: readonly string[], records: Iterable<InputRecord>, headerLine = 1): DimensionRow[] {
  const problems: DimensionProblem[] = [];
  const position = new Map<string, number>();
  header.forEach((name, i) => {
    const trimmed = name.trim();
    if (!table.columns.some((c) => c.name === trimmed)) problems.push({ file, line: headerLine, column: i + 1, message: `unknown column ${JSON.stringify(trimmed)} (${table.name} has ${table.columns.map((c) => c.name).join(", ")})` });
    else if (position.has(trimmed)) problems.push({ file, line: headerLine, column: i + 1, message: `column ${trimmed} appears twice` });
    else position.set(trimmed, i);
  });
  for (const column of table.columns)
    if (!position.has(column.name) && column.required) problems.push({ file, line: headerLine, column: header.length + 1, message: `required column ${column.name} is missing from the header` });
  if (problems.length > 0) throw new DimensionLoadError(table.name, problems);

  const keyIndex = table.columns.findIndex((c) => c.name === table.key);
  const firstLine = new Map<string, number>();
  const rows: DimensionRow[] = [];
  for (const record of records) {
    const row: DimensionRow = [];
    let ok = true;
    if (record.cells.length !== header.length) {
      problems.push({ file, line: record.line, column: Math.min(record.cells.length, header.length) + 1, message: `${record.cells.length} fields where the header has ${header.length}` });
      continue;
    }
    for (const column of table.columns) {
      const at = position.get(column.name);
      const result = normalise(column, at === undefined ? null : (record.cells[at] ?? null));
      if ("problem" in result) {
        problems.push({ file, line: record.line, column: (at ?? header.length) + 1, message: result.problem });
        ok = false;
        row.push(null);
      } else row.push(result.value);
    }
    if (!ok) continue;
    const key = row[keyIndex]!;
    const seen = firstLine.get(key);
    if (seen !== undefined) {
      problems.push({ file, line: record.line, column: position.get(table.key)! + 1, message: `duplicate ${table.key} ${JSON.stringify(key)} (first at line ${seen})` });
      continue;
    }
    firstLine.set(key, record.line);
    rows.push(row);
  }
  if (problems.length > 0) throw new DimensionLoadError(table.name, problems);
  return rows.sort((a, b) => (a[keyIndex]! < b[keyIndex]! ? -1 : a[keyIndex]! > b[keyIndex]! ? 1 : 0));
}

export interface DimensionChanges {
  added: number;
  removed: number;
  updated: number;
  unchanged: number;
  /** Up to 5 keys of each kind, for the summary. */
  examples: { added: string[]; removed: string[]; updated: string[] };
}

/** What loading `next` over `previous` changes, by key (both in the table's column order). */
export function diffDimension(table: DimensionTable, previous: readonly DimensionRow[], next: readonly DimensionRow[]): DimensionChanges {
  const keyIndex = table.columns.findIndex((c) => c.name === table.key);
  const before = new Map(previous.map((row) => [row[keyIndex]!, JSON.stringify(row)]));
  const changes: DimensionChanges = { added: 0, removed: 0, updated: 0, unchanged: 0, examples: { added: [], removed: [], updated: [] } };
  const note = (kind: "added" | "removed" | "updated", key: string) => {
    changes[kind]++;
    if (changes.examples[kind].length < 5) changes.examples[kind].push(key);
  };
  const seen = new Set<string>();
  for (const row of next) {
    const key = row[keyIndex]!;
    seen.add(key);
    const old = before.get(key);
    if (old === undefined) note("added", key);
    else if (old !== JSON.stringify(row)) note("updated", key);
    else changes.unchanged++;
  }
  for (const key of before.keys()) if (!seen.has(key)) note("removed", key);
  return changes;
}

/** `dim_customer: 3 added, 1 removed, 2 updated, 4994 unchanged (added c-1, c-2 …)`. */
export function describeChanges(table: DimensionTableName, changes: DimensionChanges): string {
  const examples = (["added", "removed", "updated"] as const)
    .filter((kind) => changes.examples[kind].length > 0)
    .map((kind) => `${kind} ${changes.examples[kind].join(", ")}${changes[kind] > changes.examples[kind].length ? " …" : ""}`);
  return `${table}: ${changes.added} added, ${changes.removed} removed, ${changes.updated} updated, ${changes.unchanged} unchanged${examples.length > 0 ? ` (${examples.join("; ")})` : ""}`;
}

/**
 * What a dimension version id may contain, as a regular-expression fragment (the lake's
 * ids are 8–64 hex digits, lib/lake/dims-layout.ts): it travels in Kafka commit
 * metadata (lib/hot/commit-metadata.ts), whose separators it must not contain.
 */
export const DIMS_VERSION_CHARS = "[0-9A-Za-z_.]{1,64}";
const DIMS_VERSION_PATTERN = new RegExp(`^${DIMS_VERSION_CHARS}$`);

export class InvalidDimensionVersionError extends Error {
  constructor(readonly version: string) {
    super(`dimension version ${JSON.stringify(version)} is not 1–64 letters, digits, "_" or "."`);
    this.name = "InvalidDimensionVersionError";
  }
}

/**
 * One version of dim_customer as the hot path and replays read it: customer →
 * segment. `version` is the content id of the version (null: no dimension
 * loaded), recorded with every window so a replay can use the same one.
 */
export class CustomerSegments {
  private readonly segments: ReadonlyMap<string, string>;

  /** @throws InvalidDimensionVersionError when `version` does not match DIMS_VERSION_CHARS */
  constructor(
    readonly version: string | null,
    segments: Iterable<readonly [string, string]> = [],
  ) {
    if (version !== null && !DIMS_VERSION_PATTERN.test(version)) throw new InvalidDimensionVersionError(version);
    this.segments = new Map(segments);
  }

  /** The customer's segment; UNKNOWN for a missing customer or one absent from the dimension. */
  segmentOf(customerId: string | null): string {
    return (customerId === null ? undefined : this.segments.get(customerId)) ?? UNKNOWN_SEGMENT;
  }

  get size(): number {
    return this.segments.size;
  }

  static readonly NONE = new CustomerSegments(null);
}
