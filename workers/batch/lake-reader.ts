/**
 * The batch commands' own DuckDB over the lake: privileged (it may write files,
 * which the ad-hoc sandbox of lib/lake-query must never do), but it reads the
 * lake exactly as the sandbox does: the same live-file selection (committed,
 * not superseded by a compaction, so no row twice) and the same views
 * (orders_raw, orders, orders_invalid, daily_kpis, …) from defineLakeViews.
 *
 * A compaction may delete a listed file while a batch reads it: withLakeReader
 * then lists the lake again and reruns the whole step (every step here is a
 * pure function of the live files, so a rerun is safe).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from "@duckdb/node-api";
import type { LakeFile } from "../../lib/lake/layout.ts";
import { listLakeFiles, liveLakeFiles } from "../shared/lake-files.ts";
import { EMPTY_FIRST_COPY_INDEX } from "../../lib/lake/first-copies.ts";
import { defineLakeViews, isVanishedFile } from "../shared/lake-views.ts";
import { readCurrentDimensions } from "../dims/dims-store.ts";
import type { LakeRecord } from "../../lib/batch/replay.ts";
import { sqlLiteral as literal } from "../../lib/lake/sql.ts";
import { OFFSET_GAP_CODE } from "../../lib/lake/schema.ts";

export class LakeReadError extends Error {
  constructor(
    message: string,
    readonly context: { lakeDir: string; partition?: number; offset?: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "LakeReadError";
  }
}

export interface LakeReaderOptions {
  /** BUSINESS_TZ: the day boundary of the daily_kpis view. */
  businessTz: string;
  /** DuckDB memory_limit; default 1GB (bigger sorts spill to a private temp directory). */
  memoryLimit?: string;
  /** DuckDB threads; default 2. */
  threads?: number;
}

/** The reason code of the lake worker's gap records in orders_invalid (not a message, so never counted as one). */

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Rows of one chunk of the replay query, in column order. */
// amount: the exact cents as a double (cents / 100 is the double amountToCents reads back as those cents).
const RECORD_COLUMNS = `order_id, customer_id, product_id, category, country, channel, quantity, unit_price, CAST(amount_cents AS DOUBLE) / 100 AS amount,
  CAST(epoch_ms(event_time) AS DOUBLE) AS event_ms, CAST(kafka_offset AS DOUBLE) AS kafka_offset`;

export class LakeReader {
  private constructor(
    readonly lakeDir: string,
    /** The live files this reader sees, fixed at open. */
    readonly files: readonly LakeFile[],
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    private readonly spillDir: string,
  ) {}

  static async open(lakeDir: string, options: LakeReaderOptions): Promise<LakeReader> {
    const root = resolve(lakeDir);
    const files = liveLakeFiles(await listLakeFiles(root));
    const dims = await readCurrentDimensions(root);
    const spillDir = await mkdtemp(join(tmpdir(), "orderpulse-batch-"));
    let instance: DuckDBInstance | undefined;
    try {
      instance = await DuckDBInstance.create(":memory:", {
        autoinstall_known_extensions: "false",
        autoload_known_extensions: "false",
        temp_directory: spillDir,
        memory_limit: options.memoryLimit ?? "1GB",
        threads: String(options.threads ?? 2),
      });
      const connection = await instance.connect();
      await connection.run("SET GLOBAL TimeZone = 'UTC'");
      const { failure } = await defineLakeViews(connection, { lakeDir: root, live: files, businessTz: options.businessTz, dims, index: EMPTY_FIRST_COPY_INDEX });
      // A batch job's figures need `orders`: fail the job rather than run on a view that errors.
      if (failure) throw new Error(failure);
      return new LakeReader(root, files, instance, connection, spillDir);
    } catch (error) {
      instance?.closeSync();
      await rm(spillDir, { recursive: true, force: true });
      throw new LakeReadError(`cannot open the lake at ${root}: ${messageOf(error)}`, { lakeDir: root }, { cause: error });
    }
  }

  /** Partitions that have live order files, ascending. */
  get partitions(): number[] {
    return [...new Set(this.files.filter((f) => f.kind === "orders").map((f) => f.partition))].sort((a, b) => a - b);
  }

  /** Runs a statement and returns all its rows (for small results). */
  async rows(sql: string): Promise<DuckDBValue[][]> {
    try {
      return (await this.connection.runAndReadAll(sql)).getRows();
    } catch (error) {
      throw new LakeReadError(`lake query failed: ${messageOf(error)}`, { lakeDir: this.lakeDir }, { cause: error });
    }
  }

  /** The first column of the first row, as a number (counts, sums). */
  async number(sql: string): Promise<number> {
    const value = (await this.rows(sql))[0]?.[0];
    return value === null || value === undefined ? 0 : Number(value);
  }

  /**
   * Rows of orders_invalid that record offsets Kafka no longer had when the lake
   * worker read them (reason_code `offset_gap`): events the lake never saw.
   */
  async offsetGaps(): Promise<number> {
    return this.number(`SELECT count(*) FROM orders_invalid WHERE reason_code = ${literal(OFFSET_GAP_CODE)}`);
  }

  /** Streams a query's rows, chunk by chunk. */
  async *stream(sql: string): AsyncGenerator<DuckDBValue[][]> {
    let result;
    try {
      result = await this.connection.stream(sql);
    } catch (error) {
      throw new LakeReadError(`lake query failed: ${messageOf(error)}`, { lakeDir: this.lakeDir }, { cause: error });
    }
    for (;;) {
      let chunk;
      try {
        chunk = await result.fetchChunk();
      } catch (error) {
        throw new LakeReadError(`lake query failed: ${messageOf(error)}`, { lakeDir: this.lakeDir }, { cause: error });
      }
      if (!chunk || chunk.rowCount === 0) return;
      yield chunk.getRows();
    }
  }

  /** Every valid row of `partition` (orders_raw: duplicates included), in offset order, as engine records. */
  async *partitionRecords(partition: number): AsyncGenerator<LakeRecord[]> {
    const sql = `SELECT ${RECORD_COLUMNS} FROM orders_raw WHERE kafka_partition = ${Number(partition)} ORDER BY kafka_offset`;
    for await (const rows of this.stream(sql)) yield rows.map((row) => this.toRecord(partition, row));
  }

  private toRecord(partition: number, row: readonly DuckDBValue[]): LakeRecord {
    const [orderId, customerId, productId, category, country, channel, quantity, unitPrice, amount, eventMs, offset] = row;
    const missing: string[] = [];
    const text = (name: string, value: unknown): string => {
      if (typeof value === "string") return value;
      missing.push(name);
      return "";
    };
    const num = (name: string, value: unknown): number => {
      if (typeof value === "number" && Number.isFinite(value)) return value;
      missing.push(name);
      return 0;
    };
    const record: LakeRecord = {
      partition,
      offset: num("kafka_offset", offset),
      order: {
        orderId: text("order_id", orderId),
        customerId: customerId === null ? null : text("customer_id", customerId),
        productId: text("product_id", productId),
        category: text("category", category),
        country: text("country", country),
        channel: text("channel", channel),
        quantity: num("quantity", quantity),
        unitPrice: unitPrice === null ? null : num("unit_price", unitPrice),
        amount: num("amount", amount),
        eventTime: num("event_time", eventMs),
      },
    };
    if (missing.length > 0)
      throw new LakeReadError(`partition ${partition} offset ${String(offset)}: a lake row without a usable ${missing.join(", ")}`, {
        lakeDir: this.lakeDir,
        partition,
        offset: typeof offset === "number" ? offset : undefined,
      });
    return record;
  }

  /** Writes the result of `select` to `path` (Parquet or CSV with a header). */
  async copyTo(select: string, path: string, format: "parquet" | "csv"): Promise<void> {
    const options = format === "parquet" ? "FORMAT parquet, COMPRESSION snappy" : "FORMAT csv, HEADER true";
    try {
      await this.connection.run(`COPY (${select}) TO ${literal(path)} (${options})`);
    } catch (error) {
      throw new LakeReadError(`cannot write ${path}: ${messageOf(error)}`, { lakeDir: this.lakeDir }, { cause: error });
    }
  }

  async close(): Promise<void> {
    this.connection.closeSync();
    this.instance.closeSync();
    await rm(this.spillDir, { recursive: true, force: true });
  }
}

/**
 * Opens a reader, runs `step`, closes the reader. When a file vanished under
 * the step (a compaction), lists the lake again and reruns it, up to `attempts` times.
 */
export async function withLakeReader<T>(
  lakeDir: string,
  options: LakeReaderOptions,
  step: (reader: LakeReader) => Promise<T>,
  attempts = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    // Opening reads every order file too (the later copies): a compaction can delete one then as well.
    let reader: LakeReader | undefined;
    try {
      reader = await LakeReader.open(lakeDir, options);
      return await step(reader);
    } catch (error) {
      if (attempt >= attempts || !isVanishedFile(error)) throw error;
      process.stderr.write(`a lake file disappeared while reading (a compaction?); reading the lake again (attempt ${attempt + 1} of ${attempts})\n`);
    } finally {
      await reader?.close();
    }
  }
}
