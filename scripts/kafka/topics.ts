/**
 * `npm run topics:create`: creates `<KAFKA_TOPIC>`, `.dlq` and `.metrics` on
 * KAFKA_BROKERS with the partition counts `services:up` uses (devTopics). The
 * Docker stack's one-shot `kafka-init` service runs this; clients never create topics.
 */
import { Command, InvalidArgumentError } from "commander";
import { kafkaEnvSchema, readConfig } from "../../lib/contract/config.ts";
import { createTopics, devTopics } from "./broker.ts";

const program = new Command("topics:create")
  .description("create the orders topic, its dead-letter queue and its metrics topic (existing ones are kept; a wrong partition count is an error)")
  .option("--partitions <n>", "partitions of the orders topic", (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError("1..64");
    return n;
  }, 8)
  .action(async (opts: { partitions: number }) => {
    const kafka = readConfig(kafkaEnvSchema, process.env);
    const topics = devTopics(kafka.topic, opts.partitions);
    await createTopics(kafka.brokers[0]!, topics);
    console.error(`topics: ${Object.entries(topics).map(([t, p]) => `${t} (${p})`).join(", ")} present on ${kafka.brokers.join(",")}`);
  });
program.parseAsync().catch((error: Error) => {
  console.error(`topics:create: ${error.message}`);
  process.exit(error.name === "ConfigError" ? 2 : 1);
});
