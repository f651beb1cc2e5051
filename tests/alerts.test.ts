import { createServer, type Server } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Kafka, logLevel } from "kafkajs";
import { MEASUREMENTS, pipelinePoint } from "../lib/hot/influx-points.ts";
import { processedPosition } from "../lib/ops/consumer-lag.ts";
import { groupCommits, topicOffsets } from "../workers/shared/kafka-admin.ts";
import { InfluxSink } from "../workers/shared/influx-sink.ts";
import { influxQuery, seriesRows } from "../workers/shared/influxql.ts";
import { sharedKafka } from "./support/kafka.ts";
import { runScript, servicesEnv, tempDir } from "./support/processes.ts";
import { sleep, TEST_WINDOW_ENV, trackedWorker, waitFor } from "./support/workers.ts";

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

interface Received {
  rule: string;
  group: string;
  state: string;
  value: number;
  threshold: number;
  since: string;
  text: string;
}

/** A local webhook receiver on 127.0.0.1; the first `failFirst` posts get a 503 (the worker must retry them). */
async function receiver(failFirst: number): Promise<{ url: string; received: Received[]; attempts: () => number }> {
  const received: Received[] = [];
  let attempts = 0;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      attempts++;
      if (attempts <= failFirst) {
        res.writeHead(503).end();
        return;
      }
      received.push(JSON.parse(body) as Received);
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(() => new Promise((r) => server.close(r)));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/hook`, received, attempts: () => attempts };
}

describe("alerts worker against InfluxDB", () => {
  it("posts exactly one firing per rule when lag rises and invalid orders spike, none again after a restart, and one resolved after recovery", async () => {
    const influx = { version: 1 as const, url: servicesEnv().INFLUX_URL!, database: `alerts_${Date.now()}` };
    const sink = new InfluxSink(influx, { maxBufferedPoints: 10_000 });
    await sink.init();
    const hook = await receiver(1);
    const rulesFile = join(tempDir("alerts"), "rules.yaml");
    writeFileSync(
      rulesFile,
      [
        "interval: 500ms",
        "rules:",
        "  consumer_lag: { messages: 1000, seconds: 100000, window: 6s, for: 2s }",
        "  dead_letter_rate: { share: 0.05, window: 6s, for: 2s }",
        "  watermark_delay: { enabled: false }",
        "  late_rate: { enabled: false }",
        "  no_orders: { enabled: false }",
        "  refused_points: { enabled: false }",
        "  worker_unhealthy: { enabled: false }",
      ].join("\n"),
    );
    // Synthetic pipeline points only: no Kafka figure (the real-stack test below has one).
    const env = { INFLUX_URL: influx.url, INFLUX_DB: influx.database, ALERT_RULES: rulesFile, ALERT_WEBHOOK_URL: hook.url, KAFKA_BROKERS: "" };

    // The metrics worker's pipeline samples for two partitions, every 500 ms: 100 msg/s each.
    const feed: { phase: "healthy" | "trouble" | "recovered" } = { phase: "healthy" };
    const counters = [0, 1].map(() => ({ consumed: 0, invalid: 0, lag: 0 }));
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const now = Date.now();
        for (const [partition, c] of counters.entries()) {
          c.consumed += 50;
          if (feed.phase === "trouble") {
            c.invalid += 10; // 20 % of input
            c.lag += 400; // the consumer falls behind
          } else c.lag = 0;
          sink.enqueue([pipelinePoint({ worker: "metrics", partition, at: now, lag: c.lag, watermark: now - 2_000, consumed: c.consumed, invalid: c.invalid, late: 0, duplicates: 0, offsetGaps: 0, missedMessages: 0, bufferedPoints: 0, refusedPoints: 0 })]);
        }
        await sink.flush();
        await sleep(500);
      }
    })();
    cleanup.push(async () => {
      writing = false;
      await writer;
      await sink.close();
    });

    let worker = trackedWorker(cleanup, "workers/alerts.ts", env);
    await worker.waitForOutput(/alerts worker started/, 30_000);
    await sleep(3_000);
    expect(hook.received, "a healthy pipeline raises nothing").toEqual([]);

    feed.phase = "trouble";
    const firing = await waitFor("both rules firing", async () => (hook.received.filter((b) => b.state === "firing").length >= 2 ? hook.received.slice() : undefined), 30_000, 200);
    expect(firing.map((b) => b.rule).sort()).toEqual(["consumer_lag", "dead_letter_rate"]);
    for (const body of firing) {
      expect(body.group).toBe("metrics");
      expect(body.value).toBeGreaterThan(body.threshold);
      expect(Date.parse(body.since)).toBeLessThan(Date.now());
      expect(body.text).toMatch(new RegExp(`^:rotating_light: \\[FIRING\\] ${body.rule} \\(metrics\\)`));
    }
    expect(hook.attempts(), "the first post was refused with 503 and retried").toBe(hook.received.length + 1);

    // Still in trouble for a while, and through a restart: nothing more is posted (the alert measurement restores the state).
    await sleep(2_000);
    expect(await worker.kill("SIGTERM")).toBe(0);
    worker = trackedWorker(cleanup, "workers/alerts.ts", env);
    await worker.waitForOutput(/"restoredFiring":2/, 30_000);
    await sleep(3_000); // longer than the rules' "for": a worker that forgot would have fired again by now
    expect(hook.received).toHaveLength(2);

    feed.phase = "recovered";
    await waitFor("both rules resolved", async () => (hook.received.filter((b) => b.state === "resolved").length >= 2 ? true : undefined), 30_000, 200);
    await sleep(2_000);
    expect(hook.received.map((b) => `${b.rule} ${b.state}`).sort()).toEqual(["consumer_lag firing", "consumer_lag resolved", "dead_letter_rate firing", "dead_letter_rate resolved"]);
    for (const body of hook.received.filter((b) => b.state === "resolved")) expect(body.text).toMatch(/^:white_check_mark: \[RESOLVED\]/);

    // The alert measurement holds the four changes, for the Pipeline page and Grafana.
    const rows = seriesRows(await influxQuery(influx, `SELECT "firing", "value", "threshold" FROM "${MEASUREMENTS.alert}" GROUP BY "rule", "group"`));
    expect(rows.map((r) => `${r.rule} ${r.group} ${r.firing}`).sort()).toEqual(["consumer_lag metrics 0", "consumer_lag metrics 1", "dead_letter_rate metrics 0", "dead_letter_rate metrics 1"]);
    expect(await worker.kill("SIGTERM")).toBe(0);
  });
});

describe("alerts worker against the real stack (Apache Kafka, InfluxDB, the metrics and lake workers, the simulator)", () => {
  it("stopping the metrics worker fires consumer_lag once from Kafka's figure, malformed orders fire dead_letter_rate once, and each resolves once after recovery", async () => {
    const dir = tempDir("alerts-real");
    const cluster = await sharedKafka("alerts", { orders: 2 }, cleanup);
    const influx = { version: 1 as const, url: servicesEnv().INFLUX_URL!, database: `alerts_real_${Date.now()}` };
    const env = { ...cluster.env, INFLUX_URL: influx.url, INFLUX_DB: influx.database, LAKE_DIR: join(dir, "lake"), LAKE_ROTATE_ROWS: "1000", LAKE_ROTATE_AGE: "1s", ...TEST_WINDOW_ENV };
    const hook = await receiver(0);
    const rulesFile = join(dir, "rules.yaml");
    // The metrics worker writes a pipeline point every 5 s: a partition without one for 8 s stopped reporting.
    // seconds: 3600, so consumer_lag fires on messages, which only Kafka's figure can show while the worker is down.
    writeFileSync(
      rulesFile,
      [
        "interval: 500ms",
        "rules:",
        "  consumer_lag: { messages: 150, seconds: 3600, window: 10s, for: 2s }",
        "  dead_letter_rate: { share: 0.2, window: 12s, for: 2s }",
        "  worker_unhealthy: { enabled: false, stale: 8s }",
        "  watermark_delay: { enabled: false }",
        "  late_rate: { enabled: false }",
        "  no_orders: { enabled: false }",
        "  refused_points: { enabled: false }",
      ].join("\n"),
    );
    const admin = new Kafka({ brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    cleanup.push(() => admin.disconnect());
    /** The metrics group's lag per the committed offset and per the processed position its commit metadata records. */
    const groupLag = async () => {
      const [offsets, commits] = await Promise.all([topicOffsets(admin, cluster.topic), groupCommits(admin, `${cluster.groupPrefix}-metrics`, cluster.topic)]);
      let committed = 0;
      let processed = 0;
      for (const o of offsets) {
        const commit = commits.get(o.partition);
        committed += o.logEnd - Math.max(commit?.offset ?? o.logStart, o.logStart);
        const position = processedPosition(o.partition, commit, o.logStart);
        expect(position.from).toBe("processed");
        processed += o.logEnd - position.offset;
      }
      return { committed, processed };
    };

    // Steady traffic: 40 orders/s in real time, through both workers.
    const simulator = trackedWorker(cleanup, "workers/simulator.ts", env, ["--rate", "40", "--duration", "170s", "--seed", "3"]);
    let metrics = trackedWorker(cleanup, "workers/metrics.ts", env);
    const lake = trackedWorker(cleanup, "workers/lake.ts", env);
    const alerts = trackedWorker(cleanup, "workers/alerts.ts", { ...env, ALERT_RULES: rulesFile, ALERT_WEBHOOK_URL: hook.url });
    await alerts.waitForOutput(/"kafkaLag":true,"msg":"alerts worker started"/, 60_000);
    await waitFor("the metrics worker reports", async () => (seriesRows(await influxQuery(influx, `SELECT count("lag") FROM "${MEASUREMENTS.pipeline}"`)).length > 0 ? true : undefined), 60_000);
    await sleep(12_000);
    expect(hook.received, "steady traffic raises nothing").toEqual([]);
    // At steady state the committed offset trails by the de-duplication horizon (15 s of orders): lag measured from it
    // would already be over the 150-message limit; the processed position says how little really waits.
    const steady = await groupLag();
    expect(steady.committed).toBeGreaterThan(150);
    expect(steady.processed).toBeLessThan(150);

    // The metrics worker stops while orders keep coming: its pipeline points go stale, Kafka's lag grows.
    const stoppedAt = Date.now();
    expect(await metrics.kill("SIGTERM")).toBe(0);
    const lagFiring = await waitFor("consumer_lag firing", async () => hook.received.find((b) => b.rule === "consumer_lag"), 60_000, 200);
    expect(lagFiring).toMatchObject({ state: "firing", group: "metrics", threshold: 150 });
    expect(lagFiring.value).toBeGreaterThan(150);
    expect(lagFiring.text).toMatch(/from Kafka on partition\(s\) 0, 1 that stopped reporting, the oldest waiting \d+ s/);
    // About what was produced since the stop (40/s), not that plus a horizon.
    expect(lagFiring.value).toBeLessThanOrEqual((await groupLag()).processed);
    expect(lagFiring.value).toBeLessThan(40 * ((Date.now() - stoppedAt) / 1000) + 100);

    await sleep(3_000);
    expect(hook.received, "still lagging: nothing more is posted").toHaveLength(1);
    metrics = trackedWorker(cleanup, "workers/metrics.ts", env);
    await waitFor("consumer_lag resolved", async () => hook.received.find((b) => b.rule === "consumer_lag" && b.state === "resolved"), 90_000, 200);

    // Malformed orders: 30/s beside the 40 valid ones for 12 s, through the same topic.
    const malformed = await runScript("workers/simulator.ts", ["--rate", "30", "--duration", "12s", "--malformed", "1", "--seed", "4"], env);
    expect(malformed.code, malformed.stderr).toBe(0);
    const deadFiring = hook.received.find((b) => b.rule === "dead_letter_rate") ?? (await waitFor("dead_letter_rate firing", async () => hook.received.find((b) => b.rule === "dead_letter_rate"), 30_000, 200));
    expect(deadFiring).toMatchObject({ state: "firing", group: "metrics", threshold: 0.2 });
    expect(deadFiring.value).toBeGreaterThan(0.2);
    await waitFor("dead_letter_rate resolved", async () => hook.received.find((b) => b.rule === "dead_letter_rate" && b.state === "resolved"), 60_000, 200);

    await sleep(3_000);
    expect(hook.received.map((b) => `${b.rule} ${b.state}`)).toEqual(["consumer_lag firing", "consumer_lag resolved", "dead_letter_rate firing", "dead_letter_rate resolved"]);
    expect(lake.child.exitCode, lake.output.slice(-2000)).toBeNull();
    for (const w of [alerts, metrics, lake, simulator]) if (w.child.exitCode === null) await w.kill("SIGTERM");
  });
});
