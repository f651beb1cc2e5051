/** Set-up shared by the fault scenarios: a broker of their own, a fresh InfluxDB database, the workers and the simulator. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { startKafka, stopKafka, type KafkaBroker } from "../../../scripts/kafka/broker.ts";
import { parseSummary, runScript, servicesEnv, tempDir } from "../../support/processes.ts";
import { TEST_WINDOW_ENV, WorkerProcess } from "../../support/workers.ts";

/** The simulator's chaos mix for the fault runs: every kind of bad and awkward input the contract knows. */
export const CHAOS = ["--duplicates", "0.03", "--late", "0.02", "--out-of-order", "0.05", "--malformed", "0.02", "--nulls", "0.03", "--skew", "0.01"];
export const PARTITIONS = 4;

export type Kind = "metrics" | "lake";
const SCRIPTS: Record<Kind, string> = { metrics: "workers/metrics.ts", lake: "workers/lake.ts" };

/** One scenario's world: its broker, database, lake folder, and every worker it started (killed at the end if still running). */
export class FaultWorld {
  readonly dir: string;
  readonly lakeDir: string;
  readonly influx: { version: 1; url: string; database: string };
  broker!: KafkaBroker;
  readonly started: WorkerProcess[] = [];

  constructor(readonly name: string, influxUrl = servicesEnv().INFLUX_URL!) {
    this.dir = tempDir(`fault-${name}`);
    this.lakeDir = join(this.dir, "lake");
    this.influx = { version: 1, url: influxUrl, database: `fault_${name.replace(/\W/g, "_")}_${Date.now()}` };
  }

  async startBroker(): Promise<KafkaBroker> {
    this.broker = await startKafka({ dir: join(this.dir, "broker"), topics: { orders: PARTITIONS, "orders.dlq": 2, "orders.metrics": 2 } });
    return this.broker;
  }

  /** Worker settings: short windows, small lake files closed within a second, a 6 s session so dead members leave soon. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      KAFKA_BROKERS: this.broker.bootstrap,
      KAFKA_TOPIC: "orders",
      INFLUX_URL: this.influx.url,
      INFLUX_DB: this.influx.database,
      LAKE_DIR: this.lakeDir,
      LAKE_ROTATE_ROWS: "2000",
      LAKE_ROTATE_AGE: "1s",
      ...TEST_WINDOW_ENV,
      KAFKA_SESSION_TIMEOUT: "6s",
      ...extra,
    };
  }

  worker(kind: Kind, extra: Record<string, string> = {}): WorkerProcess {
    const w = new WorkerProcess(SCRIPTS[kind], this.env(extra));
    this.started.push(w);
    return w;
  }

  /** Runs the simulator against this world's broker; resolves with its summary (sent, malformed, skewed, duplicate…). */
  async simulate(args: string[], timeoutMs: number): Promise<Record<string, number>> {
    const run = await runScript("workers/simulator.ts", args, { KAFKA_BROKERS: this.broker.bootstrap, ...TEST_WINDOW_ENV }, timeoutMs);
    expect(run.code, run.stderr).toBe(0);
    return parseSummary(run.stdout);
  }

  /** Kills what still runs, and keeps every worker's whole output in <dir>/logs for a failure's post-mortem. */
  async close(): Promise<void> {
    for (const w of this.started) if (alive(w)) await w.kill("SIGKILL");
    mkdirSync(join(this.dir, "logs"), { recursive: true });
    this.started.forEach((w, i) => writeFileSync(join(this.dir, "logs", `${i}-${w.child.spawnargs.at(-1)!.split("/").at(-1)}.log`), w.output));
    console.log(`fault scenario ${this.name}: worker logs in ${join(this.dir, "logs")}`);
    if (this.broker) await stopKafka(this.broker).catch(() => undefined);
    await fetch(`${this.influx.url}/query`, { method: "POST", body: new URLSearchParams({ q: `DROP DATABASE "${this.influx.database}"` }) }).catch(() => undefined);
  }
}

export const alive = (w: WorkerProcess) => w.child.exitCode === null && w.child.signalCode === null;

/** Fails if a worker exited when nobody stopped it: a crash, whatever its exit code. */
export function expectAlive(w: WorkerProcess, what: string): void {
  if (!alive(w)) throw new Error(`${what} exited on its own (code ${w.child.exitCode}, signal ${w.child.signalCode}):\n${w.output.slice(-3000)}`);
}

/** Stops a worker gracefully and expects exit 0. */
export async function stopGracefully(w: WorkerProcess, what: string): Promise<void> {
  expectAlive(w, what);
  expect(await w.kill("SIGTERM"), `${what}: ${w.output.slice(-2000)}`).toBe(0);
}
