/**
 * `npm run worker:feed`: the live feed. Reads every partition of
 * `<topic>.metrics`, keeps the latest value per (window, source partition), and
 * broadcasts window totals over socket.io on FEED_PORT: a snapshot of the last
 * 60 minutes on connect (seeded from InfluxDB, so a fresh browser sees history),
 * then every change, marked partial or final.
 */
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { Server } from "socket.io";
import type { ConsumerRunConfig } from "kafkajs";
import { Counter, Gauge } from "prom-client";
import { connectEnvSchema, influxEnvSchema, kafkaEnvSchema, portsEnvSchema, windowEnvSchema, type InfluxConfig } from "../lib/contract/config.ts";
import { FeedState } from "../lib/hot/feed-state.ts";
import { MEASUREMENTS } from "../lib/hot/influx-points.ts";
import { perBreakdown, WINDOW_DIMENSIONS } from "../lib/contract/dimensions.ts";
import { decodeWindowValueMessage, type WindowMessage } from "../lib/hot/window-values.ts";
import { configsOrExit, loadEnv } from "./shared/env.ts";
import { exitOnHelp, runMain } from "./shared/entry-point.ts";
import { listenOn, waitForKafka } from "./shared/startup.ts";
import { FEED_USAGE } from "./shared/worker-usage.ts";
import { createRegistry, serveHealth } from "./shared/health.ts";
import { influxQuery, seriesRows } from "./shared/influxql.ts";
import { createKafka, openConsumer, requireTopics, exitWhenConsumerKeepsStopping, SupervisedConsumer } from "./shared/kafka.ts";
import { createLogger } from "./shared/log.ts";

export const SNAPSHOT_MS = 60 * 60_000;

/** Per-partition window values and watermarks of the last hour that InfluxDB holds. */
export async function loadSnapshot(influx: InfluxConfig, windowSizeMs: number): Promise<{ windows: WindowMessage[]; watermarks: Map<number, number> }> {
  const latest = seriesRows(await influxQuery(influx, `SELECT last("orders") FROM "${MEASUREMENTS.window}"`))[0]?.time as number | undefined;
  const watermarks = new Map<number, number>();
  for (const row of seriesRows(await influxQuery(influx, `SELECT last("watermark") AS watermark FROM "${MEASUREMENTS.pipeline}" WHERE "worker" = 'metrics' GROUP BY "partition"`))) {
    watermarks.set(Number(row.partition), Number(row.watermark));
  }
  if (latest === undefined) return { windows: [], watermarks };
  const range = `time > ${(latest - SNAPSHOT_MS) * 1_000_000} AND time <= ${latest * 1_000_000}`;
  const windows = new Map<string, WindowMessage>();
  for (const row of seriesRows(await influxQuery(influx, `SELECT * FROM "${MEASUREMENTS.window}" WHERE ${range} GROUP BY "partition"`))) {
    const start = row.time as number;
    const partition = Number(row.partition);
    windows.set(`${start}/${partition}`, {
      type: "window",
      partition,
      windowStart: start,
      windowEnd: start + windowSizeMs,
      final: row.final === 1,
      revenue: Number(row.revenue ?? 0),
      orders: Number(row.orders ?? 0),
      items: Number(row.items ?? 0),
      customers: Number(row.customers ?? 0),
      ...perBreakdown(() => ({})),
    });
  }
  for (const { measurement, dimension, field } of WINDOW_DIMENSIONS) {
    for (const row of seriesRows(await influxQuery(influx, `SELECT "revenue","orders" FROM "${measurement}" WHERE ${range} GROUP BY "partition","${dimension}"`))) {
      const w = windows.get(`${row.time}/${row.partition}`);
      if (w) w[field][String(row[dimension])] = { revenue: Number(row.revenue), orders: Number(row.orders) };
    }
  }
  return { windows: [...windows.values()], watermarks };
}

async function main(): Promise<void> {
  exitOnHelp(FEED_USAGE);
  const config = configsOrExit({ kafka: kafkaEnvSchema, influx: influxEnvSchema, ports: portsEnvSchema, windows: windowEnvSchema, connect: connectEnvSchema }, loadEnv());
  const { kafka: kafkaConfig, influx, ports } = config;
  const { windowSizeMs } = config.windows;
  const log = createLogger("feed");
  const kafka = createKafka(kafkaConfig, "orderpulse-feed", log);
  await waitForKafka(kafkaConfig, { name: "feed", timeoutMs: config.connect.connectTimeoutMs });

  await requireTopics(kafka, kafkaConfig.brokers, [kafkaConfig.topic, kafkaConfig.windowValuesTopic]);
  const admin = kafka.admin();
  await admin.connect();
  const [metadata] = (await admin.fetchTopicMetadata({ topics: [kafkaConfig.topic] })).topics;
  await admin.disconnect();
  const state = new FeedState(metadata!.partitions.length, SNAPSHOT_MS);

  try {
    const snapshot = await loadSnapshot(influx, windowSizeMs);
    for (const w of snapshot.windows) state.applyWindow(w);
    for (const [partition, watermark] of snapshot.watermarks) state.applyWatermark({ type: "watermark", partition, watermark });
    log.info({ windows: snapshot.windows.length }, "seeded from InfluxDB");
  } catch (error) {
    log.warn({ err: (error as Error).message }, "no snapshot from InfluxDB; starting from Kafka alone");
  }

  const registry = createRegistry("feed");
  const received = new Counter({ name: "orderpulse_feed_messages_total", help: "metrics messages read", labelNames: ["kind"], registers: [registry] });
  const clients = new Gauge({ name: "orderpulse_feed_clients", help: "connected socket.io clients", registers: [registry] });
  let lastProgressAt = Date.now();
  if (ports.healthPort !== undefined) await serveHealth(ports.healthPort, registry, { lastProgressAt: () => lastProgressAt, lag: () => 0 }, log);

  const http = createServer((_, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("orderpulse feed: connect with socket.io\n");
  });
  const io = new Server(http, { cors: { origin: "*" } });
  io.on("connection", (socket) => {
    clients.inc();
    socket.emit("snapshot", { windows: state.snapshot() });
    socket.on("disconnect", () => clients.dec());
  });
  await listenOn(http, ports.feedPort, "FEED_PORT");
  log.info({ port: ports.feedPort }, "feed listening");

  // A group of its own: every feed reads every partition, from the start of what is retained, so no update is missed.
  const groupId = `${kafkaConfig.groups.feedPrefix}${randomUUID()}`;
  const consumer = await openConsumer(kafka, kafkaConfig, groupId, [kafkaConfig.windowValuesTopic]);
  let stopping = false;
  const run: ConsumerRunConfig = {
    eachMessage: async ({ message }) => {
      lastProgressAt = Date.now();
      const decoded = decodeWindowValueMessage(message.value);
      if ("error" in decoded) {
        received.inc({ kind: "invalid" });
        log.warn({ offset: message.offset, error: decoded.error }, "ignoring an invalid metrics message");
        return;
      }
      received.inc({ kind: decoded.type });
      if (decoded.type === "window") {
        const total = state.applyWindow(decoded);
        if (total) io.emit("window", total);
      }
      else for (const total of state.applyWatermark(decoded)) io.emit("window", total);
    },
  };
  await new SupervisedConsumer(consumer, groupId, {
    log,
    // The state is the latest value per (window, partition): reading a message again changes nothing.
    onRestart: () => undefined,
    onGiveUp: exitWhenConsumerKeepsStopping(log),
    isStopping: () => stopping,
  }).run(run);

  const shutdown = async () => {
    stopping = true;
    log.info("shutting down");
    await consumer.disconnect().catch(() => undefined);
    io.close();
    process.exit(0);
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

if (process.argv[1]?.endsWith("feed.ts")) runMain("feed", main);
