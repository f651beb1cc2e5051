/** The lake worker's Prometheus metrics (served on HEALTH_PORT at /metrics). */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createLakeMetrics(registry: Registry) {
  const registers = [registry];
  const partition = ["partition"] as const;
  return {
    consumed: new Counter({ name: "orderpulse_lake_consumed_total", help: "messages taken into the lake's buffers", labelNames: partition, registers }),
    invalid: new Counter({ name: "orderpulse_lake_invalid_total", help: "invalid messages (to orders_invalid), by reason code", labelNames: ["partition", "reason"], registers }),
    rowsWritten: new Counter({ name: "orderpulse_lake_rows_written_total", help: "rows in committed lake files, by file kind", labelNames: ["kind"], registers }),
    filesWritten: new Counter({ name: "orderpulse_lake_files_written_total", help: "committed lake files, by file kind", labelNames: ["kind"], registers }),
    flushes: new Counter({ name: "orderpulse_lake_flushes_total", help: "committed flushes, by rotation reason", labelNames: ["reason"], registers }),
    flushErrors: new Counter({ name: "orderpulse_lake_flush_errors_total", help: "failed flushes (the partition is recovered and read again)", labelNames: partition, registers }),
    flushSeconds: new Histogram({ name: "orderpulse_lake_flush_seconds", help: "flush latency: buffer taken to commit marker durable", buckets: SECONDS, registers }),
    encodeSeconds: new Histogram({ name: "orderpulse_lake_encode_seconds", help: "Parquet encode+write time per flush, on the encoder thread", buckets: SECONDS, registers }),
    handoffSeconds: new Counter({ name: "orderpulse_lake_handoff_seconds_total", help: "consume-loop time spent handing rows to the encoder thread", registers }),
    loopUtilization: new Gauge({ name: "orderpulse_lake_event_loop_utilization", help: "share of the main thread's time spent working (not idle), last interval", registers }),
    buffered: new Gauge({ name: "orderpulse_lake_buffered_rows", help: "rows buffered, not yet flushed", registers }),
    committedOffset: new Gauge({ name: "orderpulse_lake_committed_offset", help: "commit marker (next offset) per partition", labelNames: partition, registers }),
    lag: new Gauge({ name: "orderpulse_lake_lag", help: "messages waiting in Kafka for the lake worker", labelNames: partition, registers }),
    gaps: new Counter({ name: "orderpulse_offset_gaps_total", help: "offset gaps: data removed before it was read", labelNames: partition, registers }),
    missed: new Counter({ name: "orderpulse_missed_messages_total", help: "messages removed before they were read", labelNames: partition, registers }),
    compactionMerges: new Counter({ name: "orderpulse_lake_compaction_merges_total", help: "files written by compaction", registers }),
    compactionFailures: new Counter({ name: "orderpulse_lake_compaction_failures_total", help: "compaction groups that failed and were left as they were", registers }),
  };
}

export type LakeMetrics = ReturnType<typeof createLakeMetrics>;
