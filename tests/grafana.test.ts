import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InfluxSink } from "../workers/shared/influx-sink.ts";
import { influxQuery, seriesRows } from "../workers/shared/influxql.ts";
import { anomalyPoint, pipelinePoint, windowPoints } from "../lib/hot/influx-points.ts";
import { ROOT, servicesEnv } from "./support/processes.ts";

interface Panel {
  title: string;
  targets: { query: string }[];
}

describe("provisioned Grafana dashboard", () => {
  it("every panel's InfluxQL runs on a real InfluxDB over the hot path's measurements and returns data", async () => {
    const influx = { version: 1 as const, url: servicesEnv().INFLUX_URL!, database: `grafana_${Date.now()}` };
    const sink = new InfluxSink(influx, { maxBufferedPoints: 10_000 });
    await sink.init();
    const now = Date.now();
    const start = now - (now % 60_000) - 120_000;
    const dims = [{ key: "US", revenueCents: 1_250, orders: 2 }];
    sink.enqueue([
      ...windowPoints({ partition: 0, windowStart: start, windowEnd: start + 60_000, final: true, revenueCents: 1_250, orders: 2, items: 3, customers: 2, byCountry: dims, byCategory: [{ ...dims[0]!, key: "coffee" }] }),
      anomalyPoint({ kind: "late", partition: 0, offset: 7, windowStart: start, amount: 3.5 }, 60_000),
      anomalyPoint({ kind: "duplicate", partition: 0, offset: 8, windowStart: start, amount: 4.5 }, 60_000),
      pipelinePoint({ worker: "metrics", partition: 0, at: now - 5_000, lag: 3, watermark: start, consumed: 10, invalid: 1, late: 1, duplicates: 1, offsetGaps: 1, missedMessages: 5, bufferedPoints: 2, refusedPoints: 0 }),
    ]);
    expect(await sink.flush()).toBe(true);

    const dashboard = JSON.parse(readFileSync(join(ROOT, "grafana/provisioning/dashboards/json/orderpulse.json"), "utf8")) as { panels: Panel[] };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(6);
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const query = target.query.replaceAll("$timeFilter", "time > now() - 1h");
        const rows = seriesRows(await influxQuery(influx, query));
        expect(rows.some((r) => Object.entries(r).some(([k, v]) => k !== "time" && typeof v === "number" && v !== 0)), `${panel.title}: ${query}`).toBe(true);
      }
    }
  });
});
