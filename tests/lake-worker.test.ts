/**
 * The lake worker and the compactor against a real (dev) broker: what lands in
 * the lake and how independent readers see it, invalid messages and offset gaps,
 * the cluster guard, and compaction killed midway under concurrent queries.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { CompressionTypes, Kafka, logLevel, type Producer } from "kafkajs";
import { planCompaction } from "../lib/lake/compaction.ts";
import { committedFiles, isTemporaryPath, selectLiveFiles, serializeCommitMarker } from "../lib/lake/layout.ts";
import { openLake, type Lake } from "../workers/shared/lake-query.ts";
import { listLakeFiles } from "../workers/shared/lake-files.ts";
import { INVALID_TABLE, ORDERS_TABLE } from "../lib/lake/schema.ts";
import { Prng } from "../lib/sim/prng.ts";
import { createTopics, startKafka, stopKafka, type KafkaBroker } from "../scripts/kafka/broker.ts";
import { FAST_RETENTION_BROKER, retentionSettled, SMALL_RETENTION } from "./support/retention.ts";
import { statLakeFiles } from "../workers/shared/lake-files.ts";
import { freePort } from "../scripts/free-port.ts";
import { ROOT, runScript, tempDir } from "./support/processes.ts";
import { sqlLiteral as sqlString } from "../lib/lake/sql.ts";

const TSX = join(ROOT, "node_modules/.bin/tsx");
const SEED = Number(process.env.LAKE_TEST_SEED ?? Date.now() % 100_000);
const RECORD_TIME = Date.parse("2026-11-20T10:00:00.000Z");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child in its own process group, so SIGKILL reaches tsx and the node process it runs. */
class Child {
  readonly child: ChildProcess;
  output = "";
  readonly exited: Promise<number | string>;

  constructor(script: string, env: Record<string, string>, args: string[] = []) {
    this.child = spawn(TSX, [join(ROOT, script), ...args], { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.on("data", (d) => (this.output += d));
    this.child.stderr!.on("data", (d) => (this.output += d));
    this.exited = new Promise((res) => this.child.on("exit", (code, signal) => res(code ?? signal ?? "unknown")));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (!this.running) throw new Error(`exited before ${what}:\n${this.output.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms:\n${this.output.slice(-3000)}`);
      await sleep(50);
    }
  }

  async kill9(): Promise<void> {
    if (this.running) process.kill(-this.child.pid!, "SIGKILL");
    await this.exited;
  }

  async stop(): Promise<number | string> {
    if (this.running) process.kill(this.child.pid!, "SIGTERM");
    return this.exited;
  }
}

async function partitionEnds(bootstrap: string, topic: string): Promise<{ low: number[]; high: number[] }> {
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition);
    return { low: offsets.map((o) => Number(o.low)), high: offsets.map((o) => Number(o.high)) };
  } finally {
    await admin.disconnect();
  }
}

/** True once the lake's marker of every partition has reached the partition's end. */
async function caughtUp(lakeDir: string, high: number[]): Promise<boolean> {
  const { markers } = await listLakeFiles(lakeDir);
  return high.every((end, partition) => end === 0 || markers.get(partition)?.nextOffset === end);
}

const scan = (files: string[]) => `read_parquet([${files.map(sqlString).join(", ")}], hive_partitioning = false)`;

describe("lake worker and compactor on a dev broker", () => {
  let broker: KafkaBroker;
  let dir: string;
  let producer: Producer;
  let duck: DuckDBInstance;
  let db: DuckDBConnection;
  const children: Child[] = [];
  const lakes: Lake[] = [];
  const brokers: KafkaBroker[] = [];

  const start = (script: string, env: Record<string, string>, args: string[] = []) => {
    const child = new Child(script, env, args);
    children.push(child);
    return child;
  };
  const lakeEnv = (lakeDir: string, topic = "orders") => ({ KAFKA_BROKERS: broker.bootstrap, KAFKA_TOPIC: topic, LAKE_DIR: lakeDir, KAFKA_SESSION_TIMEOUT: "6s", LAKE_ROTATE_AGE: "1s", LOG_LEVEL: "info" });
  const rowsOf = async (sql: string) => (await db.runAndReadAll(sql)).getRowsJson();

  /** Runs a lake worker until it holds every message of the topic, then stops it gracefully. */
  async function landAll(lakeDir: string, topic: string, extraEnv: Record<string, string> = {}, whileRunning?: (worker: Child) => Promise<void>): Promise<Child> {
    const { high } = await partitionEnds(broker.bootstrap, topic);
    const worker = start("workers/lake.ts", { ...lakeEnv(lakeDir, topic), ...extraEnv });
    await worker.waitFor(() => caughtUp(lakeDir, high), "catch-up");
    await whileRunning?.(worker);
    expect(await worker.stop(), worker.output.slice(-2000)).toBe(0);
    return worker;
  }

  beforeAll(async () => {
    dir = tempDir("lake-worker");
    // Retention is checked every 500 ms so the gap test's small topic loses its oldest segments quickly.
    broker = await startKafka({ dir: join(dir, "broker"), config: FAST_RETENTION_BROKER, topics: { orders: 4, compact: 8, "orders.dlq": 1, "orders.metrics": 1 } });
    await createTopics(broker.bootstrap, { gappy: 1 }, SMALL_RETENTION);
    brokers.push(broker);
    producer = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    duck = await DuckDBInstance.create(":memory:");
    db = await duck.connect();
    await db.run("SET TimeZone = 'UTC'");
  });
  afterAll(async () => {
    await producer?.disconnect();
    for (const lake of lakes) lake.close();
    db?.closeSync();
    duck?.closeSync();
    for (const child of children) await child.kill9();
    for (const b of brokers) await stopKafka(b);
  });

  const ordersLake = () => join(dir, "lake-orders");
  const text = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value));
  const validOrder = { order_id: "ok-1", customer_id: "c-1", amount: 12.5, quantity: 2, unit_price: 6.25, country: "de", event_time: "2026-11-20T09:59:59.000Z", note: "naïve ✓ 😀" };
  const invalid: { value: Buffer | null; code: string; reason: RegExp }[] = [
    { value: Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), text('{"order_id":"x"}')]), code: "not_utf8", reason: /not valid UTF-8/ },
    { value: null, code: "not_json", reason: /empty message/ },
    { value: text("ORDER;123;4.5"), code: "not_json", reason: /not JSON/ },
    { value: text([1, 2]), code: "not_object", reason: /an array/ },
    { value: text({ ...validOrder, order_id: "neg", amount: -1 }), code: "invalid_field", reason: /amount/ },
    { value: text({ ...validOrder, order_id: "future", event_time: "2026-11-20T12:00:00.000Z" }), code: "event_time_skew", reason: /ahead of the record timestamp/ },
    { value: Buffer.alloc(70_000, 0x41), code: "too_large", reason: /70000 bytes/ },
  ];

  it("writes Parquet files DuckDB reads with the stated types; invalid messages keep their reason and raw bytes", async () => {
    const valid = Array.from({ length: 50 }, (_, i) => text({ ...validOrder, order_id: `ok-${i}` }));
    await producer.send({
      topic: "orders",
      compression: CompressionTypes.GZIP,
      messages: [...valid.map((value) => ({ value })), ...invalid.map(({ value }) => ({ value }))].map((m, i) => ({ ...m, partition: i % 2, timestamp: String(RECORD_TIME) })),
    });
    const port = await freePort();
    await landAll(ordersLake(), "orders", { HEALTH_PORT: String(port) }, async () => {
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/orderpulse_lake_consumed_total\{partition="0",worker="lake"\} 29/);
      expect(metrics).toMatch(/orderpulse_lake_invalid_total\{partition="\d",reason="too_large",worker="lake"\} 1/);
      expect(metrics).toMatch(/orderpulse_lake_rows_written_total\{kind="orders",worker="lake"\} 50/);
      expect(metrics).toMatch(/orderpulse_lake_rows_written_total\{kind="invalid",worker="lake"\} 7/);
      expect(metrics).toMatch(/orderpulse_lake_files_written_total\{kind="orders",worker="lake"\} \d/);
      expect(metrics).toMatch(/orderpulse_lake_flush_seconds_count\{worker="lake"\} [1-9]/);
      expect(metrics).toMatch(/orderpulse_lake_encode_seconds_count\{worker="lake"\} [1-9]/);
      expect(metrics).toMatch(/orderpulse_lake_lag\{partition="0",worker="lake"\} 0/);
      expect(metrics).toMatch(/orderpulse_offset_gaps_total/);
    });

    const { files } = await listLakeFiles(ordersLake());
    const ordersFiles = files.filter((f) => f.kind === "orders").map((f) => resolve(ordersLake(), f.path));
    const invalidFiles = files.filter((f) => f.kind === "invalid").map((f) => resolve(ordersLake(), f.path));
    expect(files.every((f) => f.path.startsWith("orders/event_date=2026-11-20/event_hour=09/") || f.kind === "invalid")).toBe(true);

    // An independent reader, straight from the files: the declared types.
    expect((await rowsOf(`DESCRIBE SELECT * FROM ${scan([ordersFiles[0]!])}`)).map(([name, type]) => [name, type])).toEqual(ORDERS_TABLE.columns.map((c) => [c.name, c.sqlType]));
    expect((await rowsOf(`DESCRIBE SELECT * FROM ${scan([invalidFiles[0]!])}`)).map(([name, type]) => [name, type])).toEqual(INVALID_TABLE.columns.map((c) => [c.name, c.sqlType]));
    const types = Object.fromEntries((await rowsOf(`DESCRIBE SELECT * FROM ${scan([ordersFiles[0]!])}`)).map(([name, type]) => [name, type]));
    expect(types).toMatchObject({ event_time: "TIMESTAMP", ingested_at: "TIMESTAMP", kafka_offset: "BIGINT", kafka_partition: "INTEGER", amount: "DOUBLE", quantity: "INTEGER" });

    expect(await rowsOf(`SELECT order_id, country, quantity, amount, CAST(event_time AS VARCHAR), raw FROM ${scan(ordersFiles)} WHERE order_id = 'ok-7'`)).toEqual([
      ["ok-7", "DE", 2, 12.5, "2026-11-20 09:59:59", JSON.stringify({ ...validOrder, order_id: "ok-7" })],
    ]);

    const read = await db.runAndReadAll(`SELECT kafka_partition, kafka_offset, reason_code, reason, raw, epoch_ms(record_timestamp) FROM ${scan(invalidFiles)} ORDER BY kafka_partition, kafka_offset`);
    const rows = read.getRowObjectsJS();
    expect(rows).toHaveLength(invalid.length);
    // Sent round-robin over two partitions after the 50 valid ones: message i went to partition i % 2.
    const sentAt = (i: number) => ({ partition: (50 + i) % 2, offset: Math.floor((50 + i) / 2) });
    for (const [i, expected] of invalid.entries()) {
      const where = sentAt(i);
      const row = rows.find((r) => r.kafka_partition === where.partition && Number(r.kafka_offset) === where.offset)!;
      expect(row, `invalid message ${i}`).toBeDefined();
      expect(row.reason_code).toBe(expected.code);
      expect(row.reason).toMatch(expected.reason);
      expect(row.raw === null ? null : Buffer.from(row.raw as Uint8Array)).toEqual(expected.value);
      expect(Number(row["epoch_ms(record_timestamp)"])).toBe(RECORD_TIME);
    }
  });

  it("trusts the lake's markers over the group's commits: a new lake reads the whole topic, even when idle", async () => {
    // The group has committed the end of every partition; nothing new arrives.
    const fresh = join(dir, "lake-fresh");
    await landAll(fresh, "orders");
    const lake = await openLake(fresh, { timeoutMs: 10_000, maxRows: 10, refreshIntervalMs: 0 });
    lakes.push(lake);
    expect((await lake.query("SELECT (SELECT count(*) FROM orders_raw), (SELECT count(*) FROM orders_invalid)")).rows).toEqual([["50", String(invalid.length)]]);
  });

  it("refuses, with a clear message, a lake written from another Kafka cluster or topic", async () => {
    const other = await startKafka({ dir: join(dir, "broker-2"), topics: { orders: 4 } });
    brokers.push(other);
    const refused = await runScript("workers/lake.ts", [], { ...lakeEnv(ordersLake()), KAFKA_BROKERS: other.bootstrap }, 60_000);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/refusing to write to the lake at .*lake-orders: its commit marker for partition 0 was written from Kafka cluster "[^"]+" \(this broker is cluster "[^"]+"\)/);
    const wrongTopic = await runScript("workers/lake.ts", [], lakeEnv(ordersLake(), "gappy"), 60_000);
    expect(wrongTopic.code).toBe(3);
    expect(wrongTopic.stderr).toMatch(/topic "orders" \(KAFKA_TOPIC is "gappy"\)/);
    // The lake is untouched and the right broker still works with it.
    expect(await caughtUp(ordersLake(), (await partitionEnds(broker.bootstrap, "orders")).high)).toBe(true);

    // Same cluster and topic, but the lake is past the partition's end: the topic was recreated.
    const { markers } = await listLakeFiles(ordersLake());
    const aheadDir = join(dir, "lake-ahead");
    mkdirSync(join(aheadDir, "_commits"), { recursive: true });
    writeFileSync(join(aheadDir, "_commits/partition=3.json"), serializeCommitMarker({ ...markers.get(0)!, nextOffset: 5 }));
    const ahead = await runScript("workers/lake.ts", [], lakeEnv(aheadDir), 60_000);
    expect(ahead.code).toBe(3);
    expect(ahead.stderr).toMatch(/refusing to resume orders\/3: the lake at .*lake-ahead already holds offsets up to 4, but the partition ends at 0/);
  });

  it("reports an offset gap loudly: log line, metric and a lake record", async () => {
    // 1 MiB segments and 1 MiB kept: 9 MB of uncompressed orders make retention delete the oldest segments.
    const padding = "x".repeat(30_000);
    for (let batch = 0; batch < 10; batch++)
      await producer.send({
        topic: "gappy",
        messages: Array.from({ length: 30 }, (_, i) => ({ value: text({ ...validOrder, order_id: `gap-${batch}-${i}`, padding }), timestamp: String(RECORD_TIME) })),
      });
    await retentionSettled(broker.bootstrap, "gappy");
    // Retention may have removed everything but the empty active segment: what follows the gap is what reveals it.
    await producer.send({ topic: "gappy", messages: Array.from({ length: 10 }, (_, i) => ({ value: text({ ...validOrder, order_id: `after-gap-${i}` }), timestamp: String(RECORD_TIME) })) });
    const { low, high } = await partitionEnds(broker.bootstrap, "gappy");
    expect(low[0]).toBeGreaterThan(0);
    const lakeDir = join(dir, "lake-gappy");
    const port = await freePort();
    let metrics = "";
    const worker = await landAll(lakeDir, "gappy", { HEALTH_PORT: String(port) }, async () => {
      metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    });
    expect(worker.output).toMatch(new RegExp(`OFFSET GAP: ${low[0]} messages of gappy/0 \\(offsets 0\\.\\.${low[0]! - 1}\\)`));
    expect(metrics).toMatch(/orderpulse_offset_gaps_total\{partition="0",worker="lake"\} 1/);
    expect(metrics).toMatch(new RegExp(`orderpulse_missed_messages_total\\{partition="0",worker="lake"\\} ${low[0]}`));
    const lake = await openLake(lakeDir, { timeoutMs: 10_000, maxRows: 1_000, refreshIntervalMs: 0 });
    lakes.push(lake);
    expect((await lake.query("SELECT kafka_offset, reason_code, reason, raw FROM orders_invalid")).rows).toEqual([
      [String(0), "offset_gap", `offsets 0..${low[0]! - 1} of gappy/0 (${low[0]} messages) were removed from Kafka before the lake read them`, null],
    ]);
    expect((await lake.query("SELECT count(*), min(kafka_offset), max(kafka_offset) FROM orders_raw")).rows).toEqual([[String(high[0]! - low[0]!), String(low[0]), String(high[0]! - 1)]]);
  });

  it("compacts killed midway without readers ever seeing a row twice, and a rerun finishes the job", async () => {
    // Many small files: 40k events paced at 4000/s (10 s of event time), 250-row files.
    // A real broker hands a caught-up reader thousands of records per fetch (one file each), so the
    // lake reads while the simulator writes: small fetches, small files.
    const lakeDir = join(dir, "lake-compact");
    const landing = start("workers/lake.ts", { ...lakeEnv(lakeDir, "compact"), LAKE_ROTATE_ROWS: "250", LAKE_ROTATE_AGE: "2s" });
    await landing.waitFor(async () => /partitions recovered/.test(landing.output), "partition assignment");
    const simulated = await runScript("workers/simulator.ts", ["--rate", "4000", "--count", "40000", "--seed", String(SEED), "--start", "2026-11-20T08:50:00Z", "--malformed", "0.01", "--duplicates", "0.02", "--topic", "compact"], { KAFKA_BROKERS: broker.bootstrap });
    expect(simulated.code, simulated.stderr).toBe(0);
    const { high } = await partitionEnds(broker.bootstrap, "compact");
    await landing.waitFor(() => caughtUp(lakeDir, high), "catch-up");
    expect(await landing.stop(), landing.output.slice(-2000)).toBe(0);
    const before = await listLakeFiles(lakeDir);
    const nextOffsets = new Map([...before.markers].map(([p, m]) => [p, m.nextOffset]));
    const planned = planCompaction(await statLakeFiles(lakeDir, before.files), nextOffsets, { now: Date.now(), quietMs: 0, offsetsPerFile: 200_000 });
    expect(planned.merges.length).toBeGreaterThanOrEqual(8);

    const lake = await openLake(lakeDir, { timeoutMs: 30_000, maxRows: 1_000, refreshIntervalMs: 0 });
    lakes.push(lake);
    const fingerprint = async () =>
      (await lake.query(`SELECT kafka_partition, count(*), count(DISTINCT kafka_offset), sum(kafka_offset), min(kafka_offset), max(kafka_offset)
         FROM (SELECT kafka_partition, kafka_offset FROM orders_raw UNION ALL SELECT kafka_partition, kafka_offset FROM orders_invalid)
         GROUP BY 1 ORDER BY 1`)).rows;
    const contents = async () => (await lake.query("SELECT count(*), count(DISTINCT order_id), round(sum(amount), 2), count(DISTINCT (event_date, event_hour)) FROM orders_raw")).rows;
    const expectedCoverage = await fingerprint();
    const expectedContents = await contents();
    const total = 40_000;
    expect(expectedCoverage.reduce((sum, row) => sum + Number(row[1]), 0)).toBe(total);

    // Readers run throughout: every snapshot sees each offset exactly once.
    let compacting = true;
    let queries = 0;
    const reader = (async () => {
      while (compacting) {
        await lake.refresh();
        const [rows = -1, distinct = -2] = (await lake.query("SELECT count(*), count(DISTINCT (kafka_partition, kafka_offset)) FROM orders_raw")).rows[0]!.map(Number);
        const invalidRows = Number((await lake.query("SELECT count(*) FROM orders_invalid")).rows[0]![0]);
        expect([rows, distinct, rows + invalidRows]).toEqual([rows, rows, total]);
        queries++;
      }
    })();

    const prng = new Prng(SEED);
    const afterKills: string[] = [];
    let supersededAtLastKill = -1;
    try {
      for (let kill = 0; kill < 4; kill++) {
        const compactor = start("workers/cli/lake-compact.ts", { LAKE_DIR: lakeDir, LOG_LEVEL: "info" }, ["--grace", "2s"]);
        const merges = prng.int(1, 3);
        await compactor.waitFor(() => (compactor.output.match(/"msg":"merged"/g) ?? []).length >= merges || compactor.output.includes("summary "), `${merges} merges`);
        await sleep(prng.int(0, 120));
        await compactor.kill9();
        const listing = await listLakeFiles(lakeDir);
        const committed = committedFiles(listing.files, new Map([...listing.markers].map(([p, m]) => [p, m.nextOffset])));
        const superseded = committed.length - selectLiveFiles(committed).length;
        supersededAtLastKill = superseded;
        const temps = (readdirSync(lakeDir, { recursive: true }) as string[]).filter((p) => isTemporaryPath(p)).length;
        afterKills.push(`kill ${kill + 1} after ${(compactor.output.match(/"msg":"merged"/g) ?? []).length} merges: ${superseded} superseded inputs left, ${temps} temporary files`);
      }
      expect(await fingerprint()).toEqual(expectedCoverage);

      const rerun = await runScript("workers/cli/lake-compact.ts", ["--grace", "2s"], { LAKE_DIR: lakeDir }, 120_000);
      expect(rerun.code, rerun.stderr.slice(-2000)).toBe(0);
      expect(rerun.stdout).toMatch(/^summary merges=\d+ .*failed=0 anomalies=0/m);
      // The killed runs' superseded inputs, deleted now: as many as the last kill left (none when a loaded
      // machine let that run finish its plan, deletions included, before the kill reached it).
      expect(rerun.stdout).toMatch(new RegExp(` leftovers=${supersededAtLastKill} `));
      const again = await runScript("workers/cli/lake-compact.ts", ["--grace", "2s"], { LAKE_DIR: lakeDir }, 60_000);
      expect(again.stdout).toMatch(/^summary merges=0 inputs=0 rows=0 deleted=0 leftovers=0 temporaries=0 failed=0 anomalies=0/m);
    } finally {
      compacting = false;
      await reader;
    }
    console.log(`lake compaction (seed ${SEED}): ${afterKills.join("; ")}; ${queries} concurrent snapshots checked`);
    expect(queries).toBeGreaterThan(3);

    await lake.refresh();
    expect(await fingerprint()).toEqual(expectedCoverage);
    expect(await contents()).toEqual(expectedContents);
    expect((readdirSync(lakeDir, { recursive: true }) as string[]).filter((p) => isTemporaryPath(p))).toEqual([]);

    // One file per (directory, partition) now, sorted by (event_time, kafka_offset), named by the range it covers.
    const after = await listLakeFiles(lakeDir);
    const groups = new Set(after.files.map((f) => `${f.dir} ${f.partition}`));
    expect(after.files).toHaveLength(groups.size);
    const file = after.files.find((f) => f.kind === "orders")!;
    const path = resolve(lakeDir, file.path);
    expect(
      await rowsOf(`SELECT count(*), min(kafka_offset) = ${file.firstOffset}, max(kafka_offset) = ${file.lastOffset},
          count(*) FILTER (WHERE event_time < previous_time OR (event_time = previous_time AND kafka_offset < previous_offset))
        FROM (SELECT event_time, kafka_offset, lag(event_time) OVER w AS previous_time, lag(kafka_offset) OVER w AS previous_offset
              FROM read_parquet(${sqlString(path)}, file_row_number = true, hive_partitioning = false) WINDOW w AS (ORDER BY file_row_number))`),
    ).toEqual([[expect.stringMatching(/^[1-9]\d*$/), true, true, "0"]]);
  });
});
