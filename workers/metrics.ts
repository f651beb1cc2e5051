/**
 * `npm run worker:metrics`: the hot path. Consumes `<topic>` in group
 * `orderpulse-metrics` (`<KAFKA_GROUP_PREFIX>-metrics`), feeds valid orders through one WindowEngine per
 * partition, writes window values and anomalies to InfluxDB and to
 * `<topic>.metrics`, dead-letters invalid messages to `<topic>.dlq`, and commits
 * each partition's engine commit point (offset + metadata) only after everything
 * it released is durably written. A restart replays from there and gives what an
 * uninterrupted run gives. The loop is workers/metrics/metrics-worker.ts; this
 * file wires its Kafka, InfluxDB and clock.
 */
import { connectEnvSchema, influxBufferEnvSchema, influxEnvSchema, kafkaEnvSchema, lakeEnvSchema, portsEnvSchema, windowEnvSchema } from "../lib/contract/config.ts";
import { CustomerDimensionWatch } from "./dims/customer-watch.ts";
import { configsOrExit, loadEnv } from "./shared/env.ts";
import { exitOnHelp, runMain } from "./shared/entry-point.ts";
import { waitForInflux, waitForKafka } from "./shared/startup.ts";
import { METRICS_USAGE } from "./shared/worker-usage.ts";
import { createRegistry, serveHealth } from "./shared/health.ts";
import { InfluxSink } from "./shared/influx-sink.ts";
import { AdminOffsetSource, createKafka, exitWhenConsumerKeepsStopping, KafkaGroupConsumer, openConsumer, openProducer } from "./shared/kafka.ts";
import { createLogger } from "./shared/log.ts";
import { MetricsWorker } from "./metrics/metrics-worker.ts";
import { stopOnSignals } from "./shared/shutdown.ts";

async function main(): Promise<void> {
  exitOnHelp(METRICS_USAGE);
  const config = configsOrExit({ kafka: kafkaEnvSchema, windows: windowEnvSchema, influx: influxEnvSchema, ports: portsEnvSchema, buffer: influxBufferEnvSchema, connect: connectEnvSchema, lake: lakeEnvSchema }, loadEnv());
  const { kafka: kafkaConfig, windows, influx, ports } = config;
  const { bufferPoints } = config.buffer;
  const log = createLogger("metrics");
  const registry = createRegistry("metrics");
  const kafka = createKafka(kafkaConfig, "orderpulse-metrics", log);
  await waitForKafka(kafkaConfig, { name: "metrics", timeoutMs: config.connect.connectTimeoutMs });
  await waitForInflux(influx, { name: "metrics", timeoutMs: config.connect.connectTimeoutMs });
  const producer = await openProducer(kafka, kafkaConfig, [kafkaConfig.dlqTopic, kafkaConfig.windowValuesTopic], { idempotent: false });
  const offsets = new AdminOffsetSource(kafka);
  const consumer = new KafkaGroupConsumer(await openConsumer(kafka, kafkaConfig, kafkaConfig.groups.metrics, [kafkaConfig.topic]), kafkaConfig.groups.metrics, kafkaConfig.sessionTimeoutMs, log, exitWhenConsumerKeepsStopping(log));
  const sink = new InfluxSink(influx, { maxBufferedPoints: bufferPoints, log });
  // dim_customer from the lake: the segment breakdown follows each dims:load without a restart.
  const customers = await CustomerDimensionWatch.start(config.lake.lakeDir, log);
  const worker = new MetricsWorker({ consumer, producer, offsets, sink, now: Date.now, log, registry, segments: () => customers.current, segmentsAt: (version) => customers.at(version) }, kafkaConfig, windows);
  if (ports.healthPort !== undefined) await serveHealth(ports.healthPort, registry, { lastProgressAt: () => worker.lastProgressAt, lag: () => worker.totalLag, degraded: () => worker.degraded() }, log);
  stopOnSignals(log, "final emit, flush and commit", "the last commit", async () => {
    customers.stop();
    await worker.stop();
  });
  await worker.start();
  log.info({ topic: kafkaConfig.topic, influx: influx.url }, "metrics worker running");
}

if (process.argv[1]?.endsWith("metrics.ts")) runMain("metrics", main);
