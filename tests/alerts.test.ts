import { createServer, type Server } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MEASUREMENTS, pipelinePoint } from "../lib/hot/influx-points.ts";
import { InfluxSink } from "../workers/shared/influx-sink.ts";
import { influxQuery, seriesRows } from "../workers/shared/influxql.ts";
import { servicesEnv, tempDir } from "./support/processes.ts";
import { sleep, trackedWorker, waitFor } from "./support/workers.ts";

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
    const env = { INFLUX_URL: influx.url, INFLUX_DB: influx.database, ALERT_RULES: rulesFile, ALERT_WEBHOOK_URL: hook.url };

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
