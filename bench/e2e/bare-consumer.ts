/**
 * The end-to-end bench's baseline (bench/e2e.ts): the least any consumer of
 * `<KAFKA_TOPIC>` must do. kafkajs, configured as the workers' consumers are
 * (workers/shared/kafka.ts), in its own consumer group, `JSON.parse` of every
 * message, nothing else. Prints `{"t":<epoch ms>,"n":<messages>}` every 50 ms
 * and exits once `--expect N` messages are in.
 */
import { randomUUID } from "node:crypto";
import { kafkaEnvSchema } from "../../lib/contract/config.ts";
import { configsOrExit, loadEnv } from "../../workers/shared/env.ts";
import { createKafka, openConsumer } from "../../workers/shared/kafka.ts";

const expected = Number(process.argv[process.argv.indexOf("--expect") + 1]);
if (!Number.isInteger(expected) || expected < 1) throw new Error("bare-consumer: --expect <messages> is required");
const { kafka: config } = configsOrExit({ kafka: kafkaEnvSchema }, loadEnv());
const consumer = await openConsumer(createKafka(config, "orderpulse-bench-baseline"), config, `orderpulse-bench-baseline-${randomUUID()}`, [config.topic]);
let n = 0;
let parsed = 0;
const report = () => process.stdout.write(`${JSON.stringify({ t: Date.now(), n })}\n`);
const timer = setInterval(report, 50);
const done = new Promise<void>((resolve) => {
  void consumer.run({
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        try {
          if (JSON.parse(message.value?.toString("utf8") ?? "null")) parsed++;
        } catch {
          // invalid JSON costs its parse too
        }
        n++;
      }
      if (n >= expected) resolve();
    },
  });
});
await done;
clearInterval(timer);
report();
process.stderr.write(`bare-consumer: ${n} messages, ${parsed} parsed to a value\n`);
await consumer.disconnect();
process.exit(0);
