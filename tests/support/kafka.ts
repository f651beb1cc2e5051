import { randomBytes } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { createTopics } from "../../scripts/kafka/broker.ts";
import { servicesEnv } from "./processes.ts";

/**
 * Topics and consumer groups of one test on the integration run's one broker, the one the
 * global setup's `services:up` started. For every test that does not break its broker on
 * purpose: those start their own with scripts/kafka/broker.ts startKafka, and say why.
 */
export interface SharedKafka {
  /** host:port of the shared broker. */
  bootstrap: string;
  /** `<base>`, `<base>.dlq`, `<base>.metrics`: KAFKA_TOPIC and the topics the workers derive from it. */
  topic: string;
  dlqTopic: string;
  windowValuesTopic: string;
  /** KAFKA_GROUP_PREFIX: the workers' groups are `<prefix>-metrics` and `<prefix>-lake`. */
  groupPrefix: string;
  /** KAFKA_BROKERS, KAFKA_TOPIC and KAFKA_GROUP_PREFIX, for a worker's or a CLI's environment. */
  env: { KAFKA_BROKERS: string; KAFKA_TOPIC: string; KAFKA_GROUP_PREFIX: string };
  /** The name an extra topic (given in `partitions.extra`) was created under. */
  extra(name: string): string;
}

export interface SharedTopics {
  /** Partitions of `<base>`. */
  orders: number;
  /** Partitions of `<base>.dlq` (default 1) and `<base>.metrics` (default 1). */
  dlq?: number;
  metrics?: number;
  /** Further topics, by a name the test uses; created as `<base>-<name>`. */
  extra?: Record<string, number>;
}

/**
 * Creates a fresh topic set named after `label` plus a random suffix, on the shared broker,
 * with the same settings `services:up` gives its topics, and a group prefix no other test
 * uses. Registers the topics' deletion with `cleanup` (the broker outlives the file).
 */
export async function sharedKafka(label: string, partitions: SharedTopics, cleanup: (() => Promise<unknown>)[]): Promise<SharedKafka> {
  const bootstrap = servicesEnv().KAFKA_BROKERS;
  if (!bootstrap) throw new Error("no KAFKA_BROKERS in the services' endpoints: the integration run's global setup starts the broker");
  const base = `t-${label}-${randomBytes(4).toString("hex")}`;
  const extra = (name: string) => `${base}-${name}`;
  const topics: Record<string, number> = { [base]: partitions.orders, [`${base}.dlq`]: partitions.dlq ?? 1, [`${base}.metrics`]: partitions.metrics ?? 1 };
  for (const [name, count] of Object.entries(partitions.extra ?? {})) topics[extra(name)] = count;
  await createTopics(bootstrap, topics);
  cleanup.push(async () => {
    const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.keys(topics) }).catch(() => undefined);
    await admin.disconnect();
  });
  return {
    bootstrap,
    topic: base,
    dlqTopic: `${base}.dlq`,
    windowValuesTopic: `${base}.metrics`,
    groupPrefix: base,
    env: { KAFKA_BROKERS: bootstrap, KAFKA_TOPIC: base, KAFKA_GROUP_PREFIX: base },
    extra,
  };
}
