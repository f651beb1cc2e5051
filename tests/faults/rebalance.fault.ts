/**
 * Fault (d): rebalances mid-batch. One metrics and one lake worker run through a paced stream with big lake files
 * (a flush encodes for a while); three times a second worker of each kind joins, takes partitions, and leaves again
 * (SIGTERM) a random moment later, so partitions move while batches and flushes are under way. Nothing lost, nothing
 * duplicated: lake and InfluxDB equal the truth.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Prng } from "../../lib/sim/prng.ts";
import { sleep } from "../support/workers.ts";
import { faultSeed, recordFigures } from "./support/figures.ts";
import { checkInflux, checkLake, expectNoTemporaryFiles, lakeCaughtUp, topicEnds } from "./support/pipeline.ts";
import { CHAOS, expectAlive, FaultWorld, stopGracefully } from "./support/scenario.ts";

const ROUNDS = 3;
const EVENTS = 60_000;
const SEED = faultSeed();
const world = new FaultWorld("rebalance");
afterAll(() => world.close());

describe("fault (d): rebalance mid-batch", () => {
  it(`a second worker of each kind joins and leaves ${ROUNDS} times mid-batch: nothing lost or duplicated (seed ${SEED})`, async () => {
    const started = Date.now();
    const prng = new Prng(SEED);
    await world.startBroker();
    const big = { LAKE_ROTATE_ROWS: "8000", LAKE_ROTATE_AGE: "2s" };
    const truth = join(world.dir, "truth.ndjson");
    const simulation = world.simulate(["--rate", "1200", "--count", String(EVENTS), "--seed", String(SEED), "--truth", truth, ...CHAOS], 240_000);
    const metrics = world.worker("metrics");
    const lake = world.worker("lake", big);
    await lake.waitForOutput(/"msg":"flushed"/, 120_000);
    const rounds: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const joiners = [world.worker("metrics"), world.worker("lake", big)];
      // Partitions really moved: each joiner was assigned some (lake logs "partitions":[…], metrics "orders":[…]).
      for (const w of joiners) await w.waitForOutput(/"(partitions|orders)":\[\d[^\n]*"msg":"partitions assigned"/, 90_000);
      const stay = prng.int(500, 4_000);
      await sleep(stay);
      for (const w of joiners) await stopGracefully(w, `joiner of round ${round}`);
      expectAlive(metrics, "the first metrics worker");
      expectAlive(lake, "the first lake worker");
      rounds.push(`stayed ${stay}ms`);
      await sleep(prng.int(1_000, 3_000));
    }
    const summary = await simulation;
    const ends = await topicEnds(world.broker.bootstrap);
    await lakeCaughtUp(world.lakeDir, ends, [lake]);
    const influx = await checkInflux(world.influx, world.broker.bootstrap, [truth], [metrics]);
    const checked = await checkLake(world.lakeDir, ends, [truth], summary.malformed! + summary.skewed!);
    for (const w of world.started) expect(w.output, "no writer found its marker moved under it").not.toMatch(/MarkerMovedError|another lake worker has written the partition/);
    await stopGracefully(metrics, "the first metrics worker");
    await stopGracefully(lake, "the first lake worker");
    expectNoTemporaryFiles(world.lakeDir);
    recordFigures("d-rebalance", {
      seed: SEED,
      runs: world.started.length,
      faultsInjected: ROUNDS * 2 * 2, // each joiner's join and leave is a rebalance
      rowsChecked: checked.rowsChecked + influx.windowsChecked,
      lost: checked.lost + influx.ordersLost,
      duplicated: checked.duplicated + influx.ordersDuplicated,
      durationMs: Date.now() - started,
      details: { sent: summary.sent, rounds, influxWindows: influx.windowsChecked, influxOrders: influx.ordersChecked, resentBeyondHorizon: influx.resentBeyondHorizon },
    });
  });
});
