/**
 * Fault (b): the Apache Kafka broker killed with SIGKILL while both workers work through a backlog, down for a random
 * few seconds, then restarted on the same data. The same worker processes must resume (no exit, no restart by hand),
 * take the orders produced after the restart too, and lose nothing: lake and InfluxDB equal both runs' truth.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { killKafka, startKafka } from "../../scripts/kafka/broker.ts";
import { Prng } from "../../lib/sim/prng.ts";
import { listLakeFiles } from "../../workers/shared/lake-files.ts";
import { sleep, waitFor } from "../support/workers.ts";
import { faultSeed, recordFigures } from "./support/figures.ts";
import { checkInflux, checkLake, expectNoTemporaryFiles, lakeCaughtUp, topicEnds } from "./support/pipeline.ts";
import { CHAOS, expectAlive, FaultWorld, stopGracefully } from "./support/scenario.ts";

const BACKLOG = 40_000;
const AFTER = 10_000;
const SEED = faultSeed();
const START = Date.parse("2026-11-20T10:00:00Z");
const world = new FaultWorld("broker-restart");
afterAll(() => world.close());

describe("fault (b): the broker killed and restarted", () => {
  it(`both workers resume after kill -9 of the broker mid-run and lose nothing (seed ${SEED})`, async () => {
    const started = Date.now();
    const prng = new Prng(SEED);
    await world.startBroker();
    const truth = [join(world.dir, "truth-before.ndjson"), join(world.dir, "truth-after.ndjson")];
    // 200 orders per simulated second: the backlog spans 200 s of event time, many windows.
    const before = await world.simulate(["--rate", "0", "--sim-rate", "200", "--count", String(BACKLOG), "--seed", String(SEED), "--start", new Date(START).toISOString(), "--truth", truth[0]!, ...CHAOS], 180_000);
    const metrics = world.worker("metrics");
    const lake = world.worker("lake");
    // The kill lands mid-backlog: the lake (the slower worker) has committed a random share of it.
    const share = 0.1 + 0.4 * prng.next();
    await waitFor(`the lake at ${Math.round(share * 100)}% of the backlog`, async () => {
      expectAlive(lake, "the lake worker");
      const { markers } = await listLakeFiles(world.lakeDir).catch(() => ({ markers: new Map<number, { nextOffset: number }>() }));
      return [...markers.values()].reduce((s, m) => s + m.nextOffset, 0) >= share * BACKLOG ? true : undefined;
    }, 180_000, 100);
    const { bootstrap, pid } = world.broker;
    await killKafka(world.broker);
    const downMs = prng.int(5_000, 15_000);
    await sleep(downMs);
    expectAlive(metrics, "the metrics worker (broker down)");
    expectAlive(lake, "the lake worker (broker down)");
    world.broker = await startKafka({ dir: join(world.dir, "broker") });
    expect(world.broker.bootstrap).toBe(bootstrap);
    expect(world.broker.pid).not.toBe(pid);
    // New orders after the restart, later in event time.
    const after = await world.simulate(["--rate", "2000", "--count", String(AFTER), "--seed", String(SEED + 1), "--start", new Date(START + 400_000).toISOString(), "--truth", truth[1]!, ...CHAOS], 120_000);

    const ends = await topicEnds(world.broker.bootstrap);
    expect([...ends.values()].reduce((a, b) => a + b, 0)).toBe(BACKLOG + AFTER);
    await lakeCaughtUp(world.lakeDir, ends, [lake]);
    const influx = await checkInflux(world.influx, world.broker.bootstrap, truth, [metrics]);
    const checked = await checkLake(world.lakeDir, ends, truth, before.malformed! + before.skewed! + after.malformed! + after.skewed!);
    // The very processes that saw the broker die did the work (two started, none restarted).
    expect(world.started).toHaveLength(2);
    await stopGracefully(metrics, "the metrics worker");
    await stopGracefully(lake, "the lake worker");
    expectNoTemporaryFiles(world.lakeDir);
    const restarts = (w: typeof metrics) => (w.output.match(/the Kafka consumer stopped; restarting it/g) ?? []).length;
    recordFigures("b-broker-restart", {
      seed: SEED,
      runs: world.started.length,
      faultsInjected: 1,
      rowsChecked: checked.rowsChecked + influx.windowsChecked,
      lost: checked.lost + influx.ordersLost,
      duplicated: checked.duplicated + influx.ordersDuplicated,
      durationMs: Date.now() - started,
      details: { killedAtLakeShare: Number(share.toFixed(3)), brokerDownMs: downMs, consumerRestarts: { metrics: restarts(metrics), lake: restarts(lake) }, influxWindows: influx.windowsChecked, influxOrders: influx.ordersChecked, resentBeyondHorizon: influx.resentBeyondHorizon },
    });
  });
});
