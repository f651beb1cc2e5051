import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeLakeFixture, type FixtureMessage } from "./support/batch-lake.ts";
import { ROOT, runScript, tempDir } from "./support/processes.ts";

describe("query CLI", () => {
  let lakeDir: string;
  let messages: FixtureMessage[];
  const query = (args: string[]) => runScript("workers/cli/query.ts", args, { LAKE_DIR: lakeDir, BUSINESS_TZ: "UTC" });

  /** Orders per country after de-duplication, from the generator's messages. */
  function ordersByCountry(): Map<string, number> {
    const seen = new Set<string>();
    const counts = new Map<string, number>();
    for (const m of [...messages].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
      if (!m.decoded.ok || seen.has(m.decoded.order.orderId)) continue;
      seen.add(m.decoded.order.orderId);
      counts.set(m.decoded.order.country, (counts.get(m.decoded.order.country) ?? 0) + 1);
    }
    return counts;
  }

  beforeAll(async () => {
    lakeDir = tempDir("query-cli");
    messages = await writeLakeFixture({ lakeDir, seed: 5, count: 3_000, startMs: Date.parse("2026-11-20T10:00:00Z"), partitions: 3, ratePerSecond: 2 });
  });
  afterAll(async () => {
    if (lakeDir) await rm(lakeDir, { recursive: true, force: true });
  });

  const SQL = "SELECT country, count(*) AS orders FROM orders GROUP BY country ORDER BY orders DESC, country LIMIT 3";

  it("prints an aligned table with a row count", async () => {
    const run = await query([SQL]);
    expect(run.code, run.stderr).toBe(0);
    const top = [...ordersByCountry()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 3);
    const width = Math.max(7, ...top.map(([c]) => c.length));
    const numbers = Math.max(6, ...top.map(([, n]) => String(n).length));
    expect(run.stdout).toBe(
      [
        `${"country".padEnd(width)} | ${"orders".padStart(numbers)}`,
        `${"-".repeat(width)}-+-${"-".repeat(numbers)}`,
        ...top.map(([country, n]) => `${country.padEnd(width)} | ${String(n).padStart(numbers)}`),
        "(3 rows)",
        "",
      ].join("\n"),
    );
  });

  it("prints CSV with --csv, and says on stderr when --max-rows cut it off", async () => {
    const run = await query(["--csv", "--max-rows", "2", "SELECT country, count(*) AS orders FROM orders GROUP BY country ORDER BY orders DESC, country"]);
    expect(run.code, run.stderr).toBe(0);
    const top = [...ordersByCountry()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 2);
    expect(run.stdout).toBe(`country,orders\n${top.map(([c, n]) => `${c},${n}`).join("\n")}\n`);
    expect(run.stderr).toMatch(/output cut off after 2 rows \(--max-rows 2\)/);

    const table = await query(["--max-rows", "1", "SELECT * FROM range(5)"]);
    expect(table.stdout).toMatch(/\(1 row; more were cut off by --max-rows 1\)\n$/);
  });

  it("reads the query from stdin with -", () => {
    const run = spawnSync(join(ROOT, "node_modules/.bin/tsx"), [join(ROOT, "workers/cli/query.ts"), "--csv", "-"], {
      cwd: ROOT,
      env: { ...process.env, LAKE_DIR: lakeDir },
      input: "SELECT count(*) AS orders\nFROM orders",
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(`orders\n${[...ordersByCountry().values()].reduce((a, b) => a + b, 0)}\n`);
  });

  it("refuses a hostile query with a readable message and a non-zero exit, and writes nothing", async () => {
    const target = join(lakeDir, "..", `stolen-${process.pid}.csv`);
    const copy = await query([`COPY orders TO '${target}'`]);
    expect(copy.code).toBe(1);
    expect(copy.stderr.trim()).toMatch(/^query refused: only SELECT queries are allowed/);
    expect(copy.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(existsSync(target)).toBe(false);

    const read = await query(["SELECT * FROM read_csv('/etc/passwd')"]);
    expect(read.code).toBe(1);
    expect(read.stderr).toMatch(/query refused: table function read_csv is not allowed/);
  });

  it("reports a failing query (syntax, unknown column) with DuckDB's message", async () => {
    const syntax = await query(["SELEC 1"]);
    expect(syntax.code).toBe(1);
    // Once: the sandbox's `query failed:` is not wrapped in a second one.
    expect(syntax.stderr).toMatch(/^query failed: Parser Error: syntax error at or near "SELEC"$/m);
    expect(syntax.stderr).not.toMatch(/query failed: query failed/);
    const column = await query(["SELECT no_such_column FROM orders"]);
    expect(column.code).toBe(1);
    expect(column.stderr).toMatch(/query failed: .*no_such_column/);
  });

  it("takes SQL that starts with a -- comment for the query, and runs a dynamic PIVOT", async () => {
    const commented = await query(["--csv", "-- orders per country\nSELECT count(*) AS orders FROM orders"]);
    expect(commented.code, commented.stderr).toBe(0);
    expect(commented.stdout).toBe(`orders\n${[...ordersByCountry().values()].reduce((a, b) => a + b, 0)}\n`);
    const pivot = await query(["--csv", "PIVOT (SELECT country FROM orders) ON country USING count(*)"]);
    expect(pivot.code, pivot.stderr).toBe(0);
    const counts = ordersByCountry();
    const [header, values] = pivot.stdout.trim().split("\n");
    expect(header!.split(",")).toEqual([...counts.keys()].sort());
    expect(values!.split(",").map(Number)).toEqual([...counts.keys()].sort().map((c) => counts.get(c)));
  });

  it("stops a query at --timeout and --memory-limit with a clear message", async () => {
    const slow = await query(["--timeout", "1s", "SELECT count(*) FROM range(1000000000000)"]);
    expect(slow.code).toBe(1);
    expect(slow.stderr.trim()).toBe("query stopped at the 1 s time limit");
    const big = await query(["--memory-limit", "512MB", "SELECT length(list_concat(range(10000000), range(10000000)))"]);
    expect(big.code).toBe(1);
    expect(big.stderr.trim()).toBe("query stopped at the 512 MB memory limit");
  });

  it("kills the query's process within a second of Ctrl-C", async () => {
    const cli = spawn(process.execPath, ["--import", "tsx", join(ROOT, "workers/cli/query.ts"), "SELECT levenshtein(repeat('a', 200000), repeat('b', 200000))"], {
      cwd: ROOT,
      env: { ...process.env, LAKE_DIR: lakeDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    cli.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((done) => cli.on("exit", (code) => done(code)));
    const childrenOf = (pid: number) =>
      readdirSync("/proc")
        .filter((name) => /^\d+$/.test(name))
        .filter((name) => {
          try {
            return readFileSync(`/proc/${name}/stat`, "utf8").replace(/^.*\) /, "").split(" ")[1] === String(pid);
          } catch {
            return false;
          }
        })
        .map(Number);
    // The query process is the CLI's child; it is busy once its CPU time grows.
    let queryPid: number | undefined;
    const cpuTicks = (pid: number) => {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
      return Number(fields[11]) + Number(fields[12]);
    };
    for (let waited = 0; waited < 30_000 && queryPid === undefined; waited += 100) {
      await new Promise((done) => setTimeout(done, 100));
      queryPid = childrenOf(cli.pid!).find((pid) => {
        try {
          return cpuTicks(pid) > 150; // well past start-up: running the query
        } catch {
          return false;
        }
      });
    }
    expect(queryPid, stderr).toBeDefined();
    const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
    cli.kill("SIGINT");
    const interrupted = Date.now();
    while (alive(queryPid!) && Date.now() - interrupted < 5_000) await new Promise((done) => setTimeout(done, 20));
    expect(Date.now() - interrupted).toBeLessThan(1_000);
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/interrupted; the query was stopped/);
  });

  it("exits 2 on bad arguments", async () => {
    const run = await query(["--max-rows", "lots", "SELECT 1"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--max-rows.*expected a whole number/);
    const timeout = await query(["--timeout", "soon", "SELECT 1"]);
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toMatch(/not a duration/);
  });
});
