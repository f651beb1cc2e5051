import { CompressionTypes, Kafka, logLevel, Partitioners, type Consumer, type ConsumerConfig, type Producer, type ProducerConfig, type SASLOptions } from "kafkajs";
import type { Logger } from "pino";
import type { KafkaConfig } from "../../lib/config.ts";

export const COMPRESSION = CompressionTypes.GZIP;

export class MissingTopicError extends Error {
  override name = "MissingTopicError";
  constructor(readonly topics: string[], readonly brokers: string[]) {
    super(`topic${topics.length > 1 ? "s" : ""} ${topics.map((t) => `"${t}"`).join(", ")} do${topics.length > 1 ? "" : "es"} not exist on ${brokers.join(",")}; orderpulse never creates topics (the dev broker launcher and the Docker init step do)`);
  }
}

/**
 * The one place that builds Kafka clients. Auto topic creation is off on every
 * client, and every client checks its topics first with a metadata request for
 * all topics: the librdkafka mock broker ignores the "do not auto-create" flag
 * and would silently create a 4-partition topic for a typo.
 */
export function createKafka(config: KafkaConfig, clientId: string, log?: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers: config.brokers,
    ssl: config.ssl,
    // zod checked the mechanism is one kafkajs knows; its type is a union per mechanism.
    sasl: config.sasl as SASLOptions | undefined,
    connectionTimeout: 5_000,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      if (!log) return;
      const { message, ...extra } = entry.log;
      const level = entry.level <= logLevel.ERROR ? "error" : entry.level === logLevel.WARN ? "warn" : "debug";
      log[level]({ kafka: entry.namespace, ...extra }, message);
    },
  });
}

/** Throws MissingTopicError unless every topic exists; asks without naming them, so nothing is created. */
export async function requireTopics(kafka: Kafka, brokers: string[], topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) throw new MissingTopicError(missing, brokers);
  } finally {
    await admin.disconnect();
  }
}

/** A connected producer for the given topics, which must exist. */
export async function openProducer(kafka: Kafka, config: KafkaConfig, topics: string[], options: Omit<ProducerConfig, "allowAutoTopicCreation"> = {}): Promise<Producer> {
  await requireTopics(kafka, config.brokers, topics);
  // The Java-compatible murmur2 partitioner: the same key lands on the same partition as with Java clients.
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...options, allowAutoTopicCreation: false });
  await producer.connect();
  return producer;
}

/** A connected consumer subscribed to the given topics (which must exist); new groups start from the earliest offset. */
export async function openConsumer(kafka: Kafka, config: KafkaConfig, groupId: string, topics: string[], options: Partial<ConsumerConfig> = {}): Promise<Consumer> {
  await requireTopics(kafka, config.brokers, topics);
  const consumer = kafka.consumer({
    heartbeatInterval: Math.max(100, Math.floor(config.sessionTimeoutMs / 10)),
    rebalanceTimeout: Math.max(config.sessionTimeoutMs * 2, 10_000),
    ...options,
    groupId,
    sessionTimeout: config.sessionTimeoutMs,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  return consumer;
}
