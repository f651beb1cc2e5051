/**
 * The dimension tables on disk (lib/lake/dims-layout.ts has the layout):
 * reading input files (CSV through csv-parse, Parquet through DuckDB), writing
 * a new version atomically (workers/shared/atomic-file.ts), reading the
 * current versions for the views and customer segments for the hot path.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parse } from "csv-parse/sync";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import {
  CustomerSegments,
  DIM_CUSTOMER_TABLE,
  DIMENSION_TABLES,
  diffDimension,
  validateDimension,
  type DimensionChanges,
  type DimensionRow,
  type DimensionTable,
  type DimensionTableName,
  type InputRecord,
} from "../../lib/contract/dims.ts";
import {
  currentVersion,
  manifestPath,
  parseManifest,
  serializeManifest,
  versionPath,
  type CurrentDimensions,
  type DimensionManifest,
  type DimensionVersion,
} from "../../lib/lake/dims-layout.ts";
import { sqlIdentifier as identifier, sqlLiteral as literal } from "../../lib/lake/sql.ts";
import { replaceFiles } from "../shared/atomic-file.ts";

const errno = (error: unknown) => (error as NodeJS.ErrnoException).code;

/** The table's manifest, or undefined when it was never loaded. @throws DimensionManifestError when it is unreadable */
export async function readManifest(lakeDir: string, table: DimensionTableName): Promise<DimensionManifest | undefined> {
  const path = join(resolve(lakeDir), manifestPath(table));
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (errno(error) === "ENOENT") return undefined;
    throw error;
  }
  return parseManifest(table, text, path);
}

/** The current version of every dimension table (the views' input). */
export async function readCurrentDimensions(lakeDir: string): Promise<CurrentDimensions> {
  const current: CurrentDimensions = {};
  for (const table of DIMENSION_TABLES) {
    const version = currentVersion(await readManifest(lakeDir, table.name));
    if (version) current[table.name] = version;
  }
  return current;
}

async function withDuckDB<T>(run: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(":memory:", { autoinstall_known_extensions: "false", autoload_known_extensions: "false", threads: "1" });
  const connection = await instance.connect();
  try {
    await connection.run("SET TimeZone = 'UTC'");
    return await run(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** An input file as a header and text records with their line numbers (Parquet: row n is line n + 1, after a virtual header). */
async function readInput(file: string): Promise<{ header: string[]; records: InputRecord[] }> {
  if (/\.parquet$/i.test(file)) {
    return withDuckDB(async (connection) => {
      const result = await connection.runAndReadAll(`SELECT * FROM read_parquet(${literal(file)})`);
      const header = result.columnNames();
      const records = result.getRows().map((row, i) => ({ line: i + 2, cells: row.map((cell) => (cell === null ? null : String(cell))) }));
      return { header, records };
    }).catch((error: unknown) => {
      throw new DimensionInputError(file, `cannot read Parquet: ${(error as Error).message}`);
    });
  }
  const text = await readFile(file).catch((error: unknown) => {
    throw new DimensionInputError(file, `cannot read: ${(error as Error).message}`);
  });
  let parsed: { info: { lines: number }; record: string[] }[];
  try {
    parsed = parse(text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true }) as unknown as typeof parsed;
  } catch (error) {
    const e = error as Error & { lines?: number; column?: number };
    throw new DimensionInputError(file, `not valid CSV: ${e.message}`, e.lines);
  }
  const [first, ...rest] = parsed;
  if (!first) throw new DimensionInputError(file, "empty file (a header line is required)", 1);
  return { header: first.record, records: rest.map((r) => ({ line: r.info.lines, cells: r.record })) };
}

/** An input file that cannot be read as CSV or Parquet at all. */
export class DimensionInputError extends Error {
  constructor(
    readonly file: string,
    reason: string,
    readonly line?: number,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ""}: ${reason}`);
    this.name = "DimensionInputError";
  }
}

/** The validated rows of an input file. @throws DimensionInputError, DimensionLoadError (lib/contract/dims.ts) */
export async function readDimensionFile(table: DimensionTable, file: string): Promise<DimensionRow[]> {
  const { header, records } = await readInput(file);
  return validateDimension(table, file, header, records);
}

/** Content id of validated rows: the first 16 hex digits of a SHA-256 over them. */
export function versionId(table: DimensionTable, rows: readonly DimensionRow[]): string {
  const hash = createHash("sha256").update(table.name);
  for (const row of rows) hash.update(`\n${JSON.stringify(row)}`);
  return hash.digest("hex").slice(0, 16);
}

/** The rows of a version's Parquet file, in the table's column order, as normalised text. */
export async function readVersionRows(lakeDir: string, table: DimensionTable, version: DimensionVersion): Promise<DimensionRow[]> {
  const columns = table.columns.map((c) => `CAST(${identifier(c.name)} AS VARCHAR)`).join(", ");
  return withDuckDB(async (connection) => {
    const result = await connection.runAndReadAll(`SELECT ${columns} FROM read_parquet(${literal(join(resolve(lakeDir), version.path))}) ORDER BY ${identifier(table.key)}`);
    return result.getRows().map((row) => row.map((cell) => (cell === null ? null : String(cell))));
  });
}

export interface DimensionLoadResult {
  table: DimensionTableName;
  version: DimensionVersion;
  changes: DimensionChanges;
  /** False when the rows equal the current version's: nothing was written. */
  replaced: boolean;
}

/** Writes `rows` as a Parquet file at `path` (through DuckDB, typed by the table's columns). */
async function writeVersionFile(table: DimensionTable, rows: readonly DimensionRow[], path: string): Promise<void> {
  await withDuckDB(async (connection) => {
    await connection.run(`CREATE TEMP TABLE staged (${table.columns.map((c) => `${identifier(c.name)} VARCHAR`).join(", ")})`);
    const appender = await connection.createAppender("staged");
    for (const row of rows) {
      for (const cell of row) {
        if (cell === null) appender.appendNull();
        else appender.appendVarchar(cell);
      }
      appender.endRow();
    }
    appender.closeSync();
    const typed = table.columns.map((c) => `CAST(${identifier(c.name)} AS ${c.sqlType}) AS ${identifier(c.name)}`).join(", ");
    await connection.run(`COPY (SELECT ${typed} FROM staged ORDER BY ${identifier(table.key)}) TO ${literal(path)} (FORMAT parquet, COMPRESSION snappy)`);
  });
}

/**
 * Makes `rows` the current version of `table`: writes its file (unless that
 * version exists already), then replaces the manifest. Until the manifest's
 * rename, readers see the previous version; the previous file is kept.
 * @param now when the version becomes current (epoch ms)
 */
export async function replaceDimension(lakeDir: string, table: DimensionTable, rows: readonly DimensionRow[], now: number): Promise<DimensionLoadResult> {
  const root = resolve(lakeDir);
  const manifest = (await readManifest(root, table.name)) ?? { table: table.name, versions: [] };
  const previous = currentVersion(manifest);
  const id = versionId(table, rows);
  const changes = diffDimension(table, previous ? await readVersionRows(root, table, previous) : [], rows);
  if (previous?.version === id) return { table: table.name, version: previous, changes, replaced: false };
  const version: DimensionVersion = { version: id, path: versionPath(table.name, id), rows: rows.length, loadedAt: new Date(now).toISOString() };
  const file = join(root, version.path);
  // A version's file never changes once written (its name is its content), so an existing one is reused.
  if (!existsSync(file)) await replaceFiles(async (staged) => writeVersionFile(table, rows, await staged.stage(file)));
  const next: DimensionManifest = { table: table.name, versions: [...manifest.versions, version] };
  await replaceFiles(async (staged) => {
    await writeFile(await staged.stage(join(root, manifestPath(table.name))), serializeManifest(next));
  });
  return { table: table.name, version, changes, replaced: true };
}

/** dim_customer's segments at `version` (default: the current one); no dimension loaded gives CustomerSegments.NONE. */
export async function readCustomerSegments(lakeDir: string, version?: DimensionVersion): Promise<CustomerSegments> {
  const chosen = version ?? currentVersion(await readManifest(lakeDir, DIM_CUSTOMER_TABLE.name));
  if (!chosen) return CustomerSegments.NONE;
  const rows = await readVersionRows(lakeDir, DIM_CUSTOMER_TABLE, chosen);
  return new CustomerSegments(chosen.version, rows.map((row) => [row[0]!, row[1]!] as const));
}

/**
 * dim_customer's segments at exactly `version` (a 16-hex-digit content id from the
 * manifest): what a resumed metrics worker re-opens a window with. Undefined when the
 * manifest has no such version (or no dim_customer was ever loaded).
 * @throws DimensionManifestError, or DuckDB's error, when the manifest or the version's file is unreadable
 */
export async function readCustomerSegmentsAt(lakeDir: string, version: string): Promise<CustomerSegments | undefined> {
  const entry = (await readManifest(lakeDir, DIM_CUSTOMER_TABLE.name))?.versions.find((v) => v.version === version);
  return entry ? readCustomerSegments(lakeDir, entry) : undefined;
}
