import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../scripts/free-port.ts";
import { createTopics, startKafka, stopKafka, type KafkaBroker } from "../scripts/kafka/broker.ts";
import { FAST_RETENTION_BROKER, retentionSettled, SMALL_RETENTION } from "./support/retention.ts";
import { influxQuery, seriesRows } from "../workers/shared/influxql.ts";
import { runScript, servicesEnv, tempDir } from "./support/processes.ts";
import { waitFor, WorkerProcess } from "./support/workers.ts";

let broker: KafkaBroker | undefined;
let worker: WorkerProcess | undefined;
afterAll(async () => {
  if (worker?.child.exitCode === null) await worker.kill("SIGKILL");
  if (broker) await stopKafka(broker);
});

describe("offset gaps", () => {
  it("reports data removed by retention before it was read: log line, metric and pipeline point", async () => {
    // Retention on a real broker: 1 MiB segments (Kafka 4's minimum), 1 MiB kept, checked every 500 ms.
    broker = await startKafka({ dir: tempDir("gap"), config: FAST_RETENTION_BROKER, topics: { "orders.dlq": 1, "orders.metrics": 1 } });
    await createTopics(broker.bootstrap, { orders: 1 }, SMALL_RETENTION);
    const run = await runScript("workers/simulator.ts", ["--rate", "0", "--count", "60000", "--seed", "4"], { KAFKA_BROKERS: broker.bootstrap });
    expect(run.code, run.stderr).toBe(0);
    const removed = await retentionSettled(broker.bootstrap, "orders");
    expect(removed).toBeGreaterThan(0);

    const influx = { version: 1 as const, url: servicesEnv().INFLUX_URL!, database: `gap_${Date.now()}` };
    const healthPort = await freePort();
    worker = new WorkerProcess("workers/metrics.ts", { KAFKA_BROKERS: broker.bootstrap, INFLUX_URL: influx.url, INFLUX_DB: influx.database, HEALTH_PORT: String(healthPort), KAFKA_SESSION_TIMEOUT: "6s" });
    await worker.waitForOutput(/OFFSET GAP/, 90_000);
    expect(worker.output).toContain(`"expected":0,"got":${removed},"missed":${removed}`);
    const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`orderpulse_missed_messages_total\\{partition="0",worker="metrics"\\} ${removed}\\b`));
    const point = await waitFor("a pipeline point with the gap", async () => {
      const rows = seriesRows(await influxQuery(influx, `SELECT last("missed_messages") AS missed, last("offset_gaps") AS gaps FROM "pipeline" WHERE "partition" = '0'`));
      return rows[0] && Number(rows[0].missed) === removed ? rows[0] : undefined;
    }, 30_000);
    expect(point.gaps).toBe(1);
    expect(await worker.kill("SIGTERM")).toBe(0);
  });
});
