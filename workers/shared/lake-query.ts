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
import { resolve } from "node:path";
import { DuckDBInstance, DuckDBIntervalValue, JsonDuckDBValueConverter, StatementType, type DuckDBConnection, type DuckDBValueConverter, type Json } from "@duckdb/node-api";
import type { CommitMarker, LakeFile } from "../../lib/lake/layout.ts";
import { checkStatementTree, QueryRejectedError } from "../../lib/lake/statement-gate.ts";
import { pivotProbe } from "../../lib/lake/pivot.ts";
import { sqlLiteral as literal } from "../../lib/lake/sql.ts";
import { EMPTY_FIRST_COPY_INDEX, type FirstCopyIndex } from "../../lib/lake/first-copies.ts";
import { dimensionPaths } from "../../lib/lake/views.ts";
import { defineLakeViews } from "./lake-views.ts";
import type { CurrentDimensions } from "../../lib/lake/dims-layout.ts";
import { listLakeFiles, liveLakeFiles } from "./lake-files.ts";
import { readCurrentDimensions } from "../dims/dims-store.ts";

/**
 * DuckDB's JSON conversion of result values, except INTERVAL as DuckDB prints it (`00:32:57.418`,
 * `1 day 02:00:00`) rather than `{months, days, micros}`, so the Lake page and the CSV show what SQL shows.
 */
const resultValueConverter: DuckDBValueConverter<Json> = (value, type, converter) =>
  value instanceof DuckDBIntervalValue ? value.toString() : JsonDuckDBValueConverter(value, type, converter);

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
  /**
   * The process's working directory is the lake (the query process chdirs there):
   * views, `allowed_paths` and DuckDB's messages name files relative to it, so no
   * query can learn where the lake sits on the server. Default false (absolute
   * paths; messages still show lake-relative ones).
   */
  lakeRelativePaths?: boolean;
}

/** How one query's rows come back: in pages, each awaited (backpressure). */
export interface QueryStreamOptions {
  /** At most this many rows are delivered; `truncated` says there were more. */
  maxRows: number;
  /** Rows per onRows call; default 1000. */
  pageRows?: number;
  /** Called once, before any rows. */
  onColumns?: (columns: QueryColumn[]) => void | Promise<void>;
  onRows: (rows: unknown[][]) => void | Promise<void>;
  /**
   * After maxRows, keep counting (not converting) rows for at most this many ms
   * so rowCount can be the whole result's; default 0 (stop at maxRows + 1).
   */
  countForMs?: number;
}

export interface QueryStreamSummary {
  columns: QueryColumn[];
  /** Rows delivered plus those counted after maxRows; exact when rowCountExact. */
  rowCount: number;
  /** False when counting stopped early (countForMs, or at maxRows + 1): the result has at least rowCount rows. */
  rowCountExact: boolean;
  truncated: boolean;
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
  /** Runs `sql` delivering its rows in pages. Errors as query(). */
  stream(sql: string, options: QueryStreamOptions): Promise<QueryStreamSummary>;
  /** Rescans the lake now, so files written a moment ago are visible to the next query. */
  refresh(): Promise<void>;
  close(): void;
}

const excerpt = (sql: string) => (sql.length > 200 ? `${sql.slice(0, 200)}…` : sql);

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
  lakeRelativePaths: boolean;
}

/** A snapshot's identity: its live files and dimension versions (equal keys: nothing to rebuild). */
const snapshotKey = (live: readonly LakeFile[], dims: CurrentDimensions) => [...live.map((f) => f.path), ...dimensionPaths(dims)].join("\n");

/**
 * A locked-down snapshot of `live`, and the first-copy index after it
 * (`index`: the previous snapshot's, so only what is new gets classified).
 */
async function openSnapshot(lakeDir: string, live: LakeFile[], dims: CurrentDimensions, settings: SandboxSettings, index: FirstCopyIndex): Promise<{ snapshot: Snapshot; index: FirstCopyIndex }> {
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
    const defined = await defineLakeViews(setup, { lakeDir: settings.lakeRelativePaths ? "" : lakeDir, live, businessTz: settings.businessTz, dims, index });
    index = defined.index;
    // The snapshot still serves (orders says why it cannot); the operator sees it in the log.
    if (defined.failure) process.stderr.write(`${lakeRelative(defined.failure, lakeDir)}\n`);
    // Order matters: allowed_paths can only be set while external access is on,
    // and nothing at all can be set once the configuration is locked.
    const paths = [...live.map((file) => file.path), ...dimensionPaths(dims)].map((path) => (settings.lakeRelativePaths ? path : resolve(lakeDir, path)));
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
  return { snapshot: new Snapshot(instance, snapshotKey(live, dims)), index };
}

// ---------------------------------------------------------------- running a query

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** DuckDB's message with the lake's absolute path taken out: messages never show where the lake sits. */
function lakeRelative(message: string, lakeDir: string): string {
  return message.replaceAll(`${lakeDir}/`, "").replaceAll(lakeDir, ".");
}

async function runQuery(
  snapshot: Snapshot,
  sql: string,
  limits: { timeoutMs: number; lakeDir: string },
  sink: QueryStreamOptions,
): Promise<QueryStreamSummary> {
  snapshot.acquire();
  let connection: DuckDBConnection | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    connection?.interrupt();
  }, limits.timeoutMs);
  const failed = (message: string, cause: unknown) => new QueryFailedError(lakeRelative(message, limits.lakeDir), sql, { cause });
  try {
    connection = await snapshot.instance.connect();
    if (timedOut) throw new QueryTimeoutError(limits.timeoutMs, sql);
    const statements = await connection.extractStatements(sql).catch((error: unknown) => {
      const message = messageOf(error);
      if (/Parser Error/.test(message)) throw failed(message.replace(/^Failed to extract statements: /, ""), error);
      // The bindings report "no statement at all" (blank, only comments, only `;`) as a bare native error.
      throw new QueryRejectedError("the query has no statement to run", sql);
    });
    // A dynamic PIVOT is one statement that DuckDB's parser expands into CREATE TYPE … AS ENUM
    // statements and a SELECT; the gate judges it by its static probe (lib/lake/pivot.ts).
    const probe = statements.count > 1 ? pivotProbe(sql) : undefined;
    if (statements.count !== 1 && (!probe || statements.count - 1 > probe.dynamicColumns))
      throw new QueryRejectedError(`one statement at a time, got ${statements.count}`, sql);
    const serialized = (await connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [probe?.sql ?? sql])).getRows()[0]?.[0];
    checkStatementTree(serialized, sql);
    if (probe && (JSON.parse(String(serialized)) as { statements?: unknown[] }).statements?.length !== 1)
      throw new QueryRejectedError(`one statement at a time, got ${statements.count}`, sql);
    for (let i = 0; i < statements.count - 1; i++) {
      const enumType = await statements.prepare(i);
      if (enumType.statementType !== StatementType.CREATE) throw new QueryRejectedError(`one statement at a time, got ${statements.count}`, sql);
      await enumType.run();
    }
    const prepared = await statements.prepare(statements.count - 1);
    if (prepared.statementType !== StatementType.SELECT)
      throw new QueryRejectedError(`only SELECT queries are allowed (statement type ${StatementType[prepared.statementType]})`, sql);
    const result = await prepared.stream();
    const columns = result.columnNames().map((name, i) => ({ name, type: result.columnType(i).toString() }));
    await sink.onColumns?.(columns);
    const pageRows = sink.pageRows ?? 1_000;
    let page: unknown[][] = [];
    let delivered = 0;
    let counted = 0;
    let ended = false;
    // Streaming: DuckDB computes chunks as they are pulled, so a huge result costs
    // maxRows + 1 rows (or what countForMs lets it count), never the whole.
    while (delivered + page.length <= sink.maxRows) {
      if (timedOut) throw new QueryTimeoutError(limits.timeoutMs, sql);
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) {
        ended = true;
        break;
      }
      for (const row of chunk.convertRows(resultValueConverter)) {
        if (delivered + page.length < sink.maxRows) page.push(row);
        else counted++;
      }
      while (page.length >= pageRows) {
        const full = page.slice(0, pageRows);
        page = page.slice(pageRows);
        delivered += full.length;
        await sink.onRows(full);
      }
      if (counted > 0) break;
    }
    if (page.length > 0) {
      delivered += page.length;
      await sink.onRows(page);
    }
    const countUntil = Date.now() + (sink.countForMs ?? 0);
    while (!ended && counted > 0 && Date.now() < countUntil) {
      if (timedOut) throw new QueryTimeoutError(limits.timeoutMs, sql);
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) ended = true;
      else counted += chunk.rowCount;
    }
    if (timedOut) throw new QueryTimeoutError(limits.timeoutMs, sql);
    return { columns, rowCount: delivered + counted, rowCountExact: ended, truncated: counted > 0 };
  } catch (error) {
    if (error instanceof QueryRejectedError || error instanceof QueryTimeoutError || error instanceof QueryFailedError) throw error;
    if (timedOut) throw new QueryTimeoutError(limits.timeoutMs, sql);
    const message = messageOf(error);
    // The engine's own refusal (layer 2) reads as a refusal, not as a failure.
    if (/^Permission Error/i.test(message)) throw new QueryRejectedError(`access denied: ${lakeRelative(message, limits.lakeDir)}`, sql);
    throw failed(message, error);
  } finally {
    clearTimeout(timer);
    connection?.closeSync();
    snapshot.release();
  }
}

/**
 * Opens the lake at `lakeDir` for ad-hoc SQL. Views: orders_raw (every row of
 * the live files, with event_date/event_hour), orders (de-duplicated by
 * order_id within its partition, lowest offset wins; orders_duplicates holds
 * the later copies), orders_invalid, daily_kpis (date,
 * orders, revenue, aov, customers, items), revenue_by_country,
 * revenue_by_category, revenue_by_channel, the dimension tables dim_customer
 * and dim_product, orders_enriched (orders joined with both), lake_files.
 * They exist, typed, even before the first file.
 */
export async function openLake(lakeDir: string, options: LakeQueryOptions): Promise<Lake> {
  const root = resolve(lakeDir);
  const settings: SandboxSettings = {
    businessTz: options.businessTz ?? "UTC",
    memoryLimit: options.memoryLimit ?? "512MB",
    threads: options.threads ?? 2,
    lakeRelativePaths: options.lakeRelativePaths ?? false,
  };
  const limits = { timeoutMs: options.timeoutMs, maxRows: options.maxRows, lakeDir: root };
  const maxQueryLength = options.maxQueryLength ?? 20_000;
  const refreshIntervalMs = options.refreshIntervalMs ?? 1_000;
  if (!(limits.timeoutMs > 0) || !Number.isInteger(limits.maxRows) || limits.maxRows < 0)
    throw new RangeError(`timeoutMs must be positive and maxRows a non-negative integer (got ${limits.timeoutMs}, ${limits.maxRows})`);
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: settings.businessTz });
  } catch {
    throw new RangeError(`businessTz ${JSON.stringify(settings.businessTz)} is not an IANA time zone`);
  }

  // Later copies classified so far: kept across snapshots, so each classifies only what is new.
  // Valid for one lake: a marker that moves back or names another cluster means the lake was
  // replaced under us (same paths, other rows), and everything is classified again.
  let firstCopies = EMPTY_FIRST_COPY_INDEX;
  let markersSeen: ReadonlyMap<number, CommitMarker> = new Map();
  /** Lists the lake and opens a snapshot of it, unless its live files are `unchangedFrom`'s. */
  const snapshotOfLake = async (unchangedFrom?: Snapshot): Promise<Snapshot | undefined> => {
    for (let attempt = 1; ; attempt++) {
      const listing = await listLakeFiles(root);
      const replaced = [...markersSeen].some(([p, seen]) => {
        const now = listing.markers.get(p);
        return !now || now.clusterId !== seen.clusterId || now.topic !== seen.topic || now.nextOffset < seen.nextOffset;
      });
      if (replaced) firstCopies = EMPTY_FIRST_COPY_INDEX;
      markersSeen = listing.markers;
      const live = liveLakeFiles(listing);
      const dims = await readCurrentDimensions(root);
      if (unchangedFrom && snapshotKey(live, dims) === unchangedFrom.key) return undefined;
      try {
        const opened = await openSnapshot(root, live, dims, settings, firstCopies);
        firstCopies = opened.index;
        return opened.snapshot;
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

  const stream = async (sql: string, sink: QueryStreamOptions): Promise<QueryStreamSummary> => {
    if (closed) throw new Error("the lake is closed");
    if (typeof sql !== "string") throw new QueryRejectedError("the query must be text", String(sql));
    if (sql.length > maxQueryLength) throw new QueryRejectedError(`the query is ${sql.length} characters long; the limit is ${maxQueryLength}`, sql);
    if (!Number.isInteger(sink.maxRows) || sink.maxRows < 0) throw new RangeError(`maxRows must be a non-negative integer (got ${sink.maxRows})`);
    if (Date.now() - scannedAt >= refreshIntervalMs) await rescanLake();
    // Columns go out with the first page (or at the end): a retry below must not announce them twice.
    let started = false;
    let columns: QueryColumn[] | undefined;
    const announce = async () => {
      if (columns && !started) await sink.onColumns?.(columns);
      started = true;
    };
    const tracked: QueryStreamOptions = {
      ...sink,
      onColumns: (c) => void (columns = c),
      onRows: async (rows) => {
        await announce();
        await sink.onRows(rows);
      },
    };
    const finished = async (summary: QueryStreamSummary) => {
      await announce();
      return summary;
    };
    try {
      return await finished(await runQuery(current, sql, limits, tracked));
    } catch (error) {
      // A compaction may have deleted a file since the last scan: DuckDB then reports it
      // missing, or (trying it as a directory) not allowed. If the lake changed, retry once
      // (only when no rows went out yet: a retry must not deliver a row twice).
      const engineError = error instanceof QueryFailedError || (error instanceof QueryRejectedError && error.reason.startsWith("access denied"));
      if (!engineError || started || !(await rescanLake())) throw error;
      return finished(await runQuery(current, sql, limits, tracked));
    }
  };

  return {
    async query(sql: string): Promise<QueryResult> {
      const rows: unknown[][] = [];
      const summary = await stream(sql, { maxRows: limits.maxRows, onRows: (page) => void rows.push(...page) });
      return { columns: summary.columns, rows, truncated: summary.truncated };
    },
    stream,
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
