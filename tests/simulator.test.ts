import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kafka, logLevel } from "kafkajs";
import { decodeOrder } from "../lib/contract/order.ts";
import { kcatRead, kcatTopics, parseSummary, runScript, tempDir } from "./support/processes.ts";
import { sharedKafka, type SharedKafka } from "./support/kafka.ts";

const SKEW_MS = 600_000;
const START = "2026-11-20T09:00:00.000Z";
const CHAOS = ["--duplicates", "0.04", "--late", "0.03", "--out-of-order", "0.1", "--malformed", "0.03", "--nulls", "0.05", "--skew", "0.02"];

interface Read {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer;
  timestamp: number;
}

/** Reads every message of a topic from the beginning with a kafkajs consumer. */
async function readAll(bootstrap: string, topic: string, expected: number): Promise<Read[]> {
  const kafka = new Kafka({ brokers: [bootstrap], clientId: "test-reader", logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `test-reader-${Math.random()}`, allowAutoTopicCreation: false });
  const messages: Read[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`read ${messages.length} of ${expected} messages`)), 60_000);
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        messages.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value!, timestamp: Number(message.timestamp) });
        if (messages.length >= expected) {
          clearTimeout(timer);
          res();
        }
      },
    });
  });
  await done;
  // Anything beyond the expected count would be a surplus copy: give it a moment to show up.
  await new Promise((r) => setTimeout(r, 500));
  await consumer.disconnect();
  return messages;
}

describe("simulator -> dev broker -> consumers", () => {
  let kafka: SharedKafka;
  let dir: string;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    dir = tempDir("sim");
    kafka = await sharedKafka("sim", { orders: 4, extra: { other: 2 } }, cleanup);
  });
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  const simulate = (args: string[]) => runScript("workers/simulator.ts", args, kafka.env);

  it("delivers exactly the truth plus the injected duplicates, malformed and skewed messages", async () => {
    const truthFile = join(dir, "truth.ndjson");
    const run = await simulate(["--rate", "0", "--count", "20000", "--seed", "7", "--start", START, "--truth", truthFile, ...CHAOS]);
    expect(run.code, run.stderr).toBe(0);
    const summary = parseSummary(run.stdout);
    expect(summary.sent).toBe(20_000);

    const messages = await readAll(kafka.bootstrap, kafka.topic, summary.sent!);
    expect(messages).toHaveLength(summary.sent!);

    const truth = readFileSync(truthFile, "utf8").split("\n").filter(Boolean);
    const firstCopies = new Map<string, string>();
    let duplicates = 0;
    const rejected = { skew: 0, other: 0 };
    for (const m of messages) {
      const result = decodeOrder(m.value, m.timestamp, SKEW_MS);
      if (!result.ok) {
        if (result.rejection.code === "event_time_skew") rejected.skew++;
        else rejected.other++;
        continue;
      }
      expect(m.key).toBe(result.order.customerId ?? result.order.orderId);
      if (firstCopies.has(result.order.orderId)) duplicates++;
      else firstCopies.set(result.order.orderId, m.value.toString());
    }
    expect(new Set(firstCopies.values())).toEqual(new Set(truth));
    expect(truth).toHaveLength(summary.order! + summary.late! + summary.out_of_order! + summary.nulls!);
    expect(duplicates).toBe(summary.duplicate);
    expect(rejected.skew).toBe(summary.skewed);
    expect(rejected.other).toBe(summary.malformed);
    for (const kind of ["duplicate", "late", "out_of_order", "nulls", "malformed", "skewed"]) expect(summary[kind], kind).toBeGreaterThan(0);

    // Every copy of an order shares its partition: per-partition de-duplication is exact.
    const partitionOf = new Map<string, number>();
    for (const m of messages) {
      const result = decodeOrder(m.value, m.timestamp, SKEW_MS);
      if (!result.ok) continue;
      const seen = partitionOf.get(result.order.orderId);
      if (seen !== undefined) expect(m.partition).toBe(seen);
      partitionOf.set(result.order.orderId, m.partition);
    }

    // Each partition's log is in the order generated: record timestamps (the simulated arrival times, which
    // never go back) never decrease along the offsets. A batch that overtook an earlier one would break this.
    for (let p = 0; p < 4; p++) {
      const log = messages.filter((m) => m.partition === p).sort((a, b) => Number(a.offset) - Number(b.offset));
      const backwards = log.findIndex((m, i) => i > 0 && m.timestamp < log[i - 1]!.timestamp);
      expect(backwards, `partition ${p} goes back in time at offset ${log[backwards]?.offset}`).toBe(-1);
    }

    // Interop: librdkafka's kcat sees the same messages, keys and partitions.
    const viaKcat = kcatRead(kafka.bootstrap, kafka.topic);
    expect(viaKcat.sort()).toEqual(messages.map((m) => `${m.partition} ${m.key ?? ""}`).sort());
  });

  it("gives byte-identical truth files for the same seed", async () => {
    const files = ["a", "b", "c"].map((name) => join(dir, `${name}.ndjson`));
    const runs = await Promise.all([
      simulate(["--rate", "0", "--count", "3000", "--seed", "99", "--start", START, "--truth", files[0]!, ...CHAOS, "--topic", kafka.extra("other")]),
      simulate(["--rate", "0", "--count", "3000", "--seed", "99", "--start", START, "--truth", files[1]!, ...CHAOS, "--topic", kafka.extra("other")]),
      simulate(["--rate", "0", "--count", "3000", "--seed", "100", "--start", START, "--truth", files[2]!, ...CHAOS, "--topic", kafka.extra("other")]),
    ]);
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const [a, b, c] = files.map((f) => readFileSync(f));
    expect(a!.length).toBeGreaterThan(0);
    expect(a!.equals(b!)).toBe(true);
    expect(a!.equals(c!)).toBe(false);
  });

  it("paces to --rate and stops on --duration with a summary", async () => {
    const run = await simulate(["--rate", "200", "--duration", "3s", "--seed", "1"]);
    expect(run.code, run.stderr).toBe(0);
    const summary = parseSummary(run.stdout);
    expect(summary.sent).toBeGreaterThan(300);
    expect(summary.sent).toBeLessThan(900);
  });

  it("refuses bad options and unknown topics with a clear message", async () => {
    const bad = await simulate(["--late", "1.5"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--late takes a fraction from 0 to 1/);
    const missing = await simulate(["--count", "10", "--topic", "no-such-topic"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/topic "no-such-topic" does not exist/);
    expect(kcatTopics(kafka.bootstrap)).not.toContain("no-such-topic");
    const noBroker = await runScript("workers/simulator.ts", ["--count", "1"], { KAFKA_BROKERS: "", ORDERPULSE_STATE_DIR: dir });
    expect(noBroker.code).toBe(2);
    expect(noBroker.stderr).toMatch(/KAFKA_BROKERS/);
  });
});
