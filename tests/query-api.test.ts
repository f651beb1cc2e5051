/**
 * The SQL API's route handlers, called as Next.js calls them (a Request in, a
 * Response out) over a real lake and real query processes.
 */
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeLakeFixture } from "./support/batch-lake.ts";
import { tempDir } from "./support/processes.ts";
import { queryService } from "../workers/shared/query-service.ts";

let lakeDir: string;
let POST: (request: Request) => Promise<Response>;
let CSV: (request: Request) => Promise<Response>;
let CANCEL: (request: Request) => Promise<Response>;
let HISTORY: () => Response;
let SCHEMA: (request: Request) => Promise<Response>;

const BASE = "http://localhost:3000";
const post = (body: unknown, init: RequestInit = {}) =>
  POST(new Request(`${BASE}/api/query`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" }, ...init }));
const csv = (sql: string) => CSV(new Request(`${BASE}/api/query.csv?${new URLSearchParams({ sql })}`));

beforeAll(async () => {
  lakeDir = tempDir("query-api");
  await writeLakeFixture({ lakeDir, seed: 7, count: 3_000, startMs: Date.parse("2026-11-20T10:00:00Z"), partitions: 3, ratePerSecond: 2 });
  process.env.LAKE_DIR = lakeDir;
  process.env.QUERY_TIMEOUT = "5s";
  process.env.QUERY_MEMORY_LIMIT = "512MB";
  process.env.QUERY_EXPORT_MAX_ROWS = "2500";
  POST = (await import("../app/api/query/route.ts")).POST;
  CSV = (await import("../app/api/query.csv/route.ts")).GET;
  CANCEL = (await import("../app/api/query/cancel/route.ts")).POST;
  HISTORY = (await import("../app/api/query/history/route.ts")).GET;
  SCHEMA = (await import("../app/api/query/schema/route.ts")).GET;
});
afterAll(async () => {
  queryService().runner.close();
  if (lakeDir) await rm(lakeDir, { recursive: true, force: true });
});

/** The CSV as DuckDB reads it (an independent reader): every field as text, an empty field as NULL. */
async function readCsv(text: string): Promise<{ header: string[]; rows: (string | null)[][] }> {
  const path = join(lakeDir, "..", `query-api-${process.pid}.csv`);
  await writeFile(path, text);
  const db = await DuckDBInstance.create(":memory:");
  const connection = await db.connect();
  try {
    const result = await connection.runAndReadAll(`SELECT * FROM read_csv('${path}', header = true, all_varchar = true)`);
    return { header: result.columnNames(), rows: result.getRows().map((row) => row.map((v) => (v === null ? null : String(v)))) };
  } finally {
    connection.closeSync();
    db.closeSync();
    await rm(path, { force: true });
  }
}

describe("POST /api/query", () => {
  it("answers columns, rows, the whole result's row count, truncated and elapsedMs", async () => {
    const response = await post({ sql: "SELECT order_id, amount FROM orders ORDER BY order_id", limit: 100 });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.columns).toEqual([
      { name: "order_id", type: "VARCHAR" },
      { name: "amount", type: "DECIMAL(18,2)" },
    ]);
    expect(body.rows).toHaveLength(100);
    const total = await (await post({ sql: "SELECT count(*) FROM orders" })).json();
    expect(body.rowCount).toBe(Number(total.rows[0][0]));
    expect(body).toMatchObject({ truncated: true, rowCountExact: true });
    expect(typeof body.elapsedMs).toBe("number");
  });

  it.each([
    ["SELECT * FROM read_csv('/etc/passwd')", 400, "refused", /^query refused: table function read_csv is not allowed/],
    ["COPY orders TO '/tmp/x.csv'", 400, "refused", /^query refused: only SELECT queries are allowed/],
    ["SELECT current_setting('allowed_paths')", 400, "refused", /^query refused: current_setting may read only/],
    ["SELECT no_such_column FROM orders", 400, "failed", /^query failed: .*no_such_column/],
    ["SELECT length(list_concat(range(10000000), range(10000000)))", 422, "memory_limit", /^query stopped at the 512 MB memory limit$/],
    ["SELECT count(*) FROM range(1000000000000)", 422, "time_limit", /^query stopped at the 5 s time limit$/],
  ])("answers %s with %i %s and the sandbox's message", async (sql, status, code, message) => {
    const response = await post({ sql });
    expect(response.status).toBe(status);
    const body = await response.json();
    expect(body.error.code).toBe(code);
    expect(body.error.message).toMatch(message);
    expect(body.error.message).not.toContain(lakeDir);
  });

  it("refuses a malformed request with 400 bad_request", async () => {
    for (const body of [{}, { sql: "" }, { sql: "SELECT 1", limit: -1 }, { sql: 42 }]) {
      const response = await post(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await response.json()).error.code).toBe("bad_request");
    }
  });

  it("stops a running query when the request is aborted, and by the cancel endpoint", async () => {
    const slow = "SELECT levenshtein(repeat('a', 80000), repeat('b', 80000))";
    const abort = new AbortController();
    const aborted = post({ sql: slow }, { signal: abort.signal });
    await new Promise((done) => setTimeout(done, 300));
    const started = Date.now();
    abort.abort();
    const response = await aborted;
    expect(response.status).toBe(499);
    expect(Date.now() - started).toBeLessThan(1_000);

    const named = post({ sql: slow, id: "cancel-me" });
    await new Promise((done) => setTimeout(done, 300));
    const cancel = await CANCEL(new Request(`${BASE}/api/query/cancel`, { method: "POST", body: JSON.stringify({ id: "cancel-me" }) }));
    expect(await cancel.json()).toEqual({ cancelled: true });
    expect((await named).status).toBe(499);
    expect((await (await post({ sql: "SELECT 42" })).json()).rows).toEqual([[42]]);
  });

  it("keeps a history of queries with status, duration and rows", async () => {
    await post({ sql: "SELECT 7 AS seven" });
    const { entries } = await HISTORY().json();
    expect(entries[0]).toMatchObject({ sql: "SELECT 7 AS seven", status: "ok", rows: 1, kind: "json" });
    expect(entries.some((e: { status: string }) => e.status === "refused")).toBe(true);
    expect(entries.some((e: { status: string }) => e.status === "cancelled")).toBe(true);
  });
});

describe("GET /api/query.csv", () => {
  it("streams the same rows as the JSON answer", async () => {
    const sql = "SELECT order_id, customer_id, country, amount, event_time, raw FROM orders ORDER BY order_id LIMIT 2000";
    const json = await (await post({ sql, limit: 100_000 })).json();
    const response = await csv(sql);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/csv/);
    const { header, rows } = await readCsv(await response.text());
    expect(header).toEqual(json.columns.map((c: { name: string }) => c.name));
    expect(rows).toEqual(json.rows.map((row: unknown[]) => row.map((v) => (v === null ? null : String(v)))));
  });

  it("stops at QUERY_EXPORT_MAX_ROWS and says so on the last line", async () => {
    const text = await (await csv("SELECT * FROM range(10000)")).text();
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(1 + 2_500 + 1);
    expect(lines.at(-1)).toBe("# stopped at QUERY_EXPORT_MAX_ROWS (2500 rows); the result has more");
    const whole = (await (await csv("SELECT * FROM range(2500)")).text()).trimEnd().split("\n");
    expect(whole).toHaveLength(1 + 2_500);
  });

  it("answers hostile SQL with the JSON error and its status", async () => {
    const response = await csv("SELECT * FROM read_text('/etc/passwd')");
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toMatch(/table function read_text is not allowed/);
  });
});

describe("GET /api/query/schema", () => {
  it("lists every view with its columns and row count", async () => {
    const { views } = await (await SCHEMA(new Request(`${BASE}/api/query/schema`))).json();
    const orders = views.find((v: { name: string }) => v.name === "orders");
    const count = await (await post({ sql: "SELECT count(*) FROM orders" })).json();
    expect(orders.rows).toBe(Number(count.rows[0][0]));
    expect(orders.columns.map((c: { name: string }) => c.name)).toContain("event_time");
  });
});
