/**
 * Defines the lake's views on a DuckDB connection and fills `orders_duplicates`,
 * classifying only what `index` has not seen (lib/lake/first-copies.ts). Every
 * reader of the lake (the query sandbox's snapshots, batch jobs, the benches)
 * opens the lake through here, so `orders` means the same everywhere.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { CurrentDimensions } from "../../lib/lake/dims-layout.ts";
import { laterCopiesSql, laterCopyPairs, reclassifyFrom, withClassification, type FirstCopyIndex } from "../../lib/lake/first-copies.ts";
import type { LakeFile } from "../../lib/lake/layout.ts";
import { sqlLiteral } from "../../lib/lake/sql.ts";
import { ORDERS_DUPLICATES_TABLE, viewDefinitions } from "../../lib/lake/views.ts";

/** True when `error` (or a cause) says a listed file is gone: a compaction deleted it; list the lake again. */
export function isVanishedFile(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) if (/No files found|No such file|Cannot open file|could not open/i.test(e.message)) return true;
  return false;
}

export interface LakeViewsOptions {
  /** Absolute, or "" for lake-relative paths (the files are then named relative to DuckDB's search path). */
  lakeDir: string;
  /** The snapshot's live files (workers/shared/lake-files.ts liveLakeFiles). */
  live: readonly LakeFile[];
  businessTz: string;
  dims?: CurrentDimensions;
  /** What an earlier snapshot of the same lake classified; EMPTY_FIRST_COPY_INDEX for a first one. */
  index: FirstCopyIndex;
}

/**
 * Runs the view definitions on `connection`, classifies the rows new to `index`
 * and fills `orders_duplicates`. Returns the index for the next snapshot, the
 * partitions reclassified (for logs), and `failure` when the classification
 * failed (out of memory on a huge partition, say): `orders` and the views over it
 * then answer every query with that message instead of rows that could hold
 * duplicates, the other views work, and the index is the one given (the next
 * snapshot tries again). Throws DuckDB's error when a view cannot be defined or a
 * listed file is gone (isVanishedFile: list the lake again).
 */
export async function defineLakeViews(connection: DuckDBConnection, options: LakeViewsOptions): Promise<{ index: FirstCopyIndex; reclassified: number[]; failure?: string }> {
  for (const statement of viewDefinitions(options.lakeDir, options.live, options.businessTz, options.dims ?? {})) await connection.run(statement);
  const from = reclassifyFrom(options.index, options.live);
  const found: (readonly [number, number])[] = [];
  try {
    for (const [partition, fromOffset] of from)
      for (const [p, o] of (await connection.runAndReadAll(laterCopiesSql(partition, fromOffset))).getRows()) found.push([Number(p), Number(o)]);
  } catch (error) {
    if (isVanishedFile(error)) throw error;
    const failure = `orders is unavailable in this snapshot: finding the later copies of orders failed (${(error as Error).message}); orders_raw and the other views work`;
    await connection.run(`CREATE OR REPLACE VIEW orders AS SELECT * FROM orders_raw WHERE error(${sqlLiteral(failure)})`);
    return { index: options.index, reclassified: [], failure };
  }
  const index = withClassification(options.index, options.live, from, found);
  const appender = await connection.createAppender(ORDERS_DUPLICATES_TABLE);
  try {
    for (const [partition, offset] of laterCopyPairs(index)) {
      appender.appendInteger(partition);
      appender.appendBigInt(BigInt(offset));
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return { index, reclassified: [...from.keys()] };
}
