/**
 * Everything the Pipeline page shows, read from the broker (admin API), InfluxDB (`pipeline`
 * measurement) and the lake directory. One instance per web server: it keeps the previous
 * log-end sample to turn offsets into events per second.
 */
import { resolve } from "node:path";
import type { Admin, Kafka } from "kafkajs";
import type { InfluxConfig, KafkaConfig } from "../../lib/contract/config.ts";
import { isIdle, lagOf, latestPipelineQuery, lagSparklineQuery, consumedRateQuery, ratePerSecond, watermarkDelayMs, type GroupLag, type PartitionOffsets } from "../../lib/web/pipeline.ts";
import { seriesRows } from "./influxql.ts";
import { influxRead } from "./live-reads.ts";
import { consumerGroups, describeTopicSettings, groupCommits, panel, topicOffsets, topicOffsetsAt, type Panel } from "./kafka-admin.ts";
import { DEAD_LETTER_RATE_WINDOW_MS, deadLettersPerMinute } from "../../lib/web/dead-letter-rate.ts";
import { processedPosition } from "../../lib/ops/consumer-lag.ts";
import type { TopicSettings } from "../../lib/web/topic-settings.ts";
import { listLakeFiles, liveLakeFiles, statLakeFiles } from "./lake-files.ts";
import { readWorkerHealth } from "./worker-health.ts";
import type { WorkerHealth } from "../../lib/web/worker-health.ts";

export interface PartitionRow extends PartitionOffsets {
  producedPerSecond: number | null;
  idle: boolean;
  watermark: number | null;
  watermarkDelayMs: number | null;
  offsetGaps: number;
  missedMessages: number;
  /** Max lag per minute over the last hour: [minute start, lag]. */
  sparkline: [number, number][];
}

export interface GroupRow {
  groupId: string;
  /** From DescribeGroups; null when the broker refused the group listing. */
  state: string | null;
  members: number | null;
  partitions: GroupLag[];
  totalLag: number;
}

export interface PipelineSnapshot {
  at: number;
  topic: string;
  partitions: Panel<PartitionRow[]>;
  /** Why the group listing (state, members) is missing, if the broker refused it. */
  groupListing: Panel<null>;
  groups: Panel<GroupRow[]>;
  rates: Panel<{ inPerSecond: number | null; outPerSecond: number | null }>;
  /** Dead letters retained (`count`) and sent per minute on average over the last `rateWindowMs` (lib/web/dead-letter-rate.ts). */
  deadLetters: Panel<{ topic: string; count: number; perMinute: number | null; rateWindowMs: number }>;
  /** Each configured worker's /healthz and offset-gap count; greyed as a whole only if none is configured. */
  workers: Panel<WorkerHealth[]>;
  /** Retention and cleanup policy of the orders, dead-letter and window-value topics (DescribeConfigs). */
  topics: Panel<TopicSettings[]>;
  lake: Panel<{ lagMessages: number; files: { path: string; partition: number; offsets: number; bytes: number; mtimeMs: number }[] }>;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

export class PipelineReader {
  private previousEnds = new Map<string, { at: number; offset: number }>();
  private previousRates = new Map<string, number | null>();

  /**
   * `kafka` gives the admin client of each read (a test passes one that refuses calls, as an ACL
   * would); `workers` are WORKER_HEALTH_URLS' entries.
   */
  constructor(
    private readonly kafka: Pick<Kafka, "admin">,
    private readonly config: KafkaConfig,
    private readonly influx: InfluxConfig,
    private readonly lakeDir: string,
    private readonly workers: { name: string; url: string }[] = [],
  ) {}

  async read(now: number): Promise<PipelineSnapshot> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return await this.readWith(admin, now);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Produce rate per partition since the previous call (kept across calls that come too quickly). */
  private rates(topic: string, offsets: PartitionOffsets[], now: number): Map<number, number | null> {
    const out = new Map<number, number | null>();
    for (const o of offsets) {
      const key = `${topic}/${o.partition}`;
      const before = this.previousEnds.get(key);
      if (before && now - before.at < 1_000) {
        out.set(o.partition, this.previousRates.get(key) ?? null);
        continue;
      }
      const rate = ratePerSecond(before, { at: now, offset: o.logEnd });
      this.previousEnds.set(key, { at: now, offset: o.logEnd });
      this.previousRates.set(key, rate);
      out.set(o.partition, rate);
    }
    return out;
  }

  private async readWith(admin: Admin, now: number): Promise<PipelineSnapshot> {
    const { topic, dlqTopic, windowValuesTopic, groups: names } = this.config;
    const offsetsPanel = await panel(() => topicOffsets(admin, topic));
    const offsets = offsetsPanel.ok ? offsetsPanel.data : [];
    const produced = this.rates(topic, offsets, now);
    // Group listing (ListGroups, DescribeGroups) and commits (OffsetFetch) are separate calls: a broker
    // or ACL refusing the first still lets the workers' lag show.
    const listing = await panel(() => consumerGroups(admin, names.all));
    const groups = await panel(async () => {
      const found = listing.ok ? listing.data : [];
      const known = new Map(found.map((g) => [g.groupId, g]));
      const others = found.filter((g) => !g.groupId.startsWith(names.feedPrefix) && !g.groupId.startsWith(names.dashboardPrefix)).map((g) => g.groupId);
      const ids = [...new Set([names.metrics, names.lake, ...others])];
      return Promise.all(
        ids.map(async (groupId): Promise<GroupRow> => {
          const commits = await groupCommits(admin, groupId, topic);
          const partitions = offsets.map((o) => {
            const commit = commits.get(o.partition);
            const position = processedPosition(o.partition, commit, o.logStart);
            return lagOf(o, commit?.offset ?? null, produced.get(o.partition) ?? 0, position.from === "processed" ? position.offset : null);
          });
          return { groupId, state: known.get(groupId)?.state ?? null, members: known.get(groupId)?.members ?? null, partitions, totalLag: partitions.reduce((s, p) => s + p.lag, 0) };
        }),
      );
    });
    const metricsLag = new Map(groups.ok ? (groups.data.find((g) => g.groupId === names.metrics)?.partitions ?? []).map((p) => [p.partition, p.lag]) : []);

    const partitions = await panel(async () => {
      if (!offsetsPanel.ok) throw new Error(offsetsPanel.reason);
      const [latest, spark] = await Promise.all([influxRead(this.influx, latestPipelineQuery("metrics")), influxRead(this.influx, lagSparklineQuery("metrics", now - 3_600_000))]);
      const byPartition = new Map(seriesRows(latest).map((r) => [Number(r.partition), r]));
      const lines = new Map<number, [number, number][]>();
      for (const r of seriesRows(spark)) {
        const p = Number(r.partition);
        if (!lines.has(p)) lines.set(p, []);
        lines.get(p)!.push([Number(r.time), num(r.lag)]);
      }
      return offsets.map((o): PartitionRow => {
        const r = byPartition.get(o.partition);
        const watermark = r && typeof r.watermark === "number" ? r.watermark : null;
        const rate = produced.get(o.partition) ?? null;
        return {
          ...o,
          producedPerSecond: rate,
          idle: isIdle(rate, metricsLag.get(o.partition) ?? 0),
          watermark,
          watermarkDelayMs: watermarkDelayMs(watermark, now),
          offsetGaps: num(r?.offset_gaps),
          missedMessages: num(r?.missed),
          sparkline: lines.get(o.partition) ?? [],
        };
      });
    });

    const rates = await panel(async () => {
      const rows = seriesRows(await influxRead(this.influx, consumedRateQuery("metrics")));
      const consumed = rows.reduce((s, r) => s + num(r.consumed), 0);
      const known = [...produced.values()].filter((r): r is number => r !== null);
      return { inPerSecond: known.length > 0 ? Math.round(known.reduce((s, r) => s + r, 0) * 10) / 10 : null, outPerSecond: rows.length > 0 ? Math.round((consumed / 60) * 10) / 10 : null };
    });

    const deadLetters = await panel(async () => {
      const dlq = await topicOffsets(admin, dlqTopic);
      const count = dlq.reduce((s, o) => s + (o.logEnd - o.logStart), 0);
      const windowStart = await topicOffsetsAt(admin, dlqTopic, now - DEAD_LETTER_RATE_WINDOW_MS);
      return { topic: dlqTopic, count, perMinute: deadLettersPerMinute(dlq, windowStart, DEAD_LETTER_RATE_WINDOW_MS), rateWindowMs: DEAD_LETTER_RATE_WINDOW_MS };
    });

    const lake = await panel(async () => {
      const root = resolve(this.lakeDir);
      const listing = await listLakeFiles(root);
      const files = (await statLakeFiles(root, liveLakeFiles(listing).filter((f) => f.kind === "orders"))).sort((a, b) => b.mtimeMs - a.mtimeMs).slice(0, 10);
      const lagMessages = offsets.reduce((s, o) => s + Math.max(0, o.logEnd - Math.max(o.logStart, listing.markers.get(o.partition)?.nextOffset ?? 0)), 0);
      return { lagMessages, files: files.map((f) => ({ path: f.path, partition: f.partition, offsets: f.lastOffset - f.firstOffset + 1, bytes: f.bytes, mtimeMs: f.mtimeMs })) };
    });

    const workers = await panel(async () => {
      if (this.workers.length === 0) throw new Error("WORKER_HEALTH_URLS is not set: the web does not know where the workers' health servers are (README: Pipeline)");
      return readWorkerHealth(this.workers);
    });

    const topics = await panel(() =>
      describeTopicSettings(admin, [
        { topic, role: "orders" },
        { topic: dlqTopic, role: "dead letters" },
        { topic: windowValuesTopic, role: "window values" },
      ]),
    );

    return { at: now, topic, partitions, groupListing: listing.ok ? { ok: true, data: null } : listing, groups, rates, deadLetters, workers, topics, lake };
  }
}
