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
import { ORDERS_DUPLICATES_TABLE, viewDefinitions } from "../../lib/lake/views.ts";

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
 * and fills `orders_duplicates`. Returns the index for the next snapshot and how
 * many rows' partitions were reclassified (for logs). Throws DuckDB's error (a
 * file deleted by a compaction meanwhile, for one); `connection` is then unusable
 * for the lake and the caller lists the lake again.
 */
export async function defineLakeViews(connection: DuckDBConnection, options: LakeViewsOptions): Promise<{ index: FirstCopyIndex; reclassified: number[] }> {
  for (const statement of viewDefinitions(options.lakeDir, options.live, options.businessTz, options.dims ?? {})) await connection.run(statement);
  const from = reclassifyFrom(options.index, options.live);
  const found: (readonly [number, number])[] = [];
  for (const [partition, fromOffset] of from)
    for (const [p, o] of (await connection.runAndReadAll(laterCopiesSql(partition, fromOffset))).getRows()) found.push([Number(p), Number(o)]);
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
