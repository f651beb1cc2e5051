/**
 * Read-only SQL over the lake, safe to hand to whoever can reach the Lake page.
 *
 * Three layers, each enough for some attacks and all of them checked by tests:
 *
 * 1. Statement gate, using DuckDB's own parser (no regexes): at most
 *    maxQueryLength characters; exactly one statement (`extractStatements`);
 *    its syntax tree from `json_serialize_sql`, which only serializes SELECT
 *    (so SET, PRAGMA, COPY, ATTACH, CREATE, EXPLAIN … are refused even when the
 *    binder would turn them into a SELECT, as it does for PRAGMA); every table
 *    function in the tree on a short allowlist (no read_*, glob, query,
 *    enable_logging …) and no scalar function on a denylist; the prepared
 *    statement's type must be SELECT. This layer is what makes the lake
 *    unwritable: DuckDB's file allowlist below grants write as well as read, so
 *    `COPY … TO '<lake file>'` would pass layer 2, and `enable_logging()` changes
 *    logging despite lock_configuration.
 * 2. Engine sandbox, per snapshot of the lake: a private in-memory DuckDB with
 *    extension auto-install/auto-load, community and unsigned extensions and
 *    persistent secrets off, no temp directory (no spill files), bounded
 *    memory and threads; the views are created, then `allowed_paths` is set to
 *    exactly the live files, `enable_external_access` turned off and
 *    `lock_configuration` turned on, in that order (each step needs the one
 *    before to still be open). So a query can read the live lake files and
 *    nothing else: not /etc/passwd, not superseded or uncommitted lake files,
 *    not the network, not an extension.
 * 3. Resources: each query runs on its own connection, interrupted after
 *    timeoutMs; results stream and stop after maxRows + 1 rows.
 *
 * Freshness: the lake is rescanned at most every refreshIntervalMs; when the
 * live file set changed, a new snapshot replaces the old one, which closes once
 * its running queries end. Live = committed (below the partition's commit
 * marker) and not superseded by a compaction (selectLiveFiles).
 */
import { readdir, readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { DuckDBInstance, JsonDuckDBValueConverter, StatementType, type DuckDBConnection } from "@duckdb/node-api";
import {
  COMMITS_ROOT,
  INVALID_ROOT,
  ORDERS_ROOT,
  committedFiles,
  parseCommitMarker,
  parseCommitMarkerPath,
  parseLakeFilePath,
  selectLiveFiles,
  type CommitMarker,
  type LakeFile,
} from "../../lib/lake/layout.ts";
import { INVALID_TABLE, ORDERS_TABLE, type LakeColumn } from "../../lib/lake/schema.ts";

export interface LakeQueryOptions {
  /** A query running longer is interrupted with QueryTimeoutError. */
  timeoutMs: number;
  /** At most this many rows come back; `truncated` says there were more. */
  maxRows: number;
  /** Default 20 000 characters. */
  maxQueryLength?: number;
  /** IANA zone whose midnight starts a day in daily_kpis (BUSINESS_TZ); default UTC. */
  businessTz?: string;
  /** DuckDB memory_limit; default 512MB. */
  memoryLimit?: string;
  /** DuckDB threads; default 2. */
  threads?: number;
  /** How stale the file list may get before a query rescans the lake; default 1000 ms. */
  refreshIntervalMs?: number;
}

export interface QueryColumn {
  name: string;
  /** DuckDB's type name, e.g. `TIMESTAMP`, `BIGINT`. */
  type: string;
}

export interface QueryResult {
  columns: QueryColumn[];
  /** JSON-safe values: BIGINT, DECIMAL, dates and timestamps as strings, BLOB as `\xNN` text. */
  rows: unknown[][];
  truncated: boolean;
}

export interface Lake {
  query(sql: string): Promise<QueryResult>;
  /** Rescans the lake now, so files written a moment ago are visible to the next query. */
  refresh(): Promise<void>;
  close(): void;
}

/** The views every snapshot defines, empty lake or not. */
export const LAKE_VIEWS = [
  "orders_raw",
  "orders",
  "orders_invalid",
  "daily_kpis",
  "dim_country",
  "dim_category",
  "dim_channel",
  "lake_files",
] as const;

const excerpt = (sql: string) => (sql.length > 200 ? `${sql.slice(0, 200)}…` : sql);

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

export class QueryTimeoutError extends Error {
  constructor(
    readonly timeoutMs: number,
    readonly sql: string,
  ) {
    super(`query stopped after ${timeoutMs} ms (the time limit): ${excerpt(sql)}`);
    this.name = "QueryTimeoutError";
  }
}

/** DuckDB could not run an allowed statement (syntax, unknown column, out of memory …). */
export class QueryFailedError extends Error {
  constructor(
    readonly duckdbMessage: string,
    readonly sql: string,
    options?: { cause?: unknown },
  ) {
    super(`query failed: ${duckdbMessage}`, options);
    this.name = "QueryFailedError";
  }
}

/** The lake on disk cannot be read as a lake (e.g. a corrupt commit marker). */
export class LakeScanError extends Error {
  constructor(
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "LakeScanError";
  }
}

// ---------------------------------------------------------------- scanning the lake

export interface LakeListing {
  /** Every canonical data file on disk, committed or not. */
  files: LakeFile[];
  markers: Map<number, CommitMarker>;
}

async function entries(dir: string): Promise<{ name: string; isDirectory: boolean }[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).map((e) => ({ name: e.name, isDirectory: e.isDirectory() }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new LakeScanError(`cannot list ${dir}: ${(error as Error).message}`, dir, { cause: error });
  }
}

/** Lists the lake's data files and commit markers (only the directories the layout defines). */
export async function listLakeFiles(lakeDir: string): Promise<LakeListing> {
  const files: LakeFile[] = [];
  const collect = async (relativeDir: string) => {
    for (const entry of await entries(resolve(lakeDir, relativeDir))) {
      if (entry.isDirectory) continue;
      const file = parseLakeFilePath(`${relativeDir}/${entry.name}`);
      if (file) files.push(file);
    }
  };
  const subdirs = async (relativeDir: string) =>
    (await entries(resolve(lakeDir, relativeDir))).filter((e) => e.isDirectory).map((e) => `${relativeDir}/${e.name}`);

  for (const day of await subdirs(ORDERS_ROOT)) for (const hour of await subdirs(day)) await collect(hour);
  for (const day of await subdirs(INVALID_ROOT)) await collect(day);

  const markers = new Map<number, CommitMarker>();
  for (const entry of await entries(resolve(lakeDir, COMMITS_ROOT))) {
    const path = `${COMMITS_ROOT}/${entry.name}`;
    const partition = parseCommitMarkerPath(path);
    if (partition === undefined || entry.isDirectory) continue;
    const absolute = resolve(lakeDir, path);
    try {
      markers.set(partition, parseCommitMarker(await readFile(absolute, "utf8"), absolute));
    } catch (error) {
      throw new LakeScanError(`cannot read commit marker ${absolute}: ${(error as Error).message}`, absolute, { cause: error });
    }
  }
  return { files, markers };
}

/** The files a reader should see: committed, and not superseded by a compaction. */
export function liveLakeFiles(listing: LakeListing): LakeFile[] {
  const next = new Map([...listing.markers].map(([partition, marker]) => [partition, marker.nextOffset]));
  return selectLiveFiles(committedFiles(listing.files, next));
}

// ---------------------------------------------------------------- view definitions

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
const identifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

interface ViewColumn {
  name: string;
  sqlType: string;
}

const HIVE_ORDERS: ViewColumn[] = [
  { name: "event_date", sqlType: "DATE" },
  { name: "event_hour", sqlType: "INTEGER" },
];
const HIVE_INVALID: ViewColumn[] = [{ name: "ingest_date", sqlType: "DATE" }];

/**
 * A view over exactly `paths`, with the same columns and types whether or not
 * there are files (casts to a column's own type cost nothing: the binder drops them).
 */
function fileView(name: string, columns: readonly (LakeColumn | ViewColumn)[], hive: ViewColumn[], paths: string[]): string {
  const all = [...columns, ...hive];
  if (paths.length === 0) {
    const nulls = all.map((c) => `CAST(NULL AS ${c.sqlType}) AS ${identifier(c.name)}`).join(", ");
    return `CREATE VIEW ${name} AS SELECT ${nulls} WHERE false`;
  }
  const select = all.map((c) => `CAST(${identifier(c.name)} AS ${c.sqlType}) AS ${identifier(c.name)}`).join(", ");
  const hiveTypes = hive.map((c) => `${literal(c.name)}: ${c.sqlType}`).join(", ");
  // An explicit list, never a glob: the list is the decision of which files count.
  return `CREATE VIEW ${name} AS SELECT ${select} FROM read_parquet([${paths.map(literal).join(", ")}], hive_partitioning = true, hive_types = {${hiveTypes}})`;
}

function dimensionView(dimension: string): string {
  return `CREATE VIEW dim_${dimension} AS
    SELECT ${dimension}, count(*) AS orders, round(sum(amount), 2) AS revenue, count(DISTINCT customer_id) AS customers
    FROM orders GROUP BY ${dimension} ORDER BY revenue DESC, ${dimension}`;
}

/** The CREATE VIEW statements of a snapshot, in dependency order. */
export function viewDefinitions(lakeDir: string, live: readonly LakeFile[], businessTz: string): string[] {
  const absolute = (file: LakeFile) => resolve(lakeDir, file.path);
  const orders = live.filter((f) => f.kind === "orders").map(absolute);
  const invalid = live.filter((f) => f.kind === "invalid").map(absolute);
  const files = live.map((f) => `(${literal(f.kind)}, ${literal(f.path)}, ${f.partition}, ${f.firstOffset}, ${f.lastOffset})`);
  return [
    fileView("orders_raw", ORDERS_TABLE.columns, HIVE_ORDERS, orders),
    fileView("orders_invalid", INVALID_TABLE.columns, HIVE_INVALID, invalid),
    // Every copy of an order shares a partition (keyed by customer), so the first copy is the lowest offset.
    `CREATE VIEW orders AS SELECT * FROM orders_raw
       QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY kafka_partition, kafka_offset) = 1`,
    // event_time is UTC; the business day starts at midnight in businessTz.
    `CREATE VIEW daily_kpis AS
       SELECT CAST(timezone(${literal(businessTz)}, timezone('UTC', event_time)) AS DATE) AS date,
              count(*) AS orders,
              round(sum(amount), 2) AS revenue,
              round(sum(amount) / count(*), 2) AS aov,
              count(DISTINCT customer_id) AS customers,
              CAST(sum(quantity) AS BIGINT) AS items
       FROM orders GROUP BY 1 ORDER BY 1`,
    dimensionView("country"),
    dimensionView("category"),
    dimensionView("channel"),
    files.length === 0
      ? `CREATE VIEW lake_files AS SELECT CAST(NULL AS VARCHAR) AS kind, CAST(NULL AS VARCHAR) AS path, CAST(NULL AS INTEGER) AS kafka_partition,
           CAST(NULL AS BIGINT) AS first_offset, CAST(NULL AS BIGINT) AS last_offset WHERE false`
      : `CREATE VIEW lake_files AS SELECT kind, path, CAST(kafka_partition AS INTEGER) AS kafka_partition,
           CAST(first_offset AS BIGINT) AS first_offset, CAST(last_offset AS BIGINT) AS last_offset
         FROM (VALUES ${files.join(", ")}) AS t(kind, path, kafka_partition, first_offset, last_offset)`,
  ];
}

// ---------------------------------------------------------------- the statement gate

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

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

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

async function checkStatementTree(connection: DuckDBConnection, sql: string): Promise<void> {
  const reader = await connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql]);
  const serialized = reader.getRows()[0]?.[0];
  const tree = JSON.parse(typeof serialized === "string" ? serialized : "null") as Json;
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

// ---------------------------------------------------------------- snapshots

/** One sandboxed DuckDB over one set of live files; closed when retired and idle. */
class Snapshot {
  private users = 0;
  private retired = false;

  constructor(
    readonly instance: DuckDBInstance,
    /** The live files it reads, joined: equal keys mean nothing to rebuild. */
    readonly key: string,
  ) {}

  acquire(): void {
    this.users++;
  }

  release(): void {
    this.users--;
    if (this.retired && this.users === 0) this.instance.closeSync();
  }

  retire(): void {
    if (this.retired) return;
    this.retired = true;
    if (this.users === 0) this.instance.closeSync();
  }
}

interface SandboxSettings {
  businessTz: string;
  memoryLimit: string;
  threads: number;
}

async function openSnapshot(lakeDir: string, live: LakeFile[], settings: SandboxSettings): Promise<Snapshot> {
  const instance = await DuckDBInstance.create(":memory:", {
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    allow_community_extensions: "false",
    allow_unsigned_extensions: "false",
    allow_persistent_secrets: "false",
    // No spill files: "nothing is writable" includes DuckDB's own temp files; big sorts fail instead.
    temp_directory: "",
    memory_limit: settings.memoryLimit,
    threads: String(settings.threads),
  });
  const setup = await instance.connect();
  try {
    await setup.run("SET GLOBAL TimeZone = 'UTC'");
    for (const view of viewDefinitions(lakeDir, live, settings.businessTz)) await setup.run(view);
    // Order matters: allowed_paths can only be set while external access is on,
    // and nothing at all can be set once the configuration is locked.
    const paths = live.map((file) => resolve(lakeDir, file.path));
    if (paths.length > 0) await setup.run(`SET GLOBAL allowed_paths = [${paths.map(literal).join(", ")}]`);
    await setup.run("SET GLOBAL enable_external_access = false");
    await setup.run("SET GLOBAL lock_configuration = true");
    // Fail closed: never serve queries from an instance that is not locked down.
    const check = await setup.runAndReadAll(
      "SELECT current_setting('enable_external_access'), current_setting('lock_configuration'), current_setting('autoload_known_extensions'), json_serialize_sql('SELECT 1') IS NOT NULL",
    );
    const [external, locked, autoload, parser] = check.getRows()[0] ?? [];
    if (external !== false || locked !== true || autoload !== false || parser !== true)
      throw new Error(`sandbox settings did not take effect (external access ${external}, locked ${locked}, autoload ${autoload}, parser ${parser})`);
  } catch (error) {
    setup.closeSync();
    instance.closeSync();
    throw error;
  }
  setup.closeSync();
  return new Snapshot(instance, live.map((f) => f.path).join("\n"));
}

// ---------------------------------------------------------------- running a query

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function runQuery(snapshot: Snapshot, sql: string, options: Required<Pick<LakeQueryOptions, "timeoutMs" | "maxRows">>): Promise<QueryResult> {
  snapshot.acquire();
  let connection: DuckDBConnection | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    connection?.interrupt();
  }, options.timeoutMs);
  try {
    connection = await snapshot.instance.connect();
    if (timedOut) throw new QueryTimeoutError(options.timeoutMs, sql);
    const statements = await connection.extractStatements(sql).catch((error: unknown) => {
      const message = messageOf(error);
      if (/Parser Error/.test(message)) throw new QueryFailedError(message.replace(/^Failed to extract statements: /, ""), sql, { cause: error });
      // The bindings report "no statement at all" (blank, only comments, only `;`) as a bare native error.
      throw new QueryRejectedError("the query has no statement to run", sql);
    });
    if (statements.count !== 1) throw new QueryRejectedError(`one statement at a time, got ${statements.count}`, sql);
    await checkStatementTree(connection, sql);
    const prepared = await statements.prepare(0);
    if (prepared.statementType !== StatementType.SELECT)
      throw new QueryRejectedError(`only SELECT queries are allowed (statement type ${StatementType[prepared.statementType]})`, sql);
    const result = await prepared.stream();
    const columns = result.columnNames().map((name, i) => ({ name, type: result.columnType(i).toString() }));
    const rows: unknown[][] = [];
    // Streaming: DuckDB computes chunks as they are pulled, so a huge result costs maxRows + 1 rows.
    while (rows.length <= options.maxRows) {
      if (timedOut) throw new QueryTimeoutError(options.timeoutMs, sql);
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      for (const row of chunk.convertRows(JsonDuckDBValueConverter)) rows.push(row);
    }
    if (timedOut) throw new QueryTimeoutError(options.timeoutMs, sql);
    const truncated = rows.length > options.maxRows;
    return { columns, rows: truncated ? rows.slice(0, options.maxRows) : rows, truncated };
  } catch (error) {
    if (error instanceof QueryRejectedError || error instanceof QueryTimeoutError || error instanceof QueryFailedError) throw error;
    if (timedOut) throw new QueryTimeoutError(options.timeoutMs, sql);
    const message = messageOf(error);
    // The engine's own refusal (layer 2) reads as a refusal, not as a failure.
    if (/^Permission Error/i.test(message)) throw new QueryRejectedError(`access denied: ${message}`, sql);
    throw new QueryFailedError(message, sql, { cause: error });
  } finally {
    clearTimeout(timer);
    connection?.closeSync();
    snapshot.release();
  }
}

/**
 * Opens the lake at `lakeDir` for ad-hoc SQL. Views: orders_raw (every row of
 * the live files, with event_date/event_hour), orders (de-duplicated by
 * order_id, lowest partition/offset wins), orders_invalid, daily_kpis (date,
 * orders, revenue, aov, customers, items), dim_country, dim_category,
 * dim_channel, lake_files. They exist, typed, even before the first file.
 */
export async function openLake(lakeDir: string, options: LakeQueryOptions): Promise<Lake> {
  const root = resolve(lakeDir);
  const settings: SandboxSettings = {
    businessTz: options.businessTz ?? "UTC",
    memoryLimit: options.memoryLimit ?? "512MB",
    threads: options.threads ?? 2,
  };
  const limits = { timeoutMs: options.timeoutMs, maxRows: options.maxRows };
  const maxQueryLength = options.maxQueryLength ?? 20_000;
  const refreshIntervalMs = options.refreshIntervalMs ?? 1_000;
  if (!(limits.timeoutMs > 0) || !Number.isInteger(limits.maxRows) || limits.maxRows < 0)
    throw new RangeError(`timeoutMs must be positive and maxRows a non-negative integer (got ${limits.timeoutMs}, ${limits.maxRows})`);
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: settings.businessTz });
  } catch {
    throw new RangeError(`businessTz ${JSON.stringify(settings.businessTz)} is not an IANA time zone`);
  }

  /** Lists the lake and opens a snapshot of it, unless its live files are `unchangedFrom`'s. */
  const snapshotOfLake = async (unchangedFrom?: Snapshot): Promise<Snapshot | undefined> => {
    for (let attempt = 1; ; attempt++) {
      const live = liveLakeFiles(await listLakeFiles(root));
      if (unchangedFrom && live.map((f) => f.path).join("\n") === unchangedFrom.key) return undefined;
      try {
        return await openSnapshot(root, live, settings);
      } catch (error) {
        // A compaction may delete a listed file before the views bind to it: list again.
        if (attempt === 3) throw error;
      }
    }
  };

  let current = (await snapshotOfLake())!;
  let scannedAt = Date.now();
  let rescan: Promise<boolean> | undefined;
  let closed = false;

  /** Rescans; resolves true when the live file set changed and a new snapshot serves from now on. */
  const rescanLake = (): Promise<boolean> => {
    // One rescan at a time; concurrent callers share it.
    rescan ??= (async () => {
      try {
        const next = await snapshotOfLake(current);
        scannedAt = Date.now();
        if (!next) return false;
        if (closed) {
          next.retire();
          return false;
        }
        const previous = current;
        current = next;
        previous.retire();
        return true;
      } finally {
        rescan = undefined;
      }
    })();
    return rescan;
  };

  return {
    async query(sql: string): Promise<QueryResult> {
      if (closed) throw new Error("the lake is closed");
      if (typeof sql !== "string") throw new QueryRejectedError("the query must be text", String(sql));
      if (sql.length > maxQueryLength)
        throw new QueryRejectedError(`the query is ${sql.length} characters long; the limit is ${maxQueryLength}`, sql);
      if (Date.now() - scannedAt >= refreshIntervalMs) await rescanLake();
      try {
        return await runQuery(current, sql, limits);
      } catch (error) {
        // A compaction may have deleted a file since the last scan: DuckDB then reports it
        // missing, or (trying it as a directory) not allowed. If the lake changed, retry once.
        const engineError = error instanceof QueryFailedError || (error instanceof QueryRejectedError && error.reason.startsWith("access denied"));
        if (!engineError || !(await rescanLake())) throw error;
        return runQuery(current, sql, limits);
      }
    },
    async refresh(): Promise<void> {
      await rescanLake();
    },
    close(): void {
      if (closed) return;
      closed = true;
      current.retire();
    },
  };
}
