import type { InfluxConfig } from "../../lib/contract/config.ts";
import { MEASUREMENTS } from "../../lib/hot/influx-points.ts";
import { lookbackMs, restoredStates, type AlertInputs, type AlertRules, type AlertState, type PipelineRow } from "../../lib/ops/alert-rules.ts";
import { influxQuery, seriesRows } from "../shared/influxql.ts";

const ns = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;
const LAST_SEEN_MS = 60 * 60_000;
const num = (v: unknown) => (typeof v === "number" ? v : undefined);

/** What the rules read, from InfluxDB via InfluxQL, relative to `now` (the alerts worker's clock). */
export async function readAlertInputs(influx: InfluxConfig, rules: AlertRules, now: number): Promise<AlertInputs> {
  const { pipeline, window } = MEASUREMENTS;
  const until = `time <= ${ns(now)}`;
  const rows = seriesRows(
    await influxQuery(influx, `SELECT "lag", "watermark", "consumed", "invalid", "late", "refused_points" FROM "${pipeline}" WHERE time > ${ns(now - lookbackMs(rules))} AND ${until} GROUP BY "worker", "partition"`),
  );
  const samples: PipelineRow[] = rows.map((r) => ({
    worker: String(r.worker ?? ""),
    partition: String(r.partition ?? ""),
    at: Number(r.time),
    lag: num(r.lag),
    watermark: num(r.watermark),
    consumed: num(r.consumed),
    invalid: num(r.invalid),
    late: num(r.late),
    refused_points: num(r.refused_points),
  }));
  const lastSeen = seriesRows(await influxQuery(influx, `SELECT last("consumed") FROM "${pipeline}" WHERE time > ${ns(now - LAST_SEEN_MS)} AND ${until} GROUP BY "worker", "partition"`)).map((r) => ({
    worker: String(r.worker ?? ""),
    partition: String(r.partition ?? ""),
    at: Number(r.time),
  }));
  const orders = seriesRows(await influxQuery(influx, `SELECT sum("orders") AS orders FROM "${window}" WHERE time >= ${ns(now - rules.rules.no_orders.window)} AND ${until}`));
  return { now, pipeline: samples, lastSeen, recentOrders: Number(orders[0]?.orders ?? 0) };
}

/** The alerts the `alert` measurement says are firing (last change per rule and group within 30 days). */
export async function readFiringAlerts(influx: InfluxConfig, now: number): Promise<Map<string, AlertState>> {
  const rows = seriesRows(
    await influxQuery(influx, `SELECT last("firing") AS firing, last("since") AS since, last("value") AS value, last("threshold") AS threshold FROM "${MEASUREMENTS.alert}" WHERE time > ${ns(now - 30 * 86_400_000)} GROUP BY "rule", "group"`),
  );
  return restoredStates(rows.map((r) => ({ rule: String(r.rule), group: String(r.group), firing: Number(r.firing), since: Number(r.since), value: Number(r.value), threshold: Number(r.threshold) })));
}
