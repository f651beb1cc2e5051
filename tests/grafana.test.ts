import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InfluxSink } from "../workers/shared/influx-sink.ts";
import { influxQuery, seriesRows } from "../workers/shared/influxql.ts";
import { anomalyPoint, pipelinePoint, windowPoints } from "../lib/hot/influx-points.ts";
import { alertPoint } from "../lib/ops/alert-rules.ts";
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
      ...windowPoints({ partition: 0, windowStart: start, windowEnd: start + 60_000, final: true, revenueCents: 1_250, orders: 2, items: 3, customers: 2, dimsVersion: "0123456789abcdef", byCountry: dims, byCategory: [{ ...dims[0]!, key: "coffee" }], bySegment: [{ ...dims[0]!, key: "enterprise" }] }),
      anomalyPoint({ kind: "late", partition: 0, offset: 7, windowStart: start, amount: 3.5 }, 60_000),
      anomalyPoint({ kind: "duplicate", partition: 0, offset: 8, windowStart: start, amount: 4.5 }, 60_000),
      // Two samples a minute apart: the dead-letter rate is an increase of counters.
      pipelinePoint({ worker: "metrics", partition: 0, at: now - 65_000, lag: 1, watermark: start - 60_000, consumed: 4, invalid: 0, late: 0, duplicates: 0, offsetGaps: 0, missedMessages: 0, bufferedPoints: 0, refusedPoints: 0 }),
      pipelinePoint({ worker: "metrics", partition: 0, at: now - 5_000, lag: 3, watermark: start, consumed: 10, invalid: 1, late: 1, duplicates: 1, offsetGaps: 1, missedMessages: 5, bufferedPoints: 2, refusedPoints: 2 }),
      alertPoint({ rule: "consumer_lag", group: "metrics", state: "firing", value: 12_000, threshold: 10_000, unit: "messages", since: now - 200_000, at: now - 80_000, text: "lag" }),
    ]);
    expect(await sink.flush()).toBe(true);

    const dashboard = JSON.parse(readFileSync(join(ROOT, "grafana/provisioning/dashboards/json/orderpulse.json"), "utf8")) as { panels: Panel[]; annotations: { list: { name: string; query: string }[] } };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(14);
    const annotations = dashboard.annotations.list.map((a) => ({ title: `annotation ${a.name}`, targets: [{ query: a.query }] }));
    expect(annotations.length).toBeGreaterThanOrEqual(1);
    for (const panel of [...dashboard.panels, ...annotations]) {
      for (const target of panel.targets) {
        const query = target.query.replaceAll("$timeFilter", "time > now() - 1h");
        const rows = seriesRows(await influxQuery(influx, query));
        expect(rows.some((r) => Object.entries(r).some(([k, v]) => k !== "time" && typeof v === "number" && v !== 0)), `${panel.title}: ${query}`).toBe(true);
      }
    }
  });
});
