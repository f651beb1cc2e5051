/**
 * Fault (c): InfluxDB stopped for FAULT_INFLUX_DOWN (default 5 minutes, what CI runs) while orders arrive at a steady
 * rate. The metrics worker must pause consumption (lag grows, its buffer stays bounded, health says 503) instead of
 * dropping points, and once InfluxDB is back every window of the truth must be there, to the cent.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { parseDuration } from "../../lib/contract/duration.ts";
import { freePort } from "../../scripts/free-port.ts";
import { startInflux, stopInflux, type InfluxInfo } from "../../scripts/services.ts";
import { tempDir } from "../support/processes.ts";
import { sleep, waitFor } from "../support/workers.ts";
import { faultSeed, recordFigures } from "./support/figures.ts";
import { checkInflux } from "./support/pipeline.ts";
import { CHAOS, expectAlive, FaultWorld, stopGracefully } from "./support/scenario.ts";

const DOWN_MS = z
  .string()
  .default("5m")
  .transform((text) => parseDuration(text))
  .pipe(z.number().min(30_000, "FAULT_INFLUX_DOWN must be at least 30s: the worker needs time to stall"))
  .parse(process.env.FAULT_INFLUX_DOWN || undefined);
const RATE = 40;
const BUFFER_POINTS = 200;
const SEED = faultSeed();
let influx: InfluxInfo | undefined;
let world: FaultWorld;
afterAll(async () => {
  await world?.close();
  if (influx) await stopInflux(influx);
});

describe("fault (c): InfluxDB down", () => {
  it(`InfluxDB stopped for ${DOWN_MS / 1000} s at ${RATE} orders/s: the worker pauses, no window is missing (seed ${SEED})`, async () => {
    const started = Date.now();
    const dir = tempDir("fault-influx");
    influx = await startInflux({ dir });
    world = new FaultWorld("influx-outage", influx.url);
    await world.startBroker();
    const healthPort = await freePort();
    const metrics = world.worker("metrics", { INFLUX_BUFFER_POINTS: String(BUFFER_POINTS), HEALTH_PORT: String(healthPort) });
    await metrics.waitForOutput(/metrics worker running/);
    const truth = join(world.dir, "truth.ndjson");
    const durationS = Math.ceil(DOWN_MS / 1000) + 45;
    const simulation = world.simulate(["--rate", String(RATE), "--duration", `${durationS}s`, "--seed", String(SEED), "--truth", truth, ...CHAOS], (durationS + 120) * 1000);

    const health = async () => (await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status;
    const metric = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
      return text.split("\n").filter((l) => l.startsWith(name)).reduce((s, l) => s + Number(l.split(" ").at(-1)), 0);
    };
    await sleep(10_000);
    const port = Number(new URL(influx.url).port);
    await stopInflux(influx);
    const stoppedAt = Date.now();
    await metrics.waitForOutput(/pausing consumption/, 60_000);
    await waitFor("unhealthy while stalled with lag", async () => ((await health()) === 503 ? true : undefined), 60_000, 1_000);
    // Paused, not dropping: the lag keeps growing while the buffer stays at its bound.
    const samples: { lag: number; buffered: number }[] = [];
    while (Date.now() - stoppedAt < DOWN_MS) {
      expectAlive(metrics, "the metrics worker (InfluxDB down)");
      samples.push({ lag: await metric("orderpulse_lag"), buffered: await metric("orderpulse_buffered_points") });
      await sleep(Math.min(15_000, Math.max(0, DOWN_MS - (Date.now() - stoppedAt))));
    }
    influx = await startInflux({ dir, port });
    const downMs = Date.now() - stoppedAt;
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(samples.at(-1)!.lag).toBeGreaterThan(samples[0]!.lag);
    // The buffer holds at most what it holds when the worker pauses: one batch past the bound (INFLUX_BUFFER_POINTS).
    const maxBuffered = Math.max(...samples.map((s) => s.buffered));
    expect(maxBuffered).toBeGreaterThanOrEqual(BUFFER_POINTS);

    const summary = await simulation;
    const checked = await checkInflux(world.influx, world.broker.bootstrap, [truth], [metrics]);
    expect(checked.windowsMissing).toBe(0);
    expect(await health()).toBe(200);
    expect(metrics.output).toMatch(/resuming consumption/);
    await stopGracefully(metrics, "the metrics worker");
    recordFigures("c-influx-outage", {
      seed: SEED,
      runs: world.started.length,
      faultsInjected: 1,
      rowsChecked: checked.windowsChecked,
      lost: checked.ordersLost,
      duplicated: checked.ordersDuplicated,
      durationMs: Date.now() - started,
      details: { windowsMissing: checked.windowsMissing, influxDownMs: downMs, rate: RATE, sent: summary.sent, ordersChecked: checked.ordersChecked, resentBeyondHorizon: checked.resentBeyondHorizon, lagSamples: samples.map((s) => s.lag), maxBufferedPoints: maxBuffered },
    });
  });
});
