import type { Admin } from "kafkajs";
import type { InfluxConfig } from "../../lib/contract/config.ts";
import { kafkaPartitionLags, LogEndHistory, type KafkaLag } from "../../lib/ops/consumer-lag.ts";
import { MEASUREMENTS } from "../../lib/hot/influx-points.ts";
import { lookbackMs, restoredStates, type AlertInputs, type AlertRules, type AlertState, type PipelineRow } from "../../lib/ops/alert-rules.ts";
import { influxQuery, seriesRows } from "../shared/influxql.ts";
import { groupCommits, topicOffsets } from "../shared/kafka-admin.ts";
import type { AlertLog } from "./alert-loop.ts";

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

/**
 * Consumer lag from Kafka itself (admin API: ListOffsets for log ends, OffsetFetch for the commits
 * and their metadata), for the pipeline workers whose lag `consumer_lag` reads: the metrics worker
 * (`group`, KafkaConfig.groups.metrics). The lake's group is left out on purpose: its Kafka commit follows each lake
 * commit marker, so by design it trails by up to LAKE_ROTATE_AGE / LAKE_ROTATE_ROWS of buffered rows
 * and would fire at steady state. Keeps the log-end samples that say how long a message has waited.
 * A refused call (GROUP_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED, a broker down) yields
 * `{ ok: false, reason }`, logged once per new reason; it never throws.
 */
export class KafkaLagReader {
  private readonly history: LogEndHistory;
  private lastReason: string | undefined;
  /** The admin client kept between evaluations; dropped after a failed read, so the next one reconnects. */
  private admin: Promise<{ admin: Admin; close: () => Promise<void> }> | undefined;
  private closed = false;

  /** `openAdmin` gives a connected admin client and its `close`; `group`: the metrics worker's; `keepMs`: how long log-end samples are kept. */
  constructor(
    private readonly openAdmin: () => Promise<{ admin: Admin; close: () => Promise<void> }>,
    private readonly topic: string,
    private readonly group: string,
    private readonly log: AlertLog,
    keepMs: number,
  ) {
    this.history = new LogEndHistory(keepMs);
  }

  async read(now: number): Promise<KafkaLag[]> {
    const worker = "metrics" as const;
    if (this.closed) return [{ ok: false, worker, reason: "closed: the alerts worker is stopping" }];
    const connection = (this.admin ??= this.openAdmin());
    try {
      const { admin } = await connection;
      const [offsets, commits] = await Promise.all([topicOffsets(admin, this.topic), groupCommits(admin, this.group, this.topic)]);
      if (this.lastReason !== undefined) this.log.info({ topic: this.topic, group: this.group }, "consumer lag readable from Kafka again");
      this.lastReason = undefined;
      return [{ ok: true, worker, partitions: kafkaPartitionLags(offsets, commits, this.history, now) }];
    } catch (error) {
      if (this.closed) return [{ ok: false, worker, reason: "closed: the alerts worker is stopping" }];
      // A broken connection (or a broker that restarted) is not reused: the next evaluation connects afresh.
      if (this.admin === connection) await this.drop();
      const reason = `${(error as Error).name}: ${(error as Error).message.split("\n")[0]}`;
      if (reason !== this.lastReason)
        this.log.warn({ topic: this.topic, group: this.group, err: reason }, "cannot read consumer lag from Kafka: consumer_lag uses the workers' own pipeline points only (a stopped worker's lag goes stale)");
      this.lastReason = reason;
      return [{ ok: false, worker, reason }];
    }
  }

  /** At shutdown: disconnects the kept admin client; later reads answer "closed" without connecting. Never throws. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drop();
  }

  private async drop(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.then(({ close }) => close()).catch(() => undefined);
  }
}
