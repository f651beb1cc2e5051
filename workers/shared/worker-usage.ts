/** The `--help` of each long-running worker (workers take environment variables only; see exitOnHelp). */
import type { WorkerUsage } from "./entry-point.ts";

const KAFKA = ["KAFKA_BROKERS", "KAFKA_TOPIC", "KAFKA_GROUP_PREFIX", "KAFKA_SESSION_TIMEOUT", "KAFKA_FETCH_MAX_WAIT", "KAFKA_SSL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"];
const INFLUX = ["INFLUX_URL", "INFLUX_DB", "INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET"];

export const METRICS_USAGE: WorkerUsage = {
  script: "worker:metrics",
  summary:
    "The hot path: reads KAFKA_TOPIC in consumer group <KAFKA_GROUP_PREFIX>-metrics (orderpulse-metrics), computes tumbling event-time windows per partition,\n" +
    "writes window values and late/duplicate anomalies to InfluxDB and to <topic>.metrics, dead-letters invalid messages to <topic>.dlq.\n" +
    "Segments come from dim_customer in LAKE_DIR/dims (npm run dims:load), reloaded when it changes.",
  variables: [...KAFKA, ...INFLUX, "INFLUX_BUFFER_POINTS", "WINDOW_SIZE", "WATERMARK_DELAY", "IDLE_TIMEOUT", "EMIT_INTERVAL", "MAX_EVENT_SKEW", "LAKE_DIR", "HEALTH_PORT", "CONNECT_TIMEOUT", "LOG_LEVEL"],
  stop: "emits, flushes and commits what is done, then leaves the consumer group (a restart is assigned partitions at once)",
};

export const LAKE_USAGE: WorkerUsage = {
  script: "worker:lake",
  summary:
    "The cold path: reads KAFKA_TOPIC in consumer group <KAFKA_GROUP_PREFIX>-lake (orderpulse-lake) and lands every message once in the Parquet lake at LAKE_DIR\n" +
    "(valid orders in orders/, invalid ones in orders_invalid/); new orders reach the lake within LAKE_ROTATE_AGE.",
  variables: [...KAFKA, "LAKE_DIR", "LAKE_ROTATE_ROWS", "LAKE_ROTATE_BYTES", "LAKE_ROTATE_AGE", "LAKE_ENCODER_THREADS", "LAKE_WRITER", "MAX_EVENT_SKEW", "HEALTH_PORT", "CONNECT_TIMEOUT", "LOG_LEVEL"],
  stop: "flushes and commits the buffered rows, then leaves the consumer group",
};

export const FEED_USAGE: WorkerUsage = {
  script: "worker:feed",
  summary:
    "The live feed: reads every partition of <topic>.metrics and broadcasts window totals over socket.io on FEED_PORT\n" +
    "(a snapshot of the last hour from InfluxDB on connect, then every change, partial or final).",
  variables: [...KAFKA, ...INFLUX, "WINDOW_SIZE", "FEED_PORT", "HEALTH_PORT", "CONNECT_TIMEOUT", "LOG_LEVEL"],
  stop: "closes its clients and leaves its consumer group",
};
