/**
 * A newcomer's first commands: `--help` everywhere without touching anything, every bad variable in one
 * message, `.env` read with the shell winning, and one line (no stack, no flood) plus a non-zero exit for an
 * unreachable broker or InfluxDB, a busy port and a LAKE_DIR that is a file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENV_VARIABLES } from "../lib/contract/config.ts";
import { freePort } from "../scripts/free-port.ts";
import { ROOT, runCommand, servicesEnv, tempDir } from "./support/processes.ts";

const TSX = import.meta.resolve("tsx");

/** The environment without any orderpulse setting of the developer's shell, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const own = new Set([...Object.keys(ENV_VARIABLES), "KAFKA_MOCK_CONTROL", "ORDERPULSE_STATE_DIR"]);
  const base = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !own.has(k) && !k.startsWith("npm_")));
  return { ...base, ...env } as NodeJS.ProcessEnv;
}

/** Runs a command to completion in `cwd` (the process reads `.env` from there), without the shell's orderpulse settings. */
const run = (command: string, args: string[], env: Record<string, string>, cwd = ROOT) => runCommand(command, args, { env: cleanEnv(env), cwd, timeoutMs: 60_000 });

const script = (path: string, args: string[], env: Record<string, string>, cwd = ROOT) => run(process.execPath, ["--import", TSX, join(ROOT, path), ...args], env, cwd);

/** A TCP listener that counts who connects to it: the stand-in address for "must not be contacted". */
async function countingListener(): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as { port: number }).port, connections: () => connections };
}

/** A port nothing listens on. */
const closedPort = freePort;

/** The configuration report a process prints on stderr for these lines. */
const configReport = (...lines: string[]) => [`invalid configuration (${lines.length} bad variables):`, ...lines.map((l) => `  ${l}`), ""].join("\n");

const packageScripts = (): Record<string, string> => (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

describe("--help on every npm entry point", () => {
  let listener: Awaited<ReturnType<typeof countingListener>>;
  beforeAll(async () => {
    listener = await countingListener();
  });
  afterAll(() => listener?.server.close());

  const entryPoints = () => [
    ...["simulate", "worker:metrics", "worker:lake", "worker:feed", "worker:scheduler", "worker:alerts", "query", "lake:compact", "batch:daily", "export", "reconcile"],
    ...Object.keys(packageScripts()).filter((name) => name.startsWith("services:")),
  ];

  it("prints usage and exits 0 without connecting to anything or creating any file", async () => {
    const scripts = packageScripts();
    const state = tempDir("help-state");
    const lakeDir = join(tempDir("help-lake"), "lake");
    const env = {
      KAFKA_BROKERS: `127.0.0.1:${listener.port}`,
      INFLUX_URL: `http://127.0.0.1:${listener.port}`,
      INFLUX_DB: "orderpulse",
      LAKE_DIR: lakeDir,
      ORDERPULSE_STATE_DIR: state,
    };
    const names = entryPoints();
    expect(names.length).toBeGreaterThanOrEqual(11);
    for (const name of names) {
      expect(scripts[name], `npm script ${name}`).toBeDefined();
      const result = await run("npm", ["run", "--silent", name, "--", "--help"], env);
      expect(result.code, `${name} --help: ${result.stderr}`).toBe(0);
      expect(result.stdout, name).toMatch(/^Usage: /m);
      expect(result.stderr, name).toBe("");
    }
    expect(listener.connections()).toBe(0);
    expect(readdirSync(state)).toEqual([]);
    expect(existsSync(lakeDir)).toBe(false);
  });

  it("shows units and defaults with units", async () => {
    const query = await script("workers/cli/query.ts", ["--help"], {});
    expect(query.stdout).toMatch(/--timeout <duration> +stop the query after this long, with a unit: 500ms,\s+30s, 2m \(QUERY_TIMEOUT\) \(default: 30s\)/);
    const metrics = await script("workers/metrics.ts", ["--help"], {});
    expect(metrics.stdout).toMatch(/^ {2}WATERMARK_DELAY +watermark = max event time - this; later events are late \(default 2m\)$/m);
    expect(metrics.stdout).toMatch(/^Exit codes: 0 stopped cleanly; 1 failure/m);
  });

  it("exits 2 on an argument a worker does not take, and on a bad option of a command", async () => {
    const worker = await script("workers/lake.ts", ["--partitions", "3"], {});
    expect(worker.code).toBe(2);
    expect(worker.stderr).toBe('worker:lake: unexpected argument "--partitions": it takes environment variables only (see npm run worker:lake -- --help)\n');
    const compact = await script("workers/cli/lake-compact.ts", ["--grace", "5"], { LAKE_DIR: tempDir("compact-arg") });
    expect(compact.code).toBe(2);
    expect(compact.stderr).toMatch(/^error: option '--grace <duration>' argument '5' is invalid\. "5" has no unit: write 5s for seconds or 5ms for milliseconds/);
  });
});

describe("commands that print", () => {
  it("worker:alerts --check prints the effective rules and exits 0, also into a reader that stops after the first line", async () => {
    const whole = await script("workers/alerts.ts", ["--check"], {});
    expect(whole.code).toBe(0);
    expect(whole.stdout.split("\n")[0]).toBe("interval 10s");
    expect(whole.stdout).toMatch(/^no_orders .*for=5m/m);
    expect(whole.stdout.trimEnd().split("\n")).toHaveLength(8);
    // As a user pipes it: an early-closing reader must not end the command in an unhandled EPIPE (exit 1, stack).
    const cmd = `set -o pipefail; "${process.execPath}" --import "${TSX}" "${join(ROOT, "workers/alerts.ts")}" --check | head -1`;
    const piped = await run("bash", ["-c", cmd], {});
    expect({ code: piped.code, stdout: piped.stdout, stderr: piped.stderr }).toEqual({ code: 0, stdout: "interval 10s\n", stderr: "" });
  });

  it("query prints 200,000 rows as a table, and ends quietly with 0 into a reader that stops after the first line", async () => {
    const lake = join(tempDir("query-print"), "lake");
    const sql = "SELECT range AS n, repeat('x', 200) AS pad FROM range(200000)";
    const note = `query: note: LAKE_DIR=${lake} does not exist, so the lake reads as empty\n`;
    // A table of that many rows once overflowed the call stack (Math.max over every row as arguments).
    const whole = await script("workers/cli/query.ts", ["--max-rows", "200000", sql], { LAKE_DIR: lake });
    expect({ code: whole.code, stderr: whole.stderr }).toEqual({ code: 0, stderr: note });
    expect(whole.stdout.trimEnd().split("\n").at(-1)).toBe("(200000 rows)");
    for (const format of [[], ["--csv"]]) {
      const args = [...format, "--max-rows", "200000", JSON.stringify(sql)].join(" ");
      const cmd = `set -o pipefail; LAKE_DIR=${JSON.stringify(lake)} "${process.execPath}" --import "${TSX}" "${join(ROOT, "workers/cli/query.ts")}" ${args} | head -1`;
      const piped = await run("bash", ["-c", cmd], {});
      expect({ code: piped.code, stdout: piped.stdout, stderr: piped.stderr }).toEqual({ code: 0, stdout: format.length ? "n,pad\n" : "     n | pad\n", stderr: note });
    }
  });
});

describe("configuration", () => {
  it("names every bad variable in one message, with the value given and an example, and exits 2", async () => {
    const result = await script("workers/metrics.ts", [], { KAFKA_BROKERS: "localhost:9092", INFLUX_DB: "orderpulse", WINDOW_SIZE: "abc", WATERMARK_DELAY: "-1", INFLUX_URL: "notaurl", HEALTH_PORT: "99999", ORDERPULSE_STATE_DIR: tempDir("config-state") });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      configReport(
        'WINDOW_SIZE="abc" is not a duration (use e.g. 500ms, 30s, 2m, 1h); e.g. WINDOW_SIZE=1m',
        'WATERMARK_DELAY="-1" is not a duration (use e.g. 500ms, 30s, 2m, 1h); e.g. WATERMARK_DELAY=2m',
        'INFLUX_URL="notaurl" is not an http(s) URL; e.g. INFLUX_URL=http://localhost:8086',
        'HEALTH_PORT="99999" is not a port from 0 to 65535 (0 = any free port); e.g. HEALTH_PORT=9464',
      ),
    );
  });

  it("reads .env (quotes included); the shell wins over .env, and .env over .orderpulse/services.env", async () => {
    const dir = tempDir("dotenv");
    const state = join(dir, "state");
    mkdirSync(state);
    writeFileSync(join(state, "services.env"), "KAFKA_BROKERS=not-a-broker\nKAFKA_TOPIC=bad topic\n");
    writeFileSync(join(dir, ".env"), '# my settings\nKAFKA_TOPIC="also bad!"\nLAKE_ROTATE_ROWS=12.5\nMAX_EVENT_SKEW=60\n');
    const result = await script("workers/lake.ts", [], { MAX_EVENT_SKEW: "soon", ORDERPULSE_STATE_DIR: state }, dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      configReport(
        'KAFKA_BROKERS="not-a-broker" is not a host:port list (each broker is host:port); e.g. KAFKA_BROKERS=localhost:9092',
        'KAFKA_TOPIC="also bad!" is not a Kafka topic name (letters, digits, . _ -); e.g. KAFKA_TOPIC=orders',
        'LAKE_ROTATE_ROWS="12.5" is not a whole number from 1 to 10000000; e.g. LAKE_ROTATE_ROWS=100000',
        'MAX_EVENT_SKEW="soon" is not a duration (use e.g. 500ms, 30s, 2m, 1h); e.g. MAX_EVENT_SKEW=10m',
      ),
    );
  });

  it("takes a good value from .env: a LAKE_DIR there that is a file gets one line and exit 2", async () => {
    const dir = tempDir("dotenv-lake");
    writeFileSync(join(dir, "lake-file"), "not a lake\n");
    writeFileSync(join(dir, ".env"), `KAFKA_BROKERS=127.0.0.1:${await closedPort()}\nLAKE_DIR=lake-file\n`);
    const result = await script("workers/lake.ts", [], { ORDERPULSE_STATE_DIR: join(dir, "state") }, dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`lake: LAKE_DIR=lake-file (${join(dir, "lake-file")}) is a file, not a directory: the lake worker needs a directory (it creates a missing one)\n`);
  });
});

describe("unreachable services and busy ports", () => {
  const local = "is it running? `npm run services:up` starts the local services";

  it("an unreachable broker: one line naming it, its address and variable, retries for CONNECT_TIMEOUT, exit 1", async () => {
    const port = await closedPort();
    const result = await script("workers/metrics.ts", [], { KAFKA_BROKERS: `127.0.0.1:${port}`, INFLUX_URL: "http://127.0.0.1:1", INFLUX_DB: "x", CONNECT_TIMEOUT: "2s" });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`metrics: Kafka at 127.0.0.1:${port} (KAFKA_BROKERS) is not reachable: ECONNREFUSED; ${local}; retrying for 2s, then exiting 1\n`);
    expect(result.ms).toBeGreaterThanOrEqual(1_500); // it did retry, for about CONNECT_TIMEOUT
    const lake = await script("workers/lake.ts", [], { KAFKA_BROKERS: `127.0.0.1:${port}`, LAKE_DIR: tempDir("unreachable-lake"), CONNECT_TIMEOUT: "1s" });
    expect(lake.code).toBe(1);
    expect(lake.stderr).toBe(`lake: Kafka at 127.0.0.1:${port} (KAFKA_BROKERS) is not reachable: ECONNREFUSED; ${local}; retrying for 1s, then exiting 1\n`);
  });

  it("an unreachable InfluxDB: one line, exit 1 (the broker is the test services' real one)", async () => {
    const port = await closedPort();
    const env = { KAFKA_BROKERS: servicesEnv().KAFKA_BROKERS!, INFLUX_URL: `http://127.0.0.1:${port}`, INFLUX_DB: "x", CONNECT_TIMEOUT: "1s", LOG_LEVEL: "warn" };
    const metrics = await script("workers/metrics.ts", [], env);
    expect(metrics.code).toBe(1);
    expect(metrics.stderr).toBe(`metrics: InfluxDB at http://127.0.0.1:${port} (INFLUX_URL) is not reachable: ECONNREFUSED; ${local}; retrying for 1s, then exiting 1\n`);
    const reconcile = await script("workers/cli/reconcile.ts", ["--from", "2026-11-20T00:00:00Z", "--to", "2026-11-20T01:00:00Z"], { ...env, LAKE_DIR: tempDir("unreachable-influx") });
    expect(reconcile.code).toBe(1);
    expect(reconcile.stderr.split("\n").filter((l) => / is not reachable/.test(l))).toEqual([
      `reconcile: InfluxDB at http://127.0.0.1:${port} (INFLUX_URL) is not reachable: ECONNREFUSED; ${local}; retrying for 1s, then exiting 1`,
    ]);
  });

  it("InfluxDB 2.x settings against the local 1.x server are named at start, exit 2", async () => {
    const { INFLUX_URL, KAFKA_BROKERS } = servicesEnv();
    const result = await script("workers/metrics.ts", [], { KAFKA_BROKERS: KAFKA_BROKERS!, INFLUX_URL: INFLUX_URL!, INFLUX_TOKEN: "orderpulse-dev-token", INFLUX_ORG: "orderpulse", INFLUX_BUCKET: "orderpulse", LOG_LEVEL: "warn" });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`^metrics: INFLUX_URL=${INFLUX_URL!.replaceAll(".", "\\.")} is InfluxDB 1\\.[^ ]+, but INFLUX_TOKEN, INFLUX_ORG and INFLUX_BUCKET are InfluxDB 2\\.x settings: unset them and set INFLUX_DB \\(e\\.g\\. INFLUX_DB=orderpulse, as \\.env\\.example has for the local services\\)\\n$`),
    );
  });

  it("a busy HEALTH_PORT or FEED_PORT: one line, exit 1", async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, "0.0.0.0", r));
    const { port } = holder.address() as { port: number };
    try {
      const { KAFKA_BROKERS, INFLUX_URL } = servicesEnv();
      const env = { KAFKA_BROKERS: KAFKA_BROKERS!, INFLUX_URL: INFLUX_URL!, INFLUX_DB: `entry_points_${process.pid}`, LOG_LEVEL: "error" };
      const metrics = await script("workers/metrics.ts", [], { ...env, HEALTH_PORT: String(port) });
      expect(metrics.code).toBe(1);
      expect(metrics.stderr).toBe(`metrics: HEALTH_PORT ${port} is in use (another orderpulse process?): stop it or set HEALTH_PORT to a free port\n`);
      const feed = await script("workers/feed.ts", [], { ...env, FEED_PORT: String(port) });
      expect(feed.code).toBe(1);
      expect(feed.stderr).toBe(`feed: FEED_PORT ${port} is in use (another orderpulse process?): stop it or set FEED_PORT to a free port\n`);
    } finally {
      holder.close();
    }
  });
});
