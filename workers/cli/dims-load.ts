/**
 * `npm run dims:load -- [--customers FILE] [--products FILE]`: loads the
 * customer and product dimensions (CSV with a header, or Parquet) into
 * $LAKE_DIR/dims/ (lib/lake/dims-layout.ts). Every row of every given file is
 * validated first; any problem (named file:line:column) refuses the whole
 * load and replaces nothing. Then each table's new version is written whole and
 * made current atomically, keeping the previous one.
 *
 * stdout: per table, what changed (added, removed, updated rows) and the version.
 * Exit codes: 0 loaded (or unchanged); 1 a file could not be read or written;
 * 2 bad arguments, configuration or rows (nothing replaced).
 */
import { lakeEnvSchema } from "../../lib/contract/config.ts";
import { DIM_CUSTOMER_TABLE, DIM_PRODUCT_TABLE, DimensionLoadError, describeChanges, type DimensionRow, type DimensionTable } from "../../lib/contract/dims.ts";
import { configOrExit, loadEnv } from "../shared/env.ts";
import { commandLine } from "../shared/cli-args.ts";
import { EXIT } from "../shared/entry-point.ts";
import { DimensionInputError, readDimensionFile, replaceDimension } from "../dims/dims-store.ts";

const program = commandLine("dims:load", "Load dim_customer and/or dim_product (CSV or Parquet) into the lake at LAKE_DIR", {
  environment: ["LAKE_DIR"],
  exitCodes: "0 loaded or unchanged; 1 a file could not be read or written; 2 bad arguments, configuration or rows (nothing replaced).",
})
  .option("--customers <file>", "dim_customer: customer_id, segment, is_premium, signup_date, home_country (.csv with a header, or .parquet)")
  .option("--products <file>", "dim_product: product_id, name, category, list_price (.csv with a header, or .parquet)")
  .addHelpText("after", "Booleans: true/false, yes/no, 1/0. Dates: YYYY-MM-DD. list_price: a non-negative amount with at most 2 decimals.\n")
  .action(async (options: { customers?: string; products?: string }) => {
    if (!options.customers && !options.products) {
      console.error("dims:load: give --customers FILE, --products FILE, or both");
      process.exit(EXIT.usage);
    }
    const lake = configOrExit(lakeEnvSchema, loadEnv());
    const inputs: [DimensionTable, string][] = [];
    if (options.customers) inputs.push([DIM_CUSTOMER_TABLE, options.customers]);
    if (options.products) inputs.push([DIM_PRODUCT_TABLE, options.products]);
    // Validate everything before replacing anything: a bad product file must not leave new customers behind.
    const validated: [DimensionTable, DimensionRow[]][] = [];
    const refusals: string[] = [];
    for (const [table, file] of inputs) {
      try {
        validated.push([table, await readDimensionFile(table, file)]);
      } catch (error) {
        if (error instanceof DimensionLoadError || error instanceof DimensionInputError) refusals.push(error.message);
        else throw error;
      }
    }
    if (refusals.length > 0) {
      console.error(`dims:load: refused, nothing was replaced:\n${refusals.join("\n")}`);
      process.exit(EXIT.usage);
    }
    try {
      for (const [table, rows] of validated) {
        const result = await replaceDimension(lake.lakeDir, table, rows, Date.now());
        console.log(`${describeChanges(table.name, result.changes)}; version ${result.version.version} (${result.version.rows} rows)${result.replaced ? "" : ", unchanged"}`);
      }
    } catch (error) {
      console.error(`dims:load: failed: ${(error as Error).message}`);
      process.exit(EXIT.failure);
    }
  });

await program.parseAsync();
