import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "csv-stringify/sync";
import { DuckDBInstance } from "@duckdb/node-api";
import { simCustomerRows, simProductRows } from "../lib/sim/dimensions.ts";
import { openLake, type Lake } from "../workers/shared/lake-query.ts";
import { writeLakeFixture, type FixtureMessage } from "./support/batch-lake.ts";
import { runScript, tempDir } from "./support/processes.ts";

const CUSTOMER_HEADER = ["customer_id", "segment", "is_premium", "signup_date", "home_country"];
const PRODUCT_HEADER = ["product_id", "name", "category", "list_price"];

describe("dims:load and the enriched views", () => {
  let lakeDir: string;
  let inputs: string;
  let messages: FixtureMessage[];
  let lake: Lake;
  const load = (...args: string[]) => runScript("workers/cli/dims-load.ts", args, { LAKE_DIR: lakeDir });
  const csv = async (name: string, header: string[], rows: string[][]) => {
    const path = join(inputs, name);
    await writeFile(path, stringify([header, ...rows]));
    return path;
  };
  // Version B: every tenth customer moves to "enterprise", the last 100 leave, one new customer arrives.
  const customersA = simCustomerRows();
  const customersB = [...customersA.slice(0, -100).map((row, i) => (i % 10 === 0 ? [row[0]!, "enterprise", ...row.slice(2)] : row)), ["c-99999", "student", "false", "", ""]];
  const signature = (rows: string[][]) => [String(rows.length), String(rows.filter((r) => r[1] === "enterprise").length)];

  beforeAll(async () => {
    lakeDir = tempDir("dims-lake");
    inputs = tempDir("dims-inputs");
    messages = await writeLakeFixture({ lakeDir, seed: 7, count: 3_000, startMs: Date.parse("2026-11-20T10:00:00Z"), partitions: 2, ratePerSecond: 5 });
    lake = await openLake(lakeDir, { timeoutMs: 10_000, maxRows: 100_000, refreshIntervalMs: 0 });
  });
  afterAll(() => lake?.close());

  it("loads CSV, says what changed, and orders_enriched joins both dimensions (UNKNOWN and not premium when missing)", async () => {
    const run = await load("--customers", await csv("a.csv", CUSTOMER_HEADER, customersA), "--products", await csv("p.csv", PRODUCT_HEADER, simProductRows()));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^dim_customer: 5000 added, 0 removed, 0 updated, 0 unchanged .*version [0-9a-f]{16} \(5000 rows\)$/m);
    expect(run.stdout).toMatch(/^dim_product: 200 added, 0 removed, 0 updated/m);
    const again = await load("--customers", join(inputs, "a.csv"));
    expect(again.stdout).toMatch(/^dim_customer: 0 added, 0 removed, 0 updated, 5000 unchanged; .*, unchanged$/m);

    // The truth: the lake's de-duplicated orders joined by hand with the rows written.
    const segments = new Map(customersA.map((r) => [r[0]!, r]));
    const seen = new Set<string>();
    const expected = new Map<string, number>();
    for (const m of [...messages].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
      if (!m.decoded.ok || seen.has(m.decoded.order.orderId)) continue;
      seen.add(m.decoded.order.orderId);
      const customer = m.decoded.order.customerId === null ? undefined : segments.get(m.decoded.order.customerId);
      const key = `${customer?.[1] ?? "UNKNOWN"}/${customer?.[2] ?? "false"}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    await lake.refresh();
    const { rows } = await lake.query("SELECT segment || '/' || is_premium, count(*) FROM orders_enriched GROUP BY 1 ORDER BY 1");
    expect(Object.fromEntries(rows.map(([k, n]) => [k, Number(n)]))).toEqual(Object.fromEntries([...expected].sort()));
    expect(expected.has("UNKNOWN/false")).toBe(true);
    const named = await lake.query("SELECT count(*) FROM orders_enriched WHERE product_name IS NULL AND product_id <> 'UNKNOWN'");
    expect(named.rows).toEqual([["0"]]);
    expect((await lake.query("SELECT count(*) FROM orders_enriched")).rows).toEqual((await lake.query("SELECT count(*) FROM orders")).rows);
  });

  it("refuses bad rows (missing id, unknown boolean, duplicate key) with file:line:column and replaces nothing", async () => {
    const manifest = await readFile(join(lakeDir, "dims", "dim_customer", "_versions.json"), "utf8");
    const bad = await csv("bad.csv", CUSTOMER_HEADER, [["c-1", "consumer", "true", "", ""], ["", "consumer", "true", "", ""], ["c-2", "consumer", "maybe", "", ""], ["c-1", "student", "no", "", ""]]);
    const goodProducts = await csv("p2.csv", PRODUCT_HEADER, [["p-1", "Mug", "coffee", "3.00"]]);
    const run = await load("--customers", bad, "--products", goodProducts);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${bad}:3:1: customer_id is missing`);
    expect(run.stderr).toContain(`${bad}:4:3: is_premium "maybe" is not a boolean`);
    expect(run.stderr).toContain(`${bad}:5:1: duplicate customer_id "c-1" (first at line 2)`);
    expect(run.stdout).toBe("");
    // Nothing replaced: not the customers, and not the valid products given with them.
    expect(await readFile(join(lakeDir, "dims", "dim_customer", "_versions.json"), "utf8")).toBe(manifest);
    await lake.refresh();
    expect((await lake.query("SELECT count(*) FROM dim_customer")).rows).toEqual([["5000"]]);
    expect((await lake.query("SELECT count(*) FROM dim_product")).rows).toEqual([["200"]]);
    const broken = join(inputs, "broken.csv");
    await writeFile(broken, 'customer_id,segment,is_premium,signup_date,home_country\nc-1,"consumer,true,,\n');
    const unparsable = await load("--customers", broken);
    expect(unparsable.code).toBe(2);
    expect(unparsable.stderr).toContain(`${broken}:2: not valid CSV: Quote Not Closed`);
  });

  it("replaces a dimension atomically while queries run: each sees the old version or the new one, whole", async () => {
    const fileA = join(inputs, "a.csv");
    const fileB = await csv("b.csv", CUSTOMER_HEADER, customersB);
    const allowed = [JSON.stringify(signature(customersA)), JSON.stringify(signature(customersB))];
    const seen: string[] = [];
    const version = async () =>
      JSON.stringify((await lake.query("SELECT count(*), count(*) FILTER (WHERE segment = 'enterprise') FROM dim_customer, (SELECT count(*) FROM orders_enriched)")).rows[0]);
    let loading = true;
    const queries = (async () => {
      while (loading) seen.push(await version());
    })();
    try {
      for (const file of [fileB, fileA, fileB]) {
        const run = await load("--customers", file);
        expect(run.code, run.stderr).toBe(0);
      }
    } finally {
      loading = false;
      await queries;
    }
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.filter((s) => !allowed.includes(s))).toEqual([]);
    expect(new Set(seen).size).toBe(2);
    // The last query of the loop may have started before the last load finished (a CI run saw A there):
    // a query after it sees B.
    await lake.refresh();
    expect(await version()).toBe(allowed[1]);
    const manifest = JSON.parse(await readFile(join(lakeDir, "dims", "dim_customer", "_versions.json"), "utf8")) as { versions: { version: string }[] };
    // Every version stays: A, B, A again, B again (a replay reads the one its windows recorded).
    expect(manifest.versions.map((v) => v.version)).toHaveLength(4);
    expect(new Set(manifest.versions.map((v) => v.version)).size).toBe(2);
  });

  it("loads Parquet the same way as CSV", async () => {
    const parquet = join(inputs, "c.parquet");
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    // Typed columns, as another tool would write them: BOOLEAN and DATE read back as the CSV's text.
    await connection.run(
      `COPY (SELECT customer_id, segment, CAST(is_premium AS BOOLEAN) AS is_premium, CAST(signup_date AS DATE) AS signup_date, home_country
             FROM read_csv('${join(inputs, "a.csv")}', all_varchar = true)) TO '${parquet}' (FORMAT parquet)`,
    );
    connection.closeSync();
    instance.closeSync();
    const run = await load("--customers", parquet);
    expect(run.code, run.stderr).toBe(0);
    // Back to version A's content (the same version id as the CSV gave): the changes from B are reported, no new file is needed.
    expect(run.stdout).toMatch(/^dim_customer: 100 added, 1 removed, \d+ updated/m);
    const manifest = JSON.parse(await readFile(join(lakeDir, "dims", "dim_customer", "_versions.json"), "utf8")) as { versions: { version: string }[] };
    expect(manifest.versions.at(-1)!.version).toBe(manifest.versions[0]!.version);
    await lake.refresh();
    expect((await lake.query("SELECT count(*), count(*) FILTER (WHERE segment = 'enterprise') FROM dim_customer")).rows[0]).toEqual(signature(customersA));
  });
});
