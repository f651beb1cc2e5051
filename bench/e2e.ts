/**
 * `npm run bench` (end-to-end part, issue 13): the workers themselves against
 * the local broker and InfluxDB (`npm run services:up`), every figure next to
 * a baseline measured in the same run on the same topic, so a shared or slow
 * machine moves both. Writes bench/results/latest.json (and a timestamped
 * copy) and prints the Markdown table README shows.
 *
 * 1. Throughput, on one pre-filled topic (`--backlog`, default 200,000 orders,
 *    8 partitions), `--rounds` rounds (default 3; median and min–max):
 *    - baseline: bench/e2e/bare-consumer.ts, kafkajs consume + JSON.parse;
 *    - the metrics worker (orderpulse_consumed_total);
 *    - the lake worker with LAKE_ROTATE_ROWS=5000, to committed files
 *      (orderpulse_lake_rows_written_total: rows under a commit marker), once
 *      per writer (LAKE_WRITER=parquetjs, the default, and duckdb).
 *    Each is a separate process in a fresh consumer group (and a fresh lake /
 *    InfluxDB database), sampled every 100 ms; its rate is the steady state
 *    between 10 % and 80 % of the backlog, so start-up and the rotation age of
 *    the last files do not decide it. Ratios are per round (worker ÷ that
 *    round's baseline), per wall-clock second (the target) and per CPU second
 *    of the process (user + system, all threads: what other processes on a
 *    shared machine move least).
 * 2. Produce → browser latency: the metrics and feed workers on a fresh topic,
 *    orders produced at 1,000/s (20 s) then 5,000/s (60 s; 10 min with
 *    `--full`), a socket.io client as the browser. An order is on screen when
 *    its window's order count first reaches its rank in that window.
 * 3. RSS of the metrics, lake and feed workers at the start of the 5,000/s
 *    phase, after 1 min and at its end (1 min; 10 min with `--full`); with
 *    `--full` also after 4 min (WARMED_UP_SECONDS), so growth once the state that
 *    grows with the rate is full (a leak) shows apart from that filling.
 * 4. Lake queries (daily KPIs, point lookup by order_id) over a lake of
 *    `--lake-rows` (1M; 10M with `--full`) written by the lake's own
 *    LakeWriter (8 partitions), as written ÷ after `compactLake`, in two
 *    layouts: 5,000-row files (the throughput rounds' LAKE_ROTATE_ROWS; what
 *    any rate below ~670 orders/s writes with the default 60 s rotation age)
 *    and 37,500-row files (what the defaults write at 5,000 orders/s: 625 a
 *    second per partition for 60 s).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { DuckDBInstance } from "@duckdb/node-api";
import { Kafka, logLevel, type Producer } from "kafkajs";
import pino from "pino";
import { io } from "socket.io-client";
import { consumerGroupNames, kafkaEnvSchema } from "../lib/contract/config.ts";
import type { WindowTotal } from "../lib/hot/feed-state.ts";
import { EMPTY_FIRST_COPY_INDEX } from "../lib/lake/first-copies.ts";
import { defineLakeViews } from "../workers/shared/lake-views.ts";
import { OrderGenerator } from "../lib/sim/order-generator.ts";
import { createTopics, devTopics } from "../scripts/kafka/broker.ts";
import { freePort } from "../scripts/free-port.ts";
import { compactLake } from "../workers/lake/compactor.ts";
import { ThreadEncoder } from "../workers/lake/encoder.ts";
import { diskLakeStore } from "../workers/lake/lake-store.ts";
import { LakeWriter } from "../workers/lake/lake-writer.ts";
import { loadEnv } from "../workers/shared/env.ts";
import { listLakeFiles, liveLakeFiles } from "../workers/shared/lake-files.ts";

const ROOT = join(import.meta.dirname, "..");
const PARTITIONS = 8;
const WINDOW_ENV = { WINDOW_SIZE: "1m", WATERMARK_DELAY: "2m" };
const NO_CHAOS = { duplicates: 0, late: 0, outOfOrder: 0, malformed: 0, nulls: 0, skew: 0 };

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("a positive integer");
  return n;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const log = (line: string) => process.stderr.write(`bench: ${line} (load ${loadavg().map((l) => l.toFixed(1)).join(" ")})\n`);

/** Median and spread of one figure over rounds. */
interface Spread {
  median: number;
  min: number;
  max: number;
  rounds: number[];
}
const spread = (rounds: number[]): Spread => ({ median: median(rounds), min: Math.min(...rounds), max: Math.max(...rounds), rounds });

/** A worker (or the baseline) as its own node process with tsx, as the tests run them. */
class Child {
  readonly process: ChildProcess;
  output = "";
  readonly exited: Promise<number | null>;

  constructor(script: string, env: Record<string, string>, args: string[] = [], nodeArgs: string[] = []) {
    this.process = spawn(process.execPath, [...nodeArgs, "--import", "tsx", join(ROOT, script), ...args], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.process.stdout!.on("data", (d) => (this.output = (this.output + d).slice(-200_000)));
    this.process.stderr!.on("data", (d) => (this.output = (this.output + d).slice(-200_000)));
    this.exited = new Promise((resolve) => this.process.on("exit", (code) => resolve(code)));
  }

  /** Resident set size, bytes (Linux /proc). */
  rss(): number {
    const status = readFileSync(`/proc/${this.process.pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  /** CPU time (user + system, all threads) so far, seconds (Linux /proc; 10 ms ticks). */
  cpuSeconds(): number | undefined {
    try {
      const fields = readFileSync(`/proc/${this.process.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return undefined;
    }
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null) return;
    this.process.kill("SIGTERM");
    const killed = setTimeout(() => this.process.kill("SIGKILL"), 20_000);
    await this.exited;
    clearTimeout(killed);
  }
}

/** Sum of a Prometheus counter's samples on a worker's /metrics. */
async function counter(port: number, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let sum = 0;
    for (const line of text.split("\n")) if (line.startsWith(name) && (line[name.length] === "{" || line[name.length] === " ")) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    return sum;
  } catch {
    return undefined;
  }
}

interface Sample {
  /** Epoch ms. */
  t: number;
  /** Messages (rows) done. */
  n: number;
  /** The process's CPU seconds. */
  cpu: number;
}

/** A steady-state rate: per wall-clock second, and per CPU second of the process (what a shared machine's load moves least). */
interface Rate {
  perSecond: number;
  perCpuSecond: number;
}

/** Rates between `from` and `to` (fractions of `total`), interpolated from samples. */
function steadyRate(samples: readonly Sample[], total: number, from = 0.1, to = 0.8): Rate {
  const at = (target: number) => {
    const i = samples.findIndex((s) => s.n >= target);
    if (i < 0) throw new Error(`progress never reached ${target} of ${total} (last ${samples.at(-1)?.n ?? 0})`);
    if (i === 0) return samples[0]!;
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const f = (target - a.n) / (b.n - a.n);
    return { t: a.t + f * (b.t - a.t), n: target, cpu: a.cpu + f * (b.cpu - a.cpu) };
  };
  const s0 = at(from * total);
  const s1 = at(to * total);
  const rows = (to - from) * total;
  return { perSecond: rows / ((s1.t - s0.t) / 1000), perCpuSecond: rows / Math.max(0.01, s1.cpu - s0.cpu) };
}

/** Samples `probe` every 100 ms until it reports `total`, or the child exits, or `timeoutMs` passes. */
async function track(child: Child, probe: () => Promise<number | undefined>, total: number, timeoutMs: number, everyMs = 100): Promise<Sample[]> {
  const samples: Sample[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cpu = child.cpuSeconds();
    const n = await probe();
    if (n !== undefined && cpu !== undefined) samples.push({ t: Date.now(), n, cpu });
    if (n !== undefined && n >= total) return samples;
    if (child.process.exitCode !== null) throw new Error(`the process exited (${child.process.exitCode}) at ${n ?? 0} of ${total}:\n${child.output.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`timed out at ${n ?? 0} of ${total}:\n${child.output.slice(-3000)}`);
    await sleep(everyMs);
  }
}

async function produce(producer: Producer, topic: string, generator: OrderGenerator, count: number, onSent?: (i: number) => void): Promise<void> {
  const BATCH = 2_000;
  for (let sent = 0; sent < count; ) {
    const n = Math.min(BATCH, count - sent);
    const messages = Array.from({ length: n }, () => {
      const m = generator.next();
      return { key: m.key ?? null, value: m.value, timestamp: String(m.timestamp) };
    });
    await producer.send({ topic, messages, acks: -1 });
    sent += n;
    onSent?.(sent);
  }
}

interface Environment {
  brokers: string;
  influxUrl: string;
  kafka: Kafka;
}

function environment(): Environment {
  const env = loadEnv();
  if (!env.KAFKA_BROKERS || !env.INFLUX_URL) throw new Error("no local services: run `npm run services:up` first (KAFKA_BROKERS and INFLUX_URL come from .orderpulse/services.env)");
  const kafka = kafkaEnvSchema.parse({ ...env, KAFKA_TOPIC: "bench" });
  return { brokers: env.KAFKA_BROKERS, influxUrl: env.INFLUX_URL, kafka: new Kafka({ clientId: "orderpulse-bench", brokers: kafka.brokers, logLevel: logLevel.NOTHING }) };
}

// ---------------------------------------------------------------- 1. throughput

/** Node flags for the measured workers (`--cpu-prof <dir>`). */
let profileArgs: string[] = [];

interface ThroughputRound {
  baseline: Rate;
  metrics: Rate;
  lake: Rate;
  lakeDuckdb: Rate;
}

async function throughputRound(env: Environment, topic: string, backlog: number, round: number, scratch: string): Promise<ThroughputRound> {
  // Groups of the bench's own (named after its topic): a bench never joins the deployment's groups.
  const groups = consumerGroupNames(topic);
  const common = { KAFKA_BROKERS: env.brokers, KAFKA_TOPIC: topic, KAFKA_GROUP_PREFIX: topic, INFLUX_URL: env.influxUrl, ...WINDOW_ENV };
  const admin = env.kafka.admin();
  await admin.connect();
  const forget = async (group: string) => admin.deleteGroups([group]).catch(() => undefined);
  try {
    // Baseline.
    const bare = new Child("bench/e2e/bare-consumer.ts", common, ["--expect", String(backlog)]);
    const progress = async () => {
      const line = /\{"t":\d+,"n":(\d+)\}\n(?![\s\S]*\{"t")/.exec(bare.output);
      return line ? Number(line[1]) : undefined;
    };
    const baseline = steadyRate(await track(bare, progress, backlog, 300_000, 20), backlog);
    await bare.exited;
    log(`round ${round}: baseline ${Math.round(baseline.perSecond)} msg/s, ${Math.round(baseline.perCpuSecond)} per CPU second`);

    // Metrics worker, fresh group and database.
    await forget(groups.metrics);
    const metricsPort = await freePort();
    const metricsWorker = new Child("workers/metrics.ts", { ...common, INFLUX_DB: `bench_${round}_${Date.now()}`, HEALTH_PORT: String(metricsPort) }, [], profileArgs);
    let metrics: Rate;
    try {
      metrics = steadyRate(await track(metricsWorker, () => counter(metricsPort, "orderpulse_consumed_total"), backlog, 300_000), backlog);
    } finally {
      await metricsWorker.stop();
    }
    await forget(groups.metrics);
    log(`round ${round}: metrics worker ${Math.round(metrics.perSecond)} msg/s (${(metrics.perSecond / baseline.perSecond).toFixed(2)} × baseline; per CPU second ${(metrics.perCpuSecond / baseline.perCpuSecond).toFixed(2)} ×)`);

    // Lake worker, once per writer, fresh lake.
    const lakeRate = async (writer: "parquetjs" | "duckdb") => {
      await forget(groups.lake);
      const lakeDir = join(scratch, `lake-${round}-${writer}`);
      const port = await freePort();
      const lake = new Child("workers/lake.ts", { ...common, LAKE_DIR: lakeDir, LAKE_ROTATE_ROWS: "5000", LAKE_WRITER: writer, HEALTH_PORT: String(port) }, [], profileArgs);
      try {
        return steadyRate(await track(lake, () => counter(port, "orderpulse_lake_rows_written_total"), 0.8 * backlog, 600_000), backlog);
      } finally {
        await lake.stop();
        rmSync(lakeDir, { recursive: true, force: true });
      }
    };
    const lake = await lakeRate("parquetjs");
    log(`round ${round}: lake worker (parquetjs-lite) ${Math.round(lake.perSecond)} rows/s (${(lake.perSecond / baseline.perSecond).toFixed(2)} × baseline; per CPU second ${(lake.perCpuSecond / baseline.perCpuSecond).toFixed(2)} ×)`);
    const lakeDuckdb = await lakeRate("duckdb");
    log(`round ${round}: lake worker (DuckDB writer) ${Math.round(lakeDuckdb.perSecond)} rows/s (${(lakeDuckdb.perSecond / baseline.perSecond).toFixed(2)} × baseline; per CPU second ${(lakeDuckdb.perCpuSecond / baseline.perCpuSecond).toFixed(2)} ×)`);
    return { baseline, metrics, lake, lakeDuckdb };
  } finally {
    await admin.disconnect();
  }
}

// ---------------------------------------------------------------- 2 + 3. latency and RSS

interface LatencyPhase {
  ratePerSecond: number;
  seconds: number;
  orders: number;
  seen: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

interface RssFigure {
  worker: string;
  /** When the 5,000/s phase starts (after 20 s at 1,000/s). */
  startBytes: number;
  /** 1 min into it. */
  oneMinuteBytes: number;
  /** WARMED_UP_SECONDS into it (soaks longer than that only): the de-duplication horizon and the lake's buffers are full. */
  warmedUpBytes?: number;
  endBytes: number;
  /** end ÷ start − 1: the issue's figure. */
  growth: number;
  /** end ÷ warmed up − 1: growth once the state that grows with the rate has reached its size (a leak shows here). */
  steadyGrowth?: number;
}

/**
 * The de-duplication horizon (WINDOW_SIZE + WATERMARK_DELAY = 3 min here) plus a minute: by then the metrics
 * worker holds rate × horizon order ids (ARCHITECTURE.md) and the lake worker's buffers have reached their bound.
 */
const WARMED_UP_SECONDS = 240;

async function latencyAndRss(env: Environment, soakSeconds: number, scratch: string): Promise<{ phases: LatencyPhase[]; rss: RssFigure[]; soakSeconds: number }> {
  const topic = `bench-live-${randomUUID().slice(0, 8)}`;
  await createTopics(env.brokers, devTopics(topic, PARTITIONS));
  const feedPort = await freePort();
  // A fresh topic and groups of its own (named after the topic), so nothing is resumed.
  const common = { KAFKA_BROKERS: env.brokers, KAFKA_TOPIC: topic, KAFKA_GROUP_PREFIX: topic, INFLUX_URL: env.influxUrl, INFLUX_DB: `bench_live_${Date.now()}`, ...WINDOW_ENV };
  const workers = {
    metrics: new Child("workers/metrics.ts", common),
    lake: new Child("workers/lake.ts", { ...common, LAKE_DIR: join(scratch, "lake-live") }),
    feed: new Child("workers/feed.ts", { ...common, FEED_PORT: String(feedPort) }),
  };
  const producer = env.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const socket = io(`http://127.0.0.1:${feedPort}`, { transports: ["websocket"], reconnectionDelay: 200 });
  /** Per window: (arrival time, orders shown), in arrival order. */
  const shown = new Map<number, { t: number; orders: number }[]>();
  socket.on("window", (w: WindowTotal) => {
    const list = shown.get(w.windowStart) ?? [];
    list.push({ t: Date.now(), orders: w.orders });
    shown.set(w.windowStart, list);
  });
  try {
    await waitForCondition("the feed to accept a browser", () => socket.connected, 90_000, workers);
    const phases: LatencyPhase[] = [];
    let rss: RssFigure[] = [];
    for (const [rate, seconds] of [
      [1_000, 20],
      [5_000, soakSeconds],
    ] as const) {
      const rssStart = rate === 5_000 ? Object.entries(workers).map(([name, child]) => ({ name, bytes: child.rss() })) : [];
      const atOneMinute = new Map<string, number>();
      const warmedUp = new Map<string, number>();
      const sample = (into: Map<string, number>) => () => Object.entries(workers).forEach(([name, child]) => into.set(name, child.rss()));
      const samplers = rate === 5_000 ? [setTimeout(sample(atOneMinute), 60_000), ...(seconds > WARMED_UP_SECONDS ? [setTimeout(sample(warmedUp), WARMED_UP_SECONDS * 1000)] : [])] : [];
      phases.push(await producePaced(producer, topic, rate, seconds, shown));
      samplers.forEach(clearTimeout);
      if (rate === 5_000)
        rss = rssStart.map(({ name, bytes }) => {
          const end = workers[name as keyof typeof workers].rss();
          const warm = warmedUp.get(name);
          return { worker: name, startBytes: bytes, oneMinuteBytes: atOneMinute.get(name) ?? end, warmedUpBytes: warm, endBytes: end, growth: end / bytes - 1, steadyGrowth: warm === undefined ? undefined : end / warm - 1 };
        });
      log(`latency at ${rate}/s: p50 ${phases.at(-1)!.p50} ms, p95 ${phases.at(-1)!.p95} ms, p99 ${phases.at(-1)!.p99} ms (${phases.at(-1)!.seen}/${phases.at(-1)!.orders} seen)`);
    }
    return { phases, rss, soakSeconds };
  } finally {
    socket.close();
    await producer.disconnect();
    await Promise.all(Object.values(workers).map((w) => w.stop()));
  }
}

async function waitForCondition(what: string, ok: () => boolean, timeoutMs: number, children: Record<string, Child>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    for (const [name, child] of Object.entries(children)) if (child.process.exitCode !== null) throw new Error(`the ${name} worker exited (${child.process.exitCode}):\n${child.output.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Produces `rate` orders a second for `seconds` in 20 ms steps, event time = now,
 * and measures each order's produce → screen latency from the feed's window
 * totals (see the module comment). Orders still unseen 10 s after the end count
 * at their wait so far (they only raise the tail).
 */
async function producePaced(producer: Producer, topic: string, rate: number, seconds: number, shown: Map<number, { t: number; orders: number }[]>): Promise<LatencyPhase> {
  const started = Date.now();
  const generator = new OrderGenerator({ seed: rate, startMs: started, ratePerSecond: rate, chaos: NO_CHAOS, windowSizeMs: 60_000, watermarkDelayMs: 120_000, maxEventSkewMs: 600_000 });
  /** Per window: produce times of its orders, in order, and how many were produced before this phase. */
  const produced = new Map<number, number[]>();
  const before = new Map<number, number>();
  const STEP = 20;
  const total = Math.round(rate * seconds);
  for (let sent = 0; sent < total; ) {
    // At most 500 a request (a late step catches up over the next ones): one partition's batch must stay under the broker's 1 MB.
    const target = Math.min(total, Math.round(((Date.now() - started) / 1000) * rate));
    const due = Math.min(target, sent + 500);
    if (due > sent) {
      const messages = [];
      const now = Date.now();
      for (; sent < due; sent++) {
        const m = generator.next();
        const order = JSON.parse(m.value.toString("utf8")) as { event_time: string };
        // Stamp the event as now, so the window is the one the live dashboard shows.
        order.event_time = new Date(now).toISOString();
        const window = Math.floor(now / 60_000) * 60_000;
        if (!produced.has(window)) {
          produced.set(window, []);
          before.set(window, shown.get(window)?.at(-1)?.orders ?? 0);
        }
        produced.get(window)!.push(now);
        messages.push({ key: m.key ?? null, value: JSON.stringify(order), timestamp: String(now) });
      }
      await producer.send({ topic, messages, acks: 1 });
    }
    if (target === due) await sleep(Math.max(1, STEP - ((Date.now() - started) % STEP)));
  }
  const end = Date.now() + 10_000;
  const unseen = () => [...produced].some(([w, times]) => (shown.get(w)?.at(-1)?.orders ?? 0) < (before.get(w) ?? 0) + times.length);
  while (Date.now() < end && unseen()) await sleep(100);
  const latencies: number[] = [];
  let seen = 0;
  for (const [window, times] of produced) {
    const arrivals = shown.get(window) ?? [];
    let a = 0;
    times.forEach((t, i) => {
      const rank = (before.get(window) ?? 0) + i + 1;
      while (a < arrivals.length && (arrivals[a]!.orders < rank || arrivals[a]!.t < t)) a++;
      if (a < arrivals.length) {
        latencies.push(arrivals[a]!.t - t);
        seen++;
      } else latencies.push(Date.now() - t);
    });
  }
  latencies.sort((x, y) => x - y);
  return { ratePerSecond: rate, seconds, orders: total, seen, p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95), p99: quantile(latencies, 0.99), max: latencies.at(-1) ?? 0 };
}

// ---------------------------------------------------------------- 4. lake queries

interface QueryFigure {
  query: string;
  writtenMs: Spread;
  compactedMs: Spread;
  ratio: number;
}

/**
 * Layouts of the lake the queries run on, as the lake worker writes them (rows per file): LAKE_ROTATE_ROWS=5000,
 * and the default rotation age (60 s) at 5,000 orders/s over PARTITIONS partitions.
 */
const LAKE_LAYOUTS = [5_000, (5_000 / PARTITIONS) * 60];

/** Writes `rows` orders through the lake's own LakeWriter: 8 partitions, `rowsPerFile`-row flushes, the default writer and encoder threads. */
async function writeLake(lakeDir: string, rows: number, rowsPerFile: number): Promise<string> {
  const quiet = pino({ level: "silent" });
  const encoder = new ThreadEncoder(availableParallelism());
  const writer = new LakeWriter(
    { origin: { clusterId: "bench", topic: "orders" }, limits: { rows: rowsPerFile, bytes: 1 << 30, ageMs: 3_600_000 }, maxEventSkewMs: Number.MAX_SAFE_INTEGER / 4 },
    encoder,
    quiet,
    { onFlushed: () => undefined, onFlushFailed: (p, e) => console.error(`flush of ${p} failed: ${e.message}`), onLeaseLost: () => undefined },
    diskLakeStore(lakeDir),
  );
  const partitions = Array.from({ length: PARTITIONS }, (_, p) => p);
  await writer.recoverAndOpen(partitions);
  // 100 orders/s of event time: 1M rows span ~2.8 h, 10M ~28 h (two days).
  const generator = new OrderGenerator({ seed: 7, startMs: Date.parse("2026-11-20T00:00:00Z"), ratePerSecond: 100, chaos: NO_CHAOS, windowSizeMs: 60_000, watermarkDelayMs: 120_000, maxEventSkewMs: 600_000 });
  const offsets = new Array<number>(PARTITIONS).fill(0);
  let probe = "";
  for (let i = 0; i < rows; i++) {
    const m = generator.next();
    const p = i % PARTITIONS;
    if (i === Math.floor(rows / 2)) probe = (JSON.parse(m.value.toString("utf8")) as { order_id: string }).order_id;
    writer.append(p, { offset: offsets[p]!++, value: m.value, timestamp: m.timestamp }, m.timestamp);
    if (writer.dueForFlush(p, 0)) {
      const running = writer.flushing(p);
      if (running) await running;
      void writer.flush(p, "rows");
    }
    if (writer.pending.rows > 200_000) await writer.oldestFlush;
  }
  await writer.flushAll(Date.now() + 600_000);
  await writer.closeAll();
  await encoder.close();
  return probe;
}

async function timeQueries(lakeDir: string, queries: Record<string, string>, rounds: number): Promise<Record<string, number[]>> {
  const live = liveLakeFiles(await listLakeFiles(lakeDir));
  const db = await DuckDBInstance.create(":memory:", { threads: "2" });
  const connection = await db.connect();
  await defineLakeViews(connection, { lakeDir, live, businessTz: "UTC", index: EMPTY_FIRST_COPY_INDEX });
  const out: Record<string, number[]> = {};
  for (const [name, sql] of Object.entries(queries)) {
    out[name] = [];
    for (let round = 0; round <= rounds; round++) {
      const started = performance.now();
      await connection.runAndReadAll(sql);
      if (round > 0) out[name].push(performance.now() - started); // round 0 warms the page cache
    }
  }
  connection.closeSync();
  db.closeSync();
  return out;
}

interface LakeQueryFigures {
  rows: number;
  rowsPerFile: number;
  files: { written: number; compacted: number };
  writeSeconds: number;
  compactSeconds: number;
  queries: QueryFigure[];
}

async function lakeQueries(rows: number, rowsPerFile: number, rounds: number, scratch: string): Promise<LakeQueryFigures> {
  const lakeDir = join(scratch, "lake-query");
  let started = performance.now();
  const probe = await writeLake(lakeDir, rows, rowsPerFile);
  const writeSeconds = (performance.now() - started) / 1000;
  const queries = {
    "daily KPIs": `SELECT CAST(event_time AS DATE) AS day, count(*) AS orders, sum(amount_cents) AS revenue_cents, count(DISTINCT customer_id) AS customers, sum(quantity) AS items FROM orders GROUP BY day ORDER BY day`,
    "point lookup by order_id": `SELECT * FROM orders WHERE order_id = '${probe.replaceAll("'", "''")}'`,
  };
  const writtenFiles = liveLakeFiles(await listLakeFiles(lakeDir)).length;
  log(`lake of ${rows} rows in ${rowsPerFile}-row files written in ${writeSeconds.toFixed(1)} s (${writtenFiles} files); querying`);
  const written = await timeQueries(lakeDir, queries, rounds);
  started = performance.now();
  const summary = await compactLake(lakeDir, { quietMs: 0, offsetsPerFile: 200_000, graceMs: 0 }, { log: pino({ level: "silent" }) });
  const compactSeconds = (performance.now() - started) / 1000;
  if (summary.failed > 0) throw new Error(`compaction failed for ${summary.failed} groups`);
  const compactedFiles = liveLakeFiles(await listLakeFiles(lakeDir)).length;
  log(`compacted in ${compactSeconds.toFixed(1)} s: ${summary.merges} merges, ${compactedFiles} files`);
  const compacted = await timeQueries(lakeDir, queries, rounds);
  rmSync(lakeDir, { recursive: true, force: true });
  return {
    rows,
    rowsPerFile,
    files: { written: writtenFiles, compacted: compactedFiles },
    writeSeconds,
    compactSeconds,
    queries: Object.keys(queries).map((query) => ({ query, writtenMs: spread(written[query]!), compactedMs: spread(compacted[query]!), ratio: median(written[query]!) / median(compacted[query]!) })),
  };
}

// ---------------------------------------------------------------- report

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

function markdown(result: BenchResult): string {
  const t = result.throughput;
  const ratio = (key: string) => {
    const r = t.ratios[key]!;
    const c = t.cpuRatios[key]!;
    return `${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)}); per CPU s ${c.median.toFixed(2)}`;
  };
  const range = (s: Spread) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
  const lines = [
    `Machine: ${result.machine.cpu}, ${result.machine.cores} cores, ${result.machine.memoryGiB} GiB, node ${result.machine.node}; load average ${result.machine.loadBefore.join(" ")} before, ${result.machine.loadAfter.join(" ")} after (${result.when}).`,
    "",
    `| figure | measured (median, min–max of ${t.rounds} rounds) | baseline (same run) | ratio, per round (median, min–max) | target |`,
    "| --- | --- | --- | --- | --- |",
    `| metrics worker, msg/s | ${range(t.metrics)} | ${range(t.baseline)} | ${ratio("metrics")} | ≥ 0.9 |`,
    `| lake worker, rows/s committed, parquetjs-lite (default) | ${range(t.lake)} | ${range(t.baseline)} | ${ratio("lake")} | ≥ 0.8 |`,
    `| lake worker, rows/s committed, DuckDB writer | ${range(t.lakeDuckdb)} | ${range(t.baseline)} | ${ratio("lakeDuckdb")} | ≥ 0.8 |`,
  ];
  for (const p of result.latency.phases) lines.push(`| produce → browser at ${fmt(p.ratePerSecond)}/s, p50 / p95 / p99 ms | ${p.p50} / ${p.p95} / ${p.p99} (${fmt(p.seen)} of ${fmt(p.orders)} seen) | EMIT_INTERVAL 500 ms | – | p99 ≤ 750 |`);
  const soakMinutes = result.latency.soakSeconds / 60;
  for (const r of result.latency.rss) {
    lines.push(`| RSS ${r.worker} worker at 5k/s: start → 1 min${soakMinutes > 1 ? ` → ${soakMinutes} min` : ""} | ${mib(r.startBytes)} → ${mib(r.oneMinuteBytes)}${soakMinutes > 1 ? ` → ${mib(r.endBytes)}` : ""} | start | ${(1 + r.growth).toFixed(2)} | ≤ 1.10 |`);
    if (r.warmedUpBytes !== undefined && r.steadyGrowth !== undefined)
      lines.push(`| RSS ${r.worker} worker at 5k/s, warmed up: ${WARMED_UP_SECONDS / 60} min → ${soakMinutes} min | ${mib(r.warmedUpBytes)} → ${mib(r.endBytes)} | ${WARMED_UP_SECONDS / 60} min | ${(1 + r.steadyGrowth).toFixed(2)} | ≤ 1.10 |`);
  }
  for (const q of result.lakeQuery)
    for (const f of q.queries)
      lines.push(`| lake ${f.query}, ${fmt(q.rows)} rows, ms as written in ${fmt(q.rowsPerFile)}-row files (${q.files.written} files) | ${f.writtenMs.median.toFixed(0)} (${f.writtenMs.min.toFixed(0)}–${f.writtenMs.max.toFixed(0)}) | compacted (${q.files.compacted} files): ${f.compactedMs.median.toFixed(0)} | ${f.ratio.toFixed(2)} | ≤ 1.2 |`);
  return lines.join("\n");
}

interface BenchResult {
  when: string;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; loadBefore: string[]; loadAfter: string[] };
  options: { backlog: number; rounds: number; full: boolean };
  throughput: { backlog: number; partitions: number; rounds: number; baseline: Spread; metrics: Spread; lake: Spread; lakeDuckdb: Spread; ratios: Record<string, Spread>; cpuRatios: Record<string, Spread> };
  latency: Awaited<ReturnType<typeof latencyAndRss>>;
  lakeQuery: LakeQueryFigures[];
}

async function main(): Promise<void> {
  const opts = new Command("bench-e2e")
    .option("--backlog <n>", "orders pre-filled for the throughput rounds", positiveInt, 200_000)
    .option("--rounds <n>", "throughput rounds (median and spread)", positiveInt, 3)
    .option("--lake-rows <n>", "rows of the lake the queries run on (default 1M; 10M with --full)", positiveInt)
    .option("--full", "10M-row lake and a 10-minute soak at 5,000/s", false)
    .option("--cpu-prof <dir>", "run the workers of the throughput rounds under node --cpu-prof, profiles into <dir>")
    .option("--only <parts>", "comma-separated subset: throughput,latency,query (for profiling; latest.json is written only for a full set)")
    .parse()
    .opts<{ backlog: number; rounds: number; lakeRows?: number; full: boolean; only?: string; cpuProf?: string }>();
  profileArgs = opts.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProf}`] : [];
  const parts = new Set((opts.only ?? "throughput,latency,query").split(","));
  const env = environment();
  const scratch = mkdtempSync(join(tmpdir(), "orderpulse-bench-e2e-"));
  const loadBefore = loadavg().map((l) => l.toFixed(2));
  const started = Date.now();
  try {
    let throughput: BenchResult["throughput"] | undefined;
    if (parts.has("throughput")) {
      const topic = `bench-e2e-${randomUUID().slice(0, 8)}`;
      await createTopics(env.brokers, devTopics(topic, PARTITIONS));
      const producer = env.kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      const generator = new OrderGenerator({
        seed: 1,
        startMs: Date.now() - 3_600_000,
        ratePerSecond: 200,
        chaos: { duplicates: 0.02, late: 0.01, outOfOrder: 0.05, malformed: 0.01, nulls: 0.02, skew: 0.005 },
        windowSizeMs: 60_000,
        watermarkDelayMs: 120_000,
        maxEventSkewMs: 600_000,
      });
      await produce(producer, topic, generator, opts.backlog);
      await producer.disconnect();
      log(`pre-filled ${topic} with ${opts.backlog} orders on ${PARTITIONS} partitions`);
      const rounds: ThroughputRound[] = [];
      for (let round = 1; round <= opts.rounds; round++) rounds.push(await throughputRound(env, topic, opts.backlog, round, scratch));
      const pick = (key: keyof ThroughputRound) => spread(rounds.map((r) => r[key].perSecond));
      const ratioOf = (key: Exclude<keyof ThroughputRound, "baseline">, per: keyof Rate) => spread(rounds.map((r) => r[key][per] / r.baseline[per]));
      throughput = {
        backlog: opts.backlog,
        partitions: PARTITIONS,
        rounds: opts.rounds,
        baseline: pick("baseline"),
        metrics: pick("metrics"),
        lake: pick("lake"),
        lakeDuckdb: pick("lakeDuckdb"),
        // Per round against that round's baseline: wall-clock rates (the target), and rates per CPU second of each process,
        // which the other processes on a shared machine move far less (a worker using 2 cores cannot show it there).
        ratios: { metrics: ratioOf("metrics", "perSecond"), lake: ratioOf("lake", "perSecond"), lakeDuckdb: ratioOf("lakeDuckdb", "perSecond") },
        cpuRatios: { metrics: ratioOf("metrics", "perCpuSecond"), lake: ratioOf("lake", "perCpuSecond"), lakeDuckdb: ratioOf("lakeDuckdb", "perCpuSecond") },
      };
    }
    const latency = parts.has("latency") ? await latencyAndRss(env, opts.full ? 600 : 60, scratch) : undefined;
    let lakeQuery: LakeQueryFigures[] | undefined;
    if (parts.has("query")) {
      lakeQuery = [];
      for (const rowsPerFile of LAKE_LAYOUTS) lakeQuery.push(await lakeQueries(opts.lakeRows ?? (opts.full ? 10_000_000 : 1_000_000), rowsPerFile, 9, scratch));
    }
    const machine = { cpu: cpus()[0]?.model ?? "unknown", cores: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadBefore, loadAfter: loadavg().map((l) => l.toFixed(2)) };
    const partial = { when: new Date().toISOString(), seconds: Math.round((Date.now() - started) / 1000), machine, options: opts, throughput, latency, lakeQuery };
    const dir = join(ROOT, "bench", "results");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `e2e-${partial.when.replaceAll(":", "-")}.json`), `${JSON.stringify(partial, null, 2)}\n`);
    if (throughput && latency && lakeQuery) {
      const result: BenchResult = { ...partial, throughput, latency, lakeQuery, options: { backlog: opts.backlog, rounds: opts.rounds, full: opts.full } };
      writeFileSync(join(dir, "latest.json"), `${JSON.stringify({ ...result, seconds: partial.seconds }, null, 2)}\n`);
      console.log(markdown(result));
    } else console.log(JSON.stringify(partial, null, 2));
    log(`done in ${partial.seconds} s`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
