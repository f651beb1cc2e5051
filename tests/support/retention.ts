import { Kafka, logLevel } from "kafkajs";
import { waitFor } from "./workers.ts";

/** Broker settings for retention tests: check every 500 ms, starting at once (the default first check waits 30 s). */
export const FAST_RETENTION_BROKER = { "log.retention.check.interval.ms": 500, "log.initial.task.delay.ms": 0 };

/** Topic settings that make a real broker delete data soon: 1 MiB segments (Kafka 4's minimum), 1 MiB kept. */
export const SMALL_RETENTION = { "segment.bytes": String(1024 * 1024), "retention.bytes": String(1024 * 1024) };

/**
 * Waits until retention has removed the start of partition 0 and the log-start
 * offset has stopped moving (three equal readings 700 ms apart; the test broker
 * checks retention every 500 ms). Returns the log-start offset.
 */
export async function retentionSettled(bootstrap: string, topic: string): Promise<number> {
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const readings: number[] = [];
    return await waitFor(
      `retention to remove the start of ${topic}/0`,
      async () => {
        const [p0] = (await admin.fetchTopicOffsets(topic)).filter((p) => p.partition === 0);
        readings.push(Number(p0!.low));
        const last = readings.slice(-3);
        return last.length === 3 && last[0]! > 0 && last.every((v) => v === last[0]) ? last[0] : undefined;
      },
      60_000,
      700,
    );
  } finally {
    await admin.disconnect();
  }
}
