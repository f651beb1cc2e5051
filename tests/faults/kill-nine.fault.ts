/**
 * Fault (a): 20 SIGKILLs at random moments across the metrics and lake workers during one paced run with the
 * simulator's chaos; each killed worker is started again at once. The lake must end with 0 lost and 0 duplicated
 * rows and InfluxDB's windows must equal the truth.
 */
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { Prng } from "../../lib/sim/prng.ts";
import { sleep } from "../support/workers.ts";
import { faultSeed, recordFigures } from "./support/figures.ts";
import { checkInflux, checkLake, expectNoTemporaryFiles, lakeCaughtUp, topicEnds } from "./support/pipeline.ts";
import { CHAOS, expectAlive, FaultWorld, stopGracefully, type Kind } from "./support/scenario.ts";

const KILLS = 20;
const RATE = 500;
const EVENTS = 60_000;
const SEED = faultSeed();
const world = new FaultWorld("kill-nine");
afterAll(() => world.close());

describe("fault (a): kill -9", () => {
  it(`${KILLS} SIGKILLs across both workers during one run: 0 lost, 0 duplicated, InfluxDB equals the truth (seed ${SEED})`, async () => {
    const started = Date.now();
    const prng = new Prng(SEED);
    await world.startBroker();
    const truth = join(world.dir, "truth.ndjson");
    const simulation = world.simulate(["--rate", String(RATE), "--count", String(EVENTS), "--seed", String(SEED), "--truth", truth, ...CHAOS], 300_000);
    const current: Record<Kind, ReturnType<typeof world.worker>> = { metrics: world.worker("metrics"), lake: world.worker("lake") };
    const kills: string[] = [];
    for (let i = 0; i < KILLS; i++) {
      const kind: Kind = prng.next() < 0.5 ? "metrics" : "lake";
      const delay = prng.int(1_000, 6_000);
      await sleep(delay);
      for (const k of ["metrics", "lake"] as const) expectAlive(current[k], `the ${k} worker`);
      await current[kind].kill("SIGKILL");
      kills.push(`${kind}+${delay}ms`);
      current[kind] = world.worker(kind);
    }
    const summary = await simulation;
    const ends = await topicEnds(world.broker.bootstrap);
    await lakeCaughtUp(world.lakeDir, ends, [current.lake]);
    const influx = await checkInflux(world.influx, world.broker.bootstrap, [truth], [current.metrics]);
    const lake = await checkLake(world.lakeDir, ends, [truth], summary.malformed! + summary.skewed!);
    for (const k of ["metrics", "lake"] as const) await stopGracefully(current[k], `the last ${k} worker`);
    expectNoTemporaryFiles(world.lakeDir);
    recordFigures("a-kill-9", {
      seed: SEED,
      runs: world.started.length,
      faultsInjected: KILLS,
      rowsChecked: lake.rowsChecked + influx.windowsChecked,
      lost: lake.lost + influx.ordersLost,
      duplicated: lake.duplicated + influx.ordersDuplicated,
      durationMs: Date.now() - started,
      details: { sent: summary.sent, invalid: lake.invalidRows, influxWindows: influx.windowsChecked, influxOrders: influx.ordersChecked, resentBeyondHorizon: influx.resentBeyondHorizon, windowsMissing: influx.windowsMissing, kills },
    });
  });
});
