/**
 * The lake's writers are fenced: two live lake workers share a topic while a
 * third keeps joining and leaving (gracefully or by SIGKILL), so partitions move
 * between live writers mid-flush, with flushes big enough to take a while to
 * encode. Every message must still be in the lake exactly once.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kafka, logLevel } from "kafkajs";
import { openLake, type Lake } from "../workers/shared/lake-query.ts";
import { listLakeFiles } from "../workers/shared/lake-files.ts";
import { sharedKafka, type SharedKafka } from "./support/kafka.ts";
import { freePort } from "../scripts/free-port.ts";
import { parseSummary, runScript, tempDir } from "./support/processes.ts";
import { LakeWorkerProcess, temporaryFiles } from "./support/lake-worker.ts";

const PARTITIONS = 4;
const EVENTS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("lake workers: rebalances between live writers", () => {
  let cluster: SharedKafka;
  let dir: string;
  const cleanup: (() => Promise<unknown>)[] = [];
  const workers: LakeWorkerProcess[] = [];
  const lakes: Lake[] = [];

  beforeAll(async () => {
    dir = tempDir("lake-rebalance");
    cluster = await sharedKafka("lake-rebalance", { orders: PARTITIONS }, cleanup);
  });
  afterAll(async () => {
    for (const lake of lakes) lake.close();
    for (const worker of workers) await worker.kill9();
    for (const step of cleanup.reverse()) await step();
  });

  it(`lands ${EVENTS} messages exactly once while partitions move between live workers mid-flush`, async () => {
    const lakeDir = join(dir, "lake");
    const kafkaEnv = cluster.env;
    // Big rotations: a flush encodes for a good while, so a rebalance lands in the middle of one.
    const workerEnv = { ...kafkaEnv, LAKE_DIR: lakeDir, KAFKA_SESSION_TIMEOUT: "6s", LAKE_ROTATE_ROWS: "8000", LAKE_ROTATE_AGE: "2s", LOG_LEVEL: "info" };
    const simulation = runScript("workers/simulator.ts", ["--rate", "8000", "--count", String(EVENTS), "--seed", "11", "--start", "2026-11-20T09:58:00Z", "--malformed", "0.01", "--duplicates", "0.02"], kafkaEnv, 170_000);

    const ports = [await freePort(), await freePort()] as const;
    const a = new LakeWorkerProcess({ ...workerEnv, HEALTH_PORT: String(ports[0]) });
    const b = new LakeWorkerProcess({ ...workerEnv, HEALTH_PORT: String(ports[1]) });
    workers.push(a, b);
    await a.waitForLog(/"msg":"flushed"/, 90_000);
    // A third worker joins and leaves four times: twice gracefully, twice by SIGKILL.
    for (let round = 0; round < 4; round++) {
      const c = new LakeWorkerProcess(workerEnv);
      workers.push(c);
      await c.waitForLog(/partitions recovered/, 90_000);
      await sleep(1_500 + 700 * round);
      if (round % 2 === 0) expect(await c.terminate(), c.output.slice(-2000)).toBe(0);
      else await c.kill9();
    }
    const run = await simulation;
    expect(run.code, run.stderr).toBe(0);
    const summary = parseSummary(run.stdout);

    const admin = new Kafka({ brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const ends = new Map((await admin.fetchTopicOffsets(cluster.topic)).map((o) => [o.partition, Number(o.high)]));
    await admin.disconnect();
    const deadline = Date.now() + 120_000;
    for (;;) {
      const { markers } = await listLakeFiles(lakeDir);
      if ([...ends].every(([partition, end]) => markers.get(partition)?.nextOffset === end)) break;
      if (Date.now() > deadline) throw new Error(`the lake did not catch up: ${JSON.stringify(Object.fromEntries([...markers].map(([p, m]) => [p, m.nextOffset])))}\n${a.output.slice(-2000)}\n${b.output.slice(-2000)}`);
      await sleep(500);
    }
    // After eight rebalances, each worker's per-partition gauges name only what it owns now: together every partition, once.
    const gauged = async (port: number) => [...(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).matchAll(/^orderpulse_lake_committed_offset\{partition="(\d+)"/gm)].map((m) => Number(m[1]));
    // The lake can be caught up before the group noticed the SIGKILLed third worker: wait for its partitions to move.
    const both = async () => [await gauged(ports[0]), await gauged(ports[1])] as const;
    const until = Date.now() + 30_000;
    let [ofA, ofB] = await both();
    while (new Set([...ofA, ...ofB]).size < PARTITIONS && Date.now() < until) {
      await sleep(500);
      [ofA, ofB] = await both();
    }
    const assignments = (w: LakeWorkerProcess) => w.output.split("\n").filter((line) => /partitions assigned|partitions recovered/.test(line)).slice(-4).join("\n");
    expect([...ofA, ...ofB].sort((x, y) => x - y), `a: ${ofA}, b: ${ofB}\n${assignments(a)}\n${assignments(b)}`).toEqual(Array.from({ length: PARTITIONS }, (_, p) => p));
    expect(await a.terminate(), a.output.slice(-2000)).toBe(0);
    expect(await b.terminate(), b.output.slice(-2000)).toBe(0);
    for (const w of workers) expect(w.output, "no writer found its marker moved under it").not.toMatch(/MarkerMovedError|another lake worker has written the partition/);

    const listing = await listLakeFiles(lakeDir);
    expect(listing.files.filter((f) => f.lastOffset >= listing.markers.get(f.partition)!.nextOffset)).toEqual([]);
    expect(temporaryFiles(lakeDir)).toEqual([]);
    const lake = await openLake(lakeDir, { timeoutMs: 60_000, maxRows: 10, refreshIntervalMs: 0 });
    lakes.push(lake);
    const one = async (sql: string) => (await lake.query(sql)).rows[0]!.map(Number);
    // Every offset of the topic is exactly one row, valid or not.
    expect(
      await one(`SELECT count(*), count(DISTINCT (kafka_partition, kafka_offset)) FROM
        (SELECT kafka_partition, kafka_offset FROM orders_raw UNION ALL SELECT kafka_partition, kafka_offset FROM orders_invalid)`),
    ).toEqual([EVENTS, EVENTS]);
    expect(await one("SELECT count(*) FROM orders_invalid")).toEqual([summary.malformed!]);
  });
});
