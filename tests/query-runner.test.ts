import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeLakeFixture } from "./support/batch-lake.ts";
import { tempDir } from "./support/processes.ts";
import { openLake } from "../workers/shared/lake-query.ts";
import {
  QueryBusyError,
  QueryCancelledError,
  QueryLimitError,
  QueryProcessError,
  QueryRunner,
  residentBytes,
  type QueryRunnerOptions,
} from "../workers/shared/query-runner.ts";
import { QueryRejectedError } from "../lib/lake/statement-gate.ts";

const MEMORY_LIMIT = 512e6;
/** RSS is sampled every 20 ms by the runner and every 5 ms here: what a process can add between two samples. */
const RSS_MARGIN = 128e6;

const runners: QueryRunner[] = [];
let lakeDir: string;

function runner(options: Partial<QueryRunnerOptions> = {}): QueryRunner {
  const made = new QueryRunner({ lakeDir, timeoutMs: 10_000, memoryLimitBytes: MEMORY_LIMIT, concurrency: 1, spares: 1, ...options });
  runners.push(made);
  return made;
}

/** Samples the RSS of every process `runner` has, every 5 ms, until stopped; the peak in bytes. */
function watchPeak(target: QueryRunner): { stop: () => number } {
  let peak = 0;
  const sample = () => {
    for (const pid of target.pids()) peak = Math.max(peak, residentBytes(pid) ?? 0);
  };
  // A first sample at once: a query that the data limit stops within milliseconds can end
  // before a loaded machine runs the first timer tick, and the peak would read 0.
  sample();
  const timer = setInterval(sample, 5);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as Error);

beforeAll(async () => {
  lakeDir = tempDir("query-runner");
  await writeLakeFixture({ lakeDir, seed: 11, count: 2_000, startMs: Date.parse("2026-11-20T10:00:00Z"), partitions: 3, ratePerSecond: 2 });
});
afterAll(async () => {
  for (const r of runners) r.close();
  if (lakeDir) await rm(lakeDir, { recursive: true, force: true });
});

describe("the query runner", () => {
  it("answers what the in-process sandbox answers, in pages, with the whole result's row count", async () => {
    const direct = await openLake(lakeDir, { timeoutMs: 10_000, maxRows: 10 });
    const expected = (await direct.query("SELECT count(*), count(DISTINCT customer_id), max(event_time) FROM orders")).rows;
    direct.close();
    const r = runner({ pageRows: 100 });
    expect((await r.query("SELECT count(*), count(DISTINCT customer_id), max(event_time) FROM orders", { maxRows: 10 })).rows).toEqual(expected);

    const pages: number[] = [];
    const summary = await r.stream("SELECT * FROM range(48112)", { maxRows: 1_000, countForMs: 5_000, onRows: (rows) => void pages.push(rows.length) });
    expect(pages.reduce((a, b) => a + b, 0)).toBe(1_000);
    expect(Math.max(...pages)).toBeLessThanOrEqual(100);
    expect(summary).toMatchObject({ rowCount: 48_112, rowCountExact: true, truncated: true });
    expect(summary.columns).toEqual([{ name: "range", type: "BIGINT" }]);
  });

  it("runs a dynamic PIVOT, and refuses a hostile one", async () => {
    const r = runner();
    const pivot = await r.query("PIVOT orders ON country USING count(*) GROUP BY channel ORDER BY channel", { maxRows: 100 });
    const direct = await openLake(lakeDir, { timeoutMs: 10_000, maxRows: 100 });
    const countries = (await direct.query("SELECT DISTINCT country FROM orders ORDER BY country")).rows.map(([c]) => c);
    direct.close();
    expect(pivot.columns.map((c) => c.name)).toEqual(["channel", ...countries]);
    const hostile = await errorOf(r.query("PIVOT (SELECT 1 AS c) ON c USING sum(write_log('x'))", { maxRows: 1 }));
    expect(hostile).toBeInstanceOf(QueryRejectedError);
    expect(hostile!.message).toMatch(/function write_log is not allowed/);
  });

  it("never shows where the lake sits: views, settings and messages name lake-relative paths", async () => {
    const r = runner();
    const views = await r.query("SELECT string_agg(sql, ' ') FROM duckdb_views() WHERE NOT internal", { maxRows: 1 });
    const text = String(views.rows[0]![0]);
    expect(text).toMatch(/'orders\/event_date=\d{4}-\d{2}-\d{2}\/event_hour=\d\d\/part-/);
    expect(text).not.toContain(lakeDir);
    const setting = await errorOf(r.query("SELECT current_setting('allowed_paths')", { maxRows: 1 }));
    expect(setting).toBeInstanceOf(QueryRejectedError);
    for (const sql of ["SELECT current_setting('home_directory')", "SELECT current_setting(lower('ALLOWED_PATHS'))"])
      expect(await errorOf(r.query(sql, { maxRows: 1 })), sql).toBeInstanceOf(QueryRejectedError);
    const file = String((await r.query("SELECT path FROM lake_files WHERE kind = 'orders' LIMIT 1", { maxRows: 1 })).rows[0]![0]);
    const missing = await errorOf(r.query(`SELECT * FROM '${file.replace(".parquet", "-gone.parquet")}'`, { maxRows: 1 }));
    expect(missing!.message).not.toContain(lakeDir);
  });

  it.each([
    ["list growth", "SELECT length(list_concat(range(10000000), range(10000000)))"],
    ["a ten times larger list", "SELECT length(list_concat(range(100000000), range(100000000)))"],
    ["string growth", "SELECT length(string_agg(repeat('x', 1000), '')) FROM range(2000000)"],
    ["one huge string", "SELECT length(repeat('abcdefgh', 200000000))"],
  ])("stops %s at the memory limit, never holding more, and the next query works at once", async (_name, sql) => {
    const r = runner();
    await r.query("SELECT 1", { maxRows: 1 });
    const watch = watchPeak(r);
    const started = Date.now();
    const error = await errorOf(r.query(sql, { maxRows: 10 }));
    const peak = watch.stop();
    expect(error).toBeInstanceOf(QueryLimitError);
    expect(error!.message).toBe("query stopped at the 512 MB memory limit");
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(MEMORY_LIMIT + RSS_MARGIN);
    const next = Date.now();
    expect((await r.query("SELECT 42 AS answer", { maxRows: 1 })).rows).toEqual([[42]]);
    expect(Date.now() - next).toBeLessThan(1_000);
  });

  it.each([
    ["an endless scan (DuckDB's interrupt)", "SELECT count(*) FROM range(1000000000000)"],
    ["a scalar function that ignores the interrupt (SIGKILL)", "SELECT levenshtein(repeat('a', 60000), repeat('b', 60000))"],
  ])("stops %s at the time limit, and the next query works at once", async (_name, sql) => {
    const r = runner({ timeoutMs: 1_000 });
    await r.query("SELECT 1", { maxRows: 1 });
    const started = Date.now();
    const error = await errorOf(r.query(sql, { maxRows: 10 }));
    expect(error).toBeInstanceOf(QueryLimitError);
    expect(error!.message).toBe("query stopped at the 1 s time limit");
    expect(Date.now() - started).toBeLessThan(2_500);
    const next = Date.now();
    expect((await r.query("SELECT 42 AS answer", { maxRows: 1 })).rows).toEqual([[42]]);
    expect(Date.now() - next).toBeLessThan(1_000);
  });

  it("gives ten concurrent queries an answer or 'busy', never a crash, and answers the next", async () => {
    const r = runner({ concurrency: 2, queueLimit: 3 });
    await r.query("SELECT 1", { maxRows: 1 });
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        r.query(`SELECT ${i} AS i, count(*) AS n FROM range(30000000)`, { maxRows: 1 }).then(
          (answer) => answer.rows[0],
          (error: unknown) => error,
        ),
      ),
    );
    const answered = outcomes.filter(Array.isArray);
    const busy = outcomes.filter((o) => o instanceof QueryBusyError);
    expect(answered.length + busy.length).toBe(10);
    expect(answered.length).toBe(5); // 2 running + 3 queued
    for (const row of answered) expect(row![1]).toBe("30000000");
    expect((busy[0] as Error).message).toMatch(/^busy: 2 queries running and 3 waiting/);
    expect((await r.query("SELECT 42", { maxRows: 1 })).rows).toEqual([[42]]);
  });

  it("cancels a running query by killing its process, and the next query works at once", async () => {
    const r = runner({ timeoutMs: 60_000 });
    await r.query("SELECT 1", { maxRows: 1 });
    const before = r.pids();
    const abort = new AbortController();
    const running = errorOf(r.query("SELECT levenshtein(repeat('a', 80000), repeat('b', 80000))", { maxRows: 1, signal: abort.signal }));
    await new Promise((done) => setTimeout(done, 300));
    abort.abort();
    const started = Date.now();
    expect(await running).toBeInstanceOf(QueryCancelledError);
    expect(Date.now() - started).toBeLessThan(1_000);
    // One of the processes that existed before was killed (and replaced).
    expect(before.filter((pid) => r.pids().includes(pid)).length).toBe(before.length - 1);
    expect((await r.query("SELECT 42", { maxRows: 1 })).rows).toEqual([[42]]);
  });

  it("answers every waiting query with a clear error when the lake cannot be read, without showing its path", async () => {
    const broken = tempDir("query-runner-broken");
    await mkdir(join(broken, "_commits"), { recursive: true });
    await writeFile(join(broken, "_commits", "partition=0.json"), "not a marker");
    const r = new QueryRunner({ lakeDir: broken, timeoutMs: 10_000, memoryLimitBytes: MEMORY_LIMIT, concurrency: 1, spares: 0 });
    runners.push(r);
    const errors = await Promise.all([1, 2, 3].map((n) => errorOf(r.query(`SELECT ${n}`, { maxRows: 1 }))));
    for (const error of errors) {
      expect(error).toBeInstanceOf(QueryProcessError);
      expect(error!.message).toMatch(/cannot open the lake: cannot read commit marker _commits\/partition=0.json/);
      expect(error!.message).not.toContain(broken);
    }
    await rm(broken, { recursive: true, force: true });
  });

  it("answers an empty lake when the lake folder does not exist yet", async () => {
    const r = new QueryRunner({ lakeDir: `${lakeDir}-not-yet`, timeoutMs: 10_000, memoryLimitBytes: MEMORY_LIMIT, concurrency: 1, spares: 0 });
    runners.push(r);
    expect((await r.query("SELECT count(*) FROM orders", { maxRows: 1 })).rows).toEqual([["0"]]);
  });
});
