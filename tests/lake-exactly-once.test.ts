/**
 * The lake's exactly-once contract under real crashes: a lake worker killed
 * with SIGKILL at random moments while it works through a 100k-message backlog
 * (chaos included), restarted each time, ends with every message in the lake
 * exactly once, nothing uncommitted and nothing temporary left behind.
 */
import { amountToCents, formatCents } from "../lib/contract/money.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kafka, logLevel } from "kafkajs";
import { openLake, type Lake } from "../workers/shared/lake-query.ts";
import { listLakeFiles } from "../workers/shared/lake-files.ts";
import { Prng } from "../lib/sim/prng.ts";
import { sharedKafka, type SharedKafka } from "./support/kafka.ts";
import { parseSummary, runScript, tempDir } from "./support/processes.ts";
import { LakeWorkerProcess, temporaryFiles } from "./support/lake-worker.ts";

const PARTITIONS = 8;
const EVENTS = 100_000;
const KILLS = 5;
const START = "2026-11-20T09:59:40.000Z"; // 2500 orders per second of event time: from 10:00:00 on, files land in hour 10
const SEED = Number(process.env.LAKE_TEST_SEED ?? Date.now() % 100_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


describe("lake worker: exactly once across kill -9", () => {
  let cluster: SharedKafka;
  let dir: string;
  const cleanup: (() => Promise<unknown>)[] = [];
  const workers: LakeWorkerProcess[] = [];
  const lakes: Lake[] = [];

  beforeAll(async () => {
    dir = tempDir("lake-eo");
    cluster = await sharedKafka("lake-eo", { orders: PARTITIONS }, cleanup);
  });
  afterAll(async () => {
    for (const lake of lakes) lake.close();
    for (const worker of workers) await worker.kill9();
    for (const step of cleanup.reverse()) await step();
  });

  it(`lands ${EVENTS} messages exactly once through ${KILLS} SIGKILLs (seed ${SEED})`, async () => {
    const lakeDir = join(dir, "lake");
    const truthFile = join(dir, "truth.ndjson");
    const kafkaEnv = cluster.env;
    const workerEnv = { ...kafkaEnv, LAKE_DIR: lakeDir, KAFKA_SESSION_TIMEOUT: "6s", LAKE_ROTATE_ROWS: "2000", LAKE_ROTATE_AGE: "1s", LOG_LEVEL: "info" };
    const prng = new Prng(SEED);

    // Paced, so the kills land while data still arrives: Apache Kafka hands a caught-up reader the
    // whole backlog in a few fetches, and an unpaced topic is landed before the second kill.
    const simulation = runScript(
      "workers/simulator.ts",
      ["--rate", "2500", "--count", String(EVENTS), "--seed", String(SEED), "--start", START, "--truth", truthFile,
        "--malformed", "0.02", "--duplicates", "0.03", "--skew", "0.01", "--late", "0.02", "--out-of-order", "0.05", "--nulls", "0.03"],
      kafkaEnv,
      170_000,
    );

    // Kill moments spread over the backlog: each incarnation runs until it has recovered its partitions and the lake
    // holds a random share of the backlog, then a random few hundred ms more, mid-stream.
    const shares = Array.from({ length: KILLS }, () => 0.05 + 0.8 * prng.next()).sort((a, b) => a - b);
    const committed = async () => [...(await listLakeFiles(lakeDir)).markers.values()].reduce((sum, m) => sum + m.nextOffset, 0);
    const kills: string[] = [];
    for (const share of shares) {
      const worker = new LakeWorkerProcess(workerEnv);
      workers.push(worker);
      // Up and owning partitions (it may have nothing left to flush when the backlog is already in the lake).
      await worker.waitForLog(/"msg":"(flushed|partitions recovered)/, 60_000);
      while ((await committed()) < share * EVENTS) {
        if (worker.child.exitCode !== null) throw new Error(`lake worker exited:\n${worker.output.slice(-3000)}`);
        await sleep(50);
      }
      const delay = prng.int(0, 400);
      await sleep(delay);
      await worker.kill9();
      kills.push(`at ${Math.round(share * 100)}% +${delay}ms: ${await committed()} committed`);
    }
    const run = await simulation;
    expect(run.code, run.stderr).toBe(0);
    const summary = parseSummary(run.stdout);
    expect(summary.sent).toBe(EVENTS);

    // The broker kept everything: the earliest offset of every partition is still 0.
    const admin = new Kafka({ brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(cluster.topic);
    await admin.disconnect();
    expect(offsets.map((o) => o.low)).toEqual(Array(PARTITIONS).fill("0"));
    const ends = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    expect([...ends.values()].reduce((a, b) => a + b, 0)).toBe(EVENTS);

    // The last run finishes the backlog, then stops gracefully.
    const last = new LakeWorkerProcess(workerEnv);
    workers.push(last);
    // The killed ones may have finished the backlog already: wait until this one is up before SIGTERM can come.
    await last.waitForLog(/lake worker running/, 60_000);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const { markers } = await listLakeFiles(lakeDir);
      if ([...ends].every(([partition, end]) => markers.get(partition)?.nextOffset === end)) break;
      if (Date.now() > deadline) throw new Error(`the lake did not catch up: ${JSON.stringify(Object.fromEntries([...markers].map(([p, m]) => [p, m.nextOffset])))}\n${last.output.slice(-3000)}`);
      await sleep(500);
    }
    const termAt = Date.now();
    process.kill(last.child.pid!, "SIGTERM");
    expect(await last.exited, last.output.slice(-2000)).toBe(0);
    expect(Date.now() - termAt).toBeLessThan(10_000);

    const recoveries = workers.map((w) => (w.output.match(/deleted what a flush that died left/g) ?? []).length);
    console.log(`lake exactly-once (seed ${SEED}): kills ${kills.join("; ")}; partitions recovered per start: ${recoveries.join(",")}`);

    // Nothing past a commit marker, nothing temporary.
    const listing = await listLakeFiles(lakeDir);
    expect(listing.files.filter((f) => f.lastOffset >= listing.markers.get(f.partition)!.nextOffset)).toEqual([]);
    expect(temporaryFiles(lakeDir)).toEqual([]);

    const lake = await openLake(lakeDir, { timeoutMs: 60_000, maxRows: 200_000, refreshIntervalMs: 0 });
    lakes.push(lake);
    const one = async (sql: string) => (await lake.query(sql)).rows[0]!.map(Number);
    const valid = EVENTS - summary.malformed! - summary.skewed!;
    expect(await one("SELECT count(*), count(DISTINCT (kafka_partition, kafka_offset)) FROM orders_raw"), kills.join(", ")).toEqual([valid, valid]);
    expect(await one("SELECT count(*), count(*) FILTER (reason_code = 'event_time_skew'), count(*) FILTER (reason_code = 'offset_gap') FROM orders_invalid")).toEqual([
      summary.malformed! + summary.skewed!,
      summary.skewed!,
      0,
    ]);
    // Every offset of the topic is exactly one row, valid or not.
    expect(
      await one(`SELECT count(*), count(DISTINCT (kafka_partition, kafka_offset)), max(kafka_offset) FILTER (kafka_partition = 0) FROM
        (SELECT kafka_partition, kafka_offset FROM orders_raw UNION ALL SELECT kafka_partition, kafka_offset FROM orders_invalid)`),
    ).toEqual([EVENTS, EVENTS, ends.get(0)! - 1]);

    // `orders` holds every order of the truth exactly once, with its amount, and nothing else.
    const truth = new Map(
      readFileSync(truthFile, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { order_id: string; amount: number })
        .map((o) => [o.order_id, formatCents(amountToCents(o.amount))]),
    );
    const orders = (await lake.query("SELECT order_id, amount FROM orders")).rows as [string, string][];
    expect(orders).toHaveLength(truth.size);
    expect(new Map(orders)).toEqual(truth);
  });
});
