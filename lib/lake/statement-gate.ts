/**
 * The statement gate (design.md, "Lake": SQL over the lake): what an ad-hoc
 * query may call, decided on DuckDB's own syntax tree (`json_serialize_sql`),
 * never on regexes. Pure: the caller asks DuckDB for the tree and passes it in.
 */
import { LAKE_VIEWS } from "./views.ts";

/** The statement is not allowed here; `reason` says why, in words for the person who wrote it. */
export class QueryRejectedError extends Error {
  constructor(
    readonly reason: string,
    readonly sql: string,
  ) {
    super(`query refused: ${reason}`);
    this.name = "QueryRejectedError";
  }
}

/** Table functions a lake query may call: generators and catalog introspection, nothing that touches files or settings. */
export const ALLOWED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set([
  "range",
  "generate_series",
  "unnest",
  "json_each",
  "json_tree",
  "duckdb_tables",
  "duckdb_views",
  "duckdb_columns",
  "duckdb_types",
  "duckdb_functions",
  "duckdb_keywords",
  "duckdb_schemas",
  "pragma_table_info",
  "pg_timezone_names",
]);

/** Functions with effects beyond their result: reading the environment, writing logs, sleeping past an interrupt. */
export const DENIED_FUNCTIONS: ReadonlySet<string> = new Set([
  "getenv", // only in the CLI today; refused here should a build ever carry it
  "write_log",
  "sleep_ms",
  "pg_sleep",
  "json_execute_serialized_sql",
]);

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Table-function and other function names anywhere in a serialized statement. */
function functionNames(tree: Json): { table: Set<string>; other: Set<string> } {
  const table = new Set<string>();
  const other = new Set<string>();
  const classified = new Set<object>();
  const visit = (node: Json) => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (node === null || typeof node !== "object") return;
    const fn = node.function;
    if (node.type === "TABLE_FUNCTION" && fn && typeof fn === "object" && !Array.isArray(fn)) {
      table.add(String(fn.function_name).toLowerCase());
      classified.add(fn);
    }
    if (typeof node.function_name === "string" && !classified.has(node)) other.add(node.function_name.toLowerCase());
    Object.values(node).forEach(visit);
  };
  visit(tree);
  return { table, other };
}

const listNames = (names: Iterable<string>) => [...names].sort().join(", ");

/**
 * Checks one statement's syntax tree, as `json_serialize_sql` returned it (a JSON
 * string, or null), against the gate: only SELECT, allow-listed table functions,
 * no denied scalar function.
 * @throws QueryRejectedError saying why, in words for the person who wrote `sql`.
 */
export function checkStatementTree(serialized: unknown, sql: string): void {
  let tree: Json;
  try {
    tree = JSON.parse(typeof serialized === "string" ? serialized : "null") as Json;
  } catch {
    throw new QueryRejectedError("the statement could not be analysed", sql);
  }
  if (tree === null || typeof tree !== "object" || Array.isArray(tree))
    throw new QueryRejectedError("the statement could not be analysed", sql);
  if (tree.error === true) {
    const message = String(tree.error_message ?? "");
    throw new QueryRejectedError(
      /only select/i.test(message)
        ? "only SELECT queries are allowed (WITH, FROM …, VALUES, DESCRIBE, SHOW and SUMMARIZE included)"
        : `the statement could not be analysed: ${message}`,
      sql,
    );
  }
  const { table, other } = functionNames(tree);
  const forbiddenTables = [...table].filter((name) => !ALLOWED_TABLE_FUNCTIONS.has(name));
  if (forbiddenTables.length > 0)
    throw new QueryRejectedError(
      `table function ${listNames(forbiddenTables)} is not allowed; query the views (${LAKE_VIEWS.join(", ")}) or use ${listNames(ALLOWED_TABLE_FUNCTIONS)}`,
      sql,
    );
  const forbidden = [...other].filter((name) => DENIED_FUNCTIONS.has(name));
  if (forbidden.length > 0) throw new QueryRejectedError(`function ${listNames(forbidden)} is not allowed`, sql);
}

