/**
 * The lake's SQL surface: the views every query snapshot defines, as CREATE VIEW
 * statements over an explicit list of live files (design.md, "Lake"). Pure: the
 * caller lists the files and runs the statements.
 */
import { join } from "node:path";
import type { LakeFile } from "./layout.ts";
import { INVALID_TABLE, ORDERS_TABLE, type LakeColumn, type LakeTable } from "./schema.ts";
import { sqlIdentifier as identifier, sqlLiteral as literal } from "./sql.ts";
import { ORDER_DIMENSIONS } from "../contract/dimensions.ts";
import { DIMENSION_TABLES, UNKNOWN_SEGMENT, type DimensionTable } from "../contract/dims.ts";
import type { CurrentDimensions } from "./dims-layout.ts";

/** The views every snapshot defines, empty lake or not. */
export const LAKE_VIEWS = [
  "orders_raw",
  "orders",
  "orders_duplicates",
  "orders_invalid",
  "orders_enriched",
  "daily_kpis",
  ...ORDER_DIMENSIONS.map((dimension) => `revenue_by_${dimension}` as const),
  ...DIMENSION_TABLES.map((table) => table.name),
  "lake_files",
];

interface ViewColumn {
  name: string;
  sqlType: string;
  /** The column's expression, when it is not the file column of that name cast to sqlType. */
  sql?: string;
}

/**
 * SQL: an order row's whole cents. `amount_cents`, or in a file written before
 * that column existed (it reads as NULL), the double `amount` rounded as
 * amountToCents rounds: half away from zero on its shortest decimal text, which
 * is the value as the producer wrote it (1.005 → 101, where round(1.005 * 100)
 * on the double gives 100).
 */
export const ORDER_CENTS_SQL = `coalesce("amount_cents", CAST(round(CAST(CAST("amount" AS VARCHAR) AS DECIMAL(38,9)) * 100) AS BIGINT))`;

/** Whole cents → DECIMAL(18,2), exactly (a DECIMAL division would give a DOUBLE). */
const centsToDecimal = (cents: string) => `CAST(CAST(${cents} AS DECIMAL(18,0)) * 0.01 AS DECIMAL(18,2))`;

/**
 * The orders views' columns: the file's, except that money is exact. `amount`
 * is DECIMAL(18,2) from the cents, `amount_cents` is BIGINT; the double the
 * message held stays in the files (and `raw`), not in the views.
 */
const ORDER_VIEW_COLUMNS: ViewColumn[] = ORDERS_TABLE.columns.map((c) =>
  c.name === "amount" ? { name: "amount", sqlType: "DECIMAL(18,2)", sql: centsToDecimal(ORDER_CENTS_SQL) }
  : c.name === "amount_cents" ? { name: "amount_cents", sqlType: "BIGINT", sql: ORDER_CENTS_SQL }
  : c,
);

/**
 * A relation over the Parquet files `paths` in which every column of `table`
 * exists: a file written before a column was added reads it as NULL
 * (union_by_name fills it across files, the typed empty branch when no file has it).
 */
export function parquetScan(table: LakeTable<unknown>, paths: readonly string[], options: string): string {
  const nulls = table.columns.map((c) => `CAST(NULL AS ${c.sqlType}) AS ${identifier(c.name)}`).join(", ");
  return `(SELECT * FROM read_parquet([${paths.map(literal).join(", ")}], ${options}, union_by_name = true) UNION ALL BY NAME SELECT ${nulls} WHERE false)`;
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
function fileView(name: string, table: LakeTable<unknown>, columns: readonly (LakeColumn | ViewColumn)[], hive: ViewColumn[], paths: string[]): string {
  const all: (LakeColumn | ViewColumn)[] = [...columns, ...hive];
  if (paths.length === 0) {
    const nulls = all.map((c) => `CAST(NULL AS ${c.sqlType}) AS ${identifier(c.name)}`).join(", ");
    return `CREATE VIEW ${name} AS SELECT ${nulls} WHERE false`;
  }
  const select = all.map((c) => `${("sql" in c && c.sql) || `CAST(${identifier(c.name)} AS ${c.sqlType})`} AS ${identifier(c.name)}`).join(", ");
  const hiveTypes = hive.map((c) => `${literal(c.name)}: ${c.sqlType}`).join(", ");
  // An explicit list, never a glob: the list is the decision of which files count.
  return `CREATE VIEW ${name} AS SELECT ${select} FROM ${parquetScan(table, paths, `hive_partitioning = true, hive_types = {${hiveTypes}}`)}`;
}

/** Revenue, orders and customers per value of an order dimension (the aggregate views). */
function revenueByView(dimension: string): string {
  return `CREATE VIEW revenue_by_${dimension} AS
    SELECT ${dimension}, count(*) AS orders, sum(amount) AS revenue, count(DISTINCT customer_id) AS customers
    FROM orders GROUP BY ${dimension} ORDER BY revenue DESC, ${dimension}`;
}

/** A dimension table's current version, typed; empty (same columns) before the first load. */
function dimensionTableView(table: DimensionTable, path: string | undefined): string {
  const columns = table.columns.map((c) => (path ? `CAST(${identifier(c.name)} AS ${c.sqlType})` : `CAST(NULL AS ${c.sqlType})`) + ` AS ${identifier(c.name)}`).join(", ");
  return path ? `CREATE VIEW ${table.name} AS SELECT ${columns} FROM read_parquet(${literal(path)})` : `CREATE VIEW ${table.name} AS SELECT ${columns} WHERE false`;
}

/**
 * Lake-relative paths of the dimension files a snapshot reads (for the
 * sandbox's allowed paths and its freshness key).
 */
export const dimensionPaths = (dims: CurrentDimensions): string[] => DIMENSION_TABLES.flatMap((t) => (dims[t.name] ? [dims[t.name]!.path] : []));

/**
 * The later copies of orders (lib/lake/first-copies.ts): a table the caller fills
 * from `laterCopiesSql` once the views exist (workers/shared/lake-views.ts does both).
 */
export const ORDERS_DUPLICATES_TABLE = "orders_duplicates";

/**
 * The CREATE statements of a snapshot, in dependency order: the views, and the
 * table `orders_duplicates` that `orders` leaves out, created empty (filling it is
 * the caller's: workers/shared/lake-views.ts). `lakeDir` must be absolute (or ""
 * for lake-relative paths): the views name each file by its path. `dims`: the
 * dimension tables' current versions (lib/lake/dims-layout.ts).
 */
export function viewDefinitions(lakeDir: string, live: readonly LakeFile[], businessTz: string, dims: CurrentDimensions = {}): string[] {
  const absolute = (file: LakeFile) => join(lakeDir, file.path);
  const orders = live.filter((f) => f.kind === "orders").map(absolute);
  const invalid = live.filter((f) => f.kind === "invalid").map(absolute);
  const files = live.map((f) => `(${literal(f.kind)}, ${literal(f.path)}, ${f.partition}, ${f.firstOffset}, ${f.lastOffset})`);
  return [
    fileView("orders_raw", ORDERS_TABLE, ORDER_VIEW_COLUMNS, HIVE_ORDERS, orders),
    fileView("orders_invalid", INVALID_TABLE, INVALID_TABLE.columns, HIVE_INVALID, invalid),
    `CREATE TABLE ${ORDERS_DUPLICATES_TABLE} (kafka_partition INTEGER NOT NULL, kafka_offset BIGINT NOT NULL)`,
    // The first copy of each order in its partition (design.md, "Orders"): every row but the later copies.
    `CREATE VIEW orders AS SELECT * FROM orders_raw r ANTI JOIN ${ORDERS_DUPLICATES_TABLE} d
       ON d.kafka_partition = r.kafka_partition AND d.kafka_offset = r.kafka_offset`,
    // event_time is UTC; the business day starts at midnight in businessTz. Money sums exact cents
    // (DECIMAL), so revenue here equals InfluxDB's, the gold tables' and reconcile's to the cent.
    `CREATE VIEW daily_kpis AS
       SELECT CAST(timezone(${literal(businessTz)}, timezone('UTC', event_time)) AS DATE) AS date,
              count(*) AS orders,
              sum(amount) AS revenue,
              ${centsToDecimal("round(sum(amount_cents) / count(*))")} AS aov,
              count(DISTINCT customer_id) AS customers,
              CAST(sum(quantity) AS BIGINT) AS items
       FROM orders GROUP BY 1 ORDER BY 1`,
    ...ORDER_DIMENSIONS.map(revenueByView),
    ...DIMENSION_TABLES.map((table) => dimensionTableView(table, dims[table.name] && join(lakeDir, dims[table.name]!.path))),
    // Left joins: an order keeps its row whatever the dimensions hold; a customer or product
    // they lack reads as segment UNKNOWN, not premium, and NULL attributes.
    `CREATE VIEW orders_enriched AS
       SELECT o.*, coalesce(c.segment, ${literal(UNKNOWN_SEGMENT)}) AS segment, coalesce(c.is_premium, false) AS is_premium,
              c.signup_date, c.home_country, p.name AS product_name, p.category AS product_category, p.list_price
       FROM orders o LEFT JOIN dim_customer c ON c.customer_id = o.customer_id LEFT JOIN dim_product p ON p.product_id = o.product_id`,
    files.length === 0
      ? `CREATE VIEW lake_files AS SELECT CAST(NULL AS VARCHAR) AS kind, CAST(NULL AS VARCHAR) AS path, CAST(NULL AS INTEGER) AS kafka_partition,
           CAST(NULL AS BIGINT) AS first_offset, CAST(NULL AS BIGINT) AS last_offset WHERE false`
      : `CREATE VIEW lake_files AS SELECT kind, path, CAST(kafka_partition AS INTEGER) AS kafka_partition,
           CAST(first_offset AS BIGINT) AS first_offset, CAST(last_offset AS BIGINT) AS last_offset
         FROM (VALUES ${files.join(", ")}) AS t(kind, path, kafka_partition, first_offset, last_offset)`,
  ];
}

