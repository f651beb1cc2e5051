import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { expect } from "vitest";
import { dlqSourceKey } from "../../lib/contract/dead-letter.ts";
import { decodeOrder } from "../../lib/contract/order.ts";
import { amountToCents } from "../../lib/contract/money.ts";
import { windowStartOf } from "../../lib/contract/time.ts";
import type { InfluxConfig } from "../../lib/contract/config.ts";
import { influxQuery, seriesRows } from "../../workers/shared/influxql.ts";
import { MEASUREMENTS, WINDOW_MEASUREMENTS } from "../../lib/hot/influx-points.ts";
import { ROOT } from "./processes.ts";

/** A long-running worker process under test. */
export class WorkerProcess {
  readonly child: ChildProcess;
  output = "";
  readonly exited: Promise<number | null>;

  constructor(script: string, env: Record<string, string | undefined>, args: string[] = []) {
    // node itself, with tsx as a loader: a signal reaches the worker, not a wrapper process.
    this.child = spawn(process.execPath, ["--import", "tsx", join(ROOT, script), ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "info", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.on("data", (d) => (this.output += d));
    this.child.stderr!.on("data", (d) => (this.output += d));
    this.exited = new Promise((res) => this.child.on("exit", (code) => res(code)));
  }

  /** Signals the worker and waits for it to exit. */
  kill(signal: NodeJS.Signals): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }

  async waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output:\n${this.output.slice(-3000)}`);
      if (this.child.exitCode !== null) throw new Error(`worker exited (${this.child.exitCode}) before ${pattern}; output:\n${this.output.slice(-3000)}`);
      await sleep(100);
    }
  }
}

/** Starts a worker and registers its SIGKILL (if still running) with a test file's clean-up steps. */
export function trackedWorker(cleanup: (() => Promise<unknown>)[], script: string, env: Record<string, string | undefined>, args: string[] = []): WorkerProcess {
  const w = new WorkerProcess(script, env, args);
  cleanup.push(() => (w.child.exitCode === null ? w.kill("SIGKILL") : Promise.resolve()));
  return w;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (/the worker exited/.test((error as Error).message)) throw error;
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(everyMs);
  }
}

export interface MinuteTotals {
  revenueCents: number;
  orders: number;
}

/** Expected revenue and orders per window, from the simulator's truth file (every valid, de-duplicated order). */
export function truthByWindow(truthFile: string, windowSizeMs: number): Map<number, MinuteTotals> {
  const totals = new Map<number, MinuteTotals>();
  for (const line of readFileSync(truthFile, "utf8").split("\n")) {
    if (!line) continue;
    const result = decodeOrder(Buffer.from(line), Number.MAX_SAFE_INTEGER / 2, 0);
    if (!result.ok) throw new Error(`truth line does not decode: ${line}`);
    const start = windowStartOf(result.order.eventTime, windowSizeMs);
    const t = totals.get(start) ?? { revenueCents: 0, orders: 0 };
    t.revenueCents += amountToCents(result.order.amount);
    t.orders += 1;
    totals.set(start, t);
  }
  return totals;
}

const toCents = (x: unknown) => Math.round(Number(x) * 100);

/** Every point of the hot path's measurements, as comparable text rows (sorted). */
export async function dumpHotPath(influx: InfluxConfig): Promise<Record<string, string[]>> {
  const dump: Record<string, string[]> = {};
  for (const measurement of [...WINDOW_MEASUREMENTS, MEASUREMENTS.anomaly]) {
    const rows = seriesRows(await influxQuery(influx, `SELECT * FROM "${measurement}"`, 30_000));
    dump[measurement] = rows.map((r) => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]]))).sort();
  }
  return dump;
}

export interface HotPathTotals {
  /** On-time values per window (summed over partitions). */
  onTime: Map<number, MinuteTotals>;
  late: Map<number, MinuteTotals>;
  duplicate: Map<number, MinuteTotals>;
  /** Windows with a partial (final = 0) value left for some partition. */
  openWindows: number;
}

export async function hotPathTotals(influx: InfluxConfig, windowSizeMs: number): Promise<HotPathTotals> {
  const add = (m: Map<number, MinuteTotals>, start: number, cents: number, orders: number) => {
    const t = m.get(start) ?? { revenueCents: 0, orders: 0 };
    t.revenueCents += cents;
    t.orders += orders;
    m.set(start, t);
  };
  const onTime = new Map<number, MinuteTotals>();
  let openWindows = 0;
  for (const r of seriesRows(await influxQuery(influx, `SELECT "revenue","orders","final" FROM "order_window"`, 30_000))) {
    add(onTime, Number(r.time), toCents(r.revenue), Number(r.orders));
    if (Number(r.final) !== 1) openWindows++;
  }
  const late = new Map<number, MinuteTotals>();
  const duplicate = new Map<number, MinuteTotals>();
  for (const r of seriesRows(await influxQuery(influx, `SELECT "revenue","orders","kind" FROM "order_anomaly"`, 30_000))) {
    add(r.kind === "late" ? late : duplicate, windowStartOf(Number(r.time), windowSizeMs), toCents(r.revenue), Number(r.orders));
  }
  return { onTime, late, duplicate, openWindows };
}

export function sumOrders(m: Map<number, MinuteTotals>): number {
  return [...m.values()].reduce((s, t) => s + t.orders, 0);
}

export const TEST_WINDOW_MS = 10_000;
/** Short windows and delays keep integration tests quick; the code path is the one 1-minute windows take. */
export const TEST_WINDOW_ENV = { WINDOW_SIZE: "10s", WATERMARK_DELAY: "5s", IDLE_TIMEOUT: "1s", EMIT_INTERVAL: "200ms", KAFKA_SESSION_TIMEOUT: "6s" };

/** Waits until every window in InfluxDB is final and on-time + late orders add up to `expectedOrders`; fails fast if every worker died. */
export function hotPathSettled(influx: InfluxConfig, expectedOrders: number, workers: WorkerProcess[], timeoutMs = 150_000): Promise<HotPathTotals> {
  return waitFor("every window final in InfluxDB", async () => {
    if (workers.length > 0 && workers.every((w) => w.child.exitCode !== null)) {
      throw new Error(`the worker exited:\n${workers.map((w) => w.output.slice(-1500)).join("\n")}`);
    }
    const totals = await hotPathTotals(influx, TEST_WINDOW_MS);
    return totals.openWindows === 0 && sumOrders(totals.onTime) + sumOrders(totals.late) === expectedOrders ? totals : undefined;
  }, timeoutMs).catch((error: Error) => {
    throw new Error(`${error.message}\n${workers.map((w) => w.output.slice(-2000)).join("\n")}`);
  });
}

/** Every window of the truth: on-time + late in InfluxDB equal it, to the cent. */
export function expectTotalsEqualTruth(totals: HotPathTotals, truth: Map<number, MinuteTotals>): void {
  for (const [start, t] of truth) {
    const onTime = totals.onTime.get(start) ?? { revenueCents: 0, orders: 0 };
    const late = totals.late.get(start) ?? { revenueCents: 0, orders: 0 };
    expect({ start, revenueCents: onTime.revenueCents + late.revenueCents, orders: onTime.orders + late.orders }).toEqual({ start, ...t });
  }
}

/** Reads `<topic>.dlq` until `expected` distinct source offsets arrived (and a moment more, so extras show): source keys and reject codes. */
export async function readDeadLetters(bootstrap: string, expected: number, topic = "orders.dlq"): Promise<{ sources: Set<string>; reasons: Set<string> }> {
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `dlq-reader-${Date.now()}` });
  await consumer.connect();
  const sources = new Set<string>();
  const reasons = new Set<string>();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        sources.add(dlqSourceKey(message.headers ?? {})!);
        reasons.add(String(message.headers?.["orderpulse-reject-code"]));
      },
    });
    await waitFor("dead letters", async () => (sources.size >= expected ? true : undefined), 30_000);
    await sleep(500);
  } finally {
    await consumer.disconnect();
  }
  return { sources, reasons };
}
