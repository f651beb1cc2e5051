import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../scripts/free-port.ts";
import { influxCommand, influxQuery, seriesRows } from "../workers/shared/influxql.ts";
import { sharedKafka } from "./support/kafka.ts";
import { runScript, servicesEnv } from "./support/processes.ts";
import { waitFor, WorkerProcess } from "./support/workers.ts";

let worker: WorkerProcess | undefined;
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  if (worker?.child.exitCode === null) await worker.kill("SIGKILL");
  for (const step of cleanup.reverse()) await step();
});

describe("InfluxDB refusing points", () => {
  it("is counted per measurement in /metrics and the pipeline measurement, names the field, and turns health degraded", async () => {
    const kafka = await sharedKafka("refused", { orders: 1 }, cleanup);
    const influx = { version: 1 as const, url: servicesEnv().INFLUX_URL!, database: `refused_${Date.now()}` };
    // Someone wrote order_window.revenue as an integer before, in the same shard (InfluxDB 1.x fixes a field's type per
    // shard group, a week by default): every float revenue of that week is a field-type conflict.
    await influxCommand(influx, `CREATE DATABASE "${influx.database}"`);
    const written = await fetch(`${influx.url}/write?db=${influx.database}&precision=ms`, { method: "POST", body: `order_window,partition=9 revenue=1i ${Date.parse("2026-11-20T09:00:00Z")}` });
    expect(written.status).toBe(204);
    const run = await runScript("workers/simulator.ts", ["--rate", "0", "--count", "300", "--seed", "3", "--start", "2026-11-20T10:00:00Z"], kafka.env);
    expect(run.code, run.stderr).toBe(0);

    const healthPort = await freePort();
    worker = new WorkerProcess("workers/metrics.ts", { ...kafka.env, INFLUX_URL: influx.url, INFLUX_DB: influx.database, HEALTH_PORT: String(healthPort), KAFKA_SESSION_TIMEOUT: "6s", IDLE_TIMEOUT: "2s" });
    await worker.waitForOutput(/refused a point of order_window \(field revenue\)/, 90_000);
    const refused = await waitFor("refused points in /metrics", async () => {
      const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
      const match = /orderpulse_influx_refused_points\{measurement="order_window",worker="metrics"\} (\d+)/.exec(text);
      return match && Number(match[1]) > 0 ? Number(match[1]) : undefined;
    }, 30_000);
    const health = (await (await fetch(`http://127.0.0.1:${healthPort}/healthz`)).json()) as { status: string; reason: string };
    expect(health.status).toBe("degraded");
    expect(health.reason).toMatch(/InfluxDB refused \d+ of order_window points as malformed \(latest: field revenue of order_window\)/);
    // The other measurements still arrive, and the pipeline measurement carries the count.
    const point = await waitFor("refused_points in the pipeline measurement", async () => {
      const rows = seriesRows(await influxQuery(influx, `SELECT last("refused_points") AS refused FROM "pipeline" WHERE "worker" = 'metrics'`));
      return rows[0] && Number(rows[0].refused) > 0 ? rows[0] : undefined;
    }, 30_000);
    expect(Number(point.refused)).toBeGreaterThan(0);
    expect(Number(point.refused)).toBeLessThanOrEqual(refused);
    const byCountry = seriesRows(await influxQuery(influx, `SELECT count("orders") AS n FROM "order_window_by_country"`));
    expect(Number(byCountry[0]?.n)).toBeGreaterThan(0);
    expect(await worker.kill("SIGTERM")).toBe(0);
  });
});
