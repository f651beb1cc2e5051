/**
 * The statement gate (design.md, "Lake": SQL over the lake): what an ad-hoc
 * query may call, decided on DuckDB's own syntax tree (`json_serialize_sql`),
 * never on regexes. Pure: the caller asks DuckDB for the tree and passes it in.
 */
import { ALLOWED_FUNCTIONS } from "./allowed-functions.ts";
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

/**
 * Settings `current_setting('…')` may read: none of them names a file or a
 * directory (allowed_paths, home_directory, extension_directory, temp_directory
 * … would show server paths).
 */
export const ALLOWED_SETTINGS: ReadonlySet<string> = new Set([
  "timezone",
  "enable_external_access",
  "lock_configuration",
  "threads",
  "memory_limit",
  "max_memory",
  "default_order",
  "default_null_order",
  "calendar",
  "autoload_known_extensions",
  "autoinstall_known_extensions",
]);

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Table-function and other function names anywhere in a serialized statement. */
function functionNames(tree: Json): { table: Set<string>; other: Set<string>; settings: (string | undefined)[] } {
  const table = new Set<string>();
  const other = new Set<string>();
  const settings: (string | undefined)[] = [];
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
    if (typeof node.function_name === "string" && !classified.has(node)) {
      const name = node.function_name.toLowerCase();
      other.add(name);
      if (name === "current_setting") settings.push(constantText(node));
    }
    Object.values(node).forEach(visit);
  };
  visit(tree);
  return { table, other, settings };
}

/** The single constant text argument of a function call node, lower-cased; undefined when it is anything else. */
function constantText(call: { [key: string]: Json }): string | undefined {
  const children = call.children;
  if (!Array.isArray(children) || children.length !== 1) return undefined;
  const only = children[0];
  if (!only || typeof only !== "object" || Array.isArray(only) || only.class !== "CONSTANT") return undefined;
  const value = only.value;
  if (!value || typeof value !== "object" || Array.isArray(value) || typeof value.value !== "string") return undefined;
  return value.value.toLowerCase();
}

const listNames = (names: Iterable<string>) => [...names].sort().join(", ");

/**
 * Checks one statement's syntax tree, as `json_serialize_sql` returned it (a JSON
 * string, or null), against the gate: only SELECT, allow-listed table functions,
 * allow-listed other functions (ALLOWED_FUNCTIONS), current_setting only of
 * ALLOWED_SETTINGS, named by a constant.
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
  const { table, other, settings } = functionNames(tree);
  const forbiddenTables = [...table].filter((name) => !ALLOWED_TABLE_FUNCTIONS.has(name));
  if (forbiddenTables.length > 0)
    throw new QueryRejectedError(
      `table function ${listNames(forbiddenTables)} is not allowed; query the views (${LAKE_VIEWS.join(", ")}) or use ${listNames(ALLOWED_TABLE_FUNCTIONS)}`,
      sql,
    );
  const forbidden = [...other].filter((name) => name !== "current_setting" && !ALLOWED_FUNCTIONS.has(name));
  if (forbidden.length > 0) throw new QueryRejectedError(`function ${listNames(forbidden)} is not allowed`, sql);
  const hidden = settings.filter((name) => name === undefined || !ALLOWED_SETTINGS.has(name));
  if (hidden.length > 0)
    throw new QueryRejectedError(
      `current_setting may read only ${listNames(ALLOWED_SETTINGS)}, named by a constant (got ${hidden.map((n) => (n === undefined ? "an expression" : `'${n}'`)).join(", ")})`,
      sql,
    );
}

