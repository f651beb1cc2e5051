/**
 * `npm run simulate -- [options]`: produces realistic order events (with optional
 * chaos) to Kafka, keyed by customer, in compressed batches (gzip unless
 * `--compression` says otherwise) with bounded in-flight sends.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "csv-stringify/sync";
import { once } from "node:events";
import { Command, Option } from "commander";
import type { Message, Producer } from "kafkajs";
import { connectEnvSchema, kafkaEnvSchema, windowEnvSchema } from "../lib/contract/config.ts";
import { MESSAGE_KINDS, OrderGenerator, type ChaosRates, type MessageKind, type SimMessage } from "../lib/sim/order-generator.ts";
import { simDimensionTables } from "../lib/sim/dimensions.ts";
import { configsOrExit, loadEnv } from "./shared/env.ts";
import { EXIT, runMain } from "./shared/entry-point.ts";
import { COMPRESSION_BY_NAME, createKafka, openProducer, type CompressionName } from "./shared/kafka.ts";
import { waitForKafka } from "./shared/startup.ts";
import { createLogger } from "./shared/log.ts";
import { durationArg, fractionArg, instantArg, wholeNumberArg } from "./shared/cli-args.ts";


const program = new Command("simulate")
  .description("Produce realistic order events to Kafka (see README: Simulator)")
  .option("--rate <n>", "events per second; 0 = as fast as possible", wholeNumberArg(0), 50)
  .option("--count <n>", "stop after this many messages", wholeNumberArg(1))
  .option("--duration <d>", "stop after this long, e.g. 30s, 5m", durationArg())
  .option("--sim-rate <n>", "with --rate 0: orders per simulated second, i.e. how fast event time advances", wholeNumberArg(1), 1_000)
  .option("--seed <n>", "same seed (and --start): same events; default random", wholeNumberArg(0))
  .option("--start <time>", "event time of the first order (ISO-8601 or epoch ms); default now", instantArg)
  .option("--topic <name>", "topic to produce to (default KAFKA_TOPIC)")
  .option("--duplicates <f>", "fraction of re-sent orders", fractionArg("--duplicates"), 0)
  .option("--late <f>", "fraction with event_time beyond window + watermark delay in the past", fractionArg("--late"), 0)
  .option("--out-of-order <f>", "fraction with event_time jittered back by less than the watermark delay", fractionArg("--out-of-order"), 0)
  .option("--malformed <f>", "fraction of invalid messages (bad JSON, wrong types, out of range)", fractionArg("--malformed"), 0)
  .option("--nulls <f>", "fraction with optional fields missing or null", fractionArg("--nulls"), 0)
  .option("--skew <f>", "fraction with event_time too far in the future (invalid)", fractionArg("--skew"), 0)
  .option("--truth <file>", "write every valid, de-duplicated order as NDJSON")
  .option("--dims-out <dir>", "write the dimensions of the simulated customers and catalog as <dir>/dim_customer.csv and <dir>/dim_product.csv (for npm run dims:load)")
  .addOption(new Option("--compression <codec>", "record batch compression").choices(Object.keys(COMPRESSION_BY_NAME)).default("gzip"))
  .addOption(new Option("--batch <n>", "messages per produce request").argParser(wholeNumberArg(1)).default(500))
  // One at a time keeps the log in the order generated (what --truth describes): with several in flight, kafkajs
  // compresses them concurrently and retries without idempotence, so a later batch can land first (Kafka's
  // max.in.flight.requests.per.connection caveat). Measured: no throughput lost at 5k/s, the generator bounds it.
  .addOption(new Option("--in-flight <n>", "produce requests awaiting acks at once (more than 1 may reorder batches)").argParser(wholeNumberArg(1)).default(1))
  .showHelpAfterError("(npm run simulate -- --help shows every option)")
  .exitOverride((error) => process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage))
  .addHelpText("after", "\nEnvironment: KAFKA_BROKERS, KAFKA_TOPIC, KAFKA_SSL, KAFKA_SASL_*, WINDOW_SIZE, WATERMARK_DELAY, MAX_EVENT_SKEW, CONNECT_TIMEOUT.\nExit codes: 0 sent; 1 a send failed or Kafka stayed unreachable for CONNECT_TIMEOUT; 2 bad arguments, configuration or a missing topic.\n");

/** The command line: pacing and output, plus the chaos fractions the generator takes. */
interface Options extends ChaosRates {
  rate: number;
  simRate: number;
  count?: number;
  duration?: number;
  seed?: number;
  start?: number;
  topic?: string;
  truth?: string;
  dimsOut?: string;
  compression: CompressionName;
  batch: number;
  inFlight: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class BoundedSender {
  private inFlight = new Set<Promise<void>>();
  readonly acked = new Map<MessageKind, number>(MESSAGE_KINDS.map((k) => [k, 0]));
  failure: Error | undefined;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly limit: number,
    private readonly compression: CompressionName,
  ) {}

  async send(batch: SimMessage[]): Promise<void> {
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const messages: Message[] = batch.map((m) => ({ key: m.key, value: m.value, timestamp: String(m.timestamp) }));
    const request = this.producer
      .send({ topic: this.topic, messages, compression: COMPRESSION_BY_NAME[this.compression], acks: -1 })
      .then((metadata) => {
        const bad = metadata.find((m) => m.errorCode !== 0);
        if (bad) throw new Error(`broker refused partition ${bad.partition} of ${this.topic}: error code ${bad.errorCode}`);
        for (const m of batch) this.acked.set(m.kind, this.acked.get(m.kind)! + 1);
      })
      .catch((error: Error) => {
        this.failure ??= error;
      })
      .finally(() => this.inFlight.delete(request));
    this.inFlight.add(request);
  }

  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
  }

  get total(): number {
    return [...this.acked.values()].reduce((a, b) => a + b, 0);
  }
}

async function writeLine(stream: WriteStream, line: Buffer): Promise<void> {
  if (!stream.write(Buffer.concat([line, Buffer.from("\n")]))) await once(stream, "drain");
}

/** The simulator's dim_customer and dim_product as CSV files in `dir`; returns their paths. */
async function writeSimDimensions(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const { table, header, rows } of simDimensionTables()) {
    const path = join(dir, `${table.name}.csv`);
    await writeFile(path, stringify([header, ...rows]));
    files.push(path);
  }
  return files;
}

async function main(): Promise<void> {
  const opts = program.parse().opts<Options>();
  const { kafka, windows, connect } = configsOrExit({ kafka: kafkaEnvSchema, windows: windowEnvSchema, connect: connectEnvSchema }, loadEnv());
  const log = createLogger("simulate");
  const topic = opts.topic ?? kafka.topic;
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const startMs = opts.start ?? Date.now();
  const generator = new OrderGenerator({
    seed,
    startMs,
    // Without pacing, event time still advances as if --sim-rate orders arrived per second.
    ratePerSecond: opts.rate > 0 ? opts.rate : opts.simRate,
    chaos: { duplicates: opts.duplicates, late: opts.late, outOfOrder: opts.outOfOrder, malformed: opts.malformed, nulls: opts.nulls, skew: opts.skew },
    windowSizeMs: windows.windowSizeMs,
    watermarkDelayMs: windows.watermarkDelayMs,
    maxEventSkewMs: windows.maxEventSkewMs,
  });

  if (opts.dimsOut) {
    const files = await writeSimDimensions(opts.dimsOut);
    log.info({ files }, "wrote the simulated dimensions");
  }

  const client = createKafka(kafka, "orderpulse-simulator", log);
  await waitForKafka(kafka, { name: "simulate", timeoutMs: connect.connectTimeoutMs });
  // A missing topic exits 2 (MissingTopicError's exit code) through runMain.
  const producer = await openProducer(client, kafka, [topic], { maxInFlightRequests: opts.inFlight });
  const sender = new BoundedSender(producer, topic, opts.inFlight, opts.compression);
  const truth = opts.truth ? createWriteStream(opts.truth) : undefined;

  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130);
    stopping = true;
    log.info("stopping: sending what is queued, then exiting");
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  const wallStart = Date.now();
  const deadline = opts.duration !== undefined ? wallStart + opts.duration : Infinity;
  const limit = opts.count ?? Infinity;
  log.info({ topic, seed, startMs, rate: opts.rate, count: opts.count ?? null, compression: opts.compression }, "simulating");
  const progress = setInterval(() => {
    const seconds = (Date.now() - wallStart) / 1000;
    console.error(`simulate: ${sender.total}${Number.isFinite(limit) ? `/${limit}` : ""} acked, ${Math.round(sender.total / seconds)}/s`);
  }, 2_000);

  let generated = 0;
  let batch: SimMessage[] = [];
  let failed: Error | undefined;
  try {
    while (!stopping && generated < limit && Date.now() < deadline && !sender.failure) {
      const message = generator.next();
      generated++;
      if (opts.rate > 0) {
        const due = wallStart + (message.timestamp - startMs);
        const wait = due - Date.now();
        if (wait > 0) {
          if (batch.length > 0) {
            await sender.send(batch);
            batch = [];
          }
          await sleep(wait);
        }
      }
      batch.push(message);
      if (truth && message.truth) await writeLine(truth, message.value);
      if (batch.length >= opts.batch) {
        await sender.send(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await sender.send(batch);
    await sender.drain();
  } catch (error) {
    failed = error as Error;
  } finally {
    clearInterval(progress);
    if (truth) await new Promise((r) => truth.end(r));
    await producer.disconnect().catch(() => undefined);
  }

  const seconds = (Date.now() - wallStart) / 1000;
  const kinds = [...sender.acked].map(([kind, n]) => `${kind}=${n}`).join(" ");
  console.log(`summary sent=${sender.total} ${kinds} seed=${seed} seconds=${seconds.toFixed(2)} rate=${Math.round(sender.total / Math.max(seconds, 0.001))}/s${stopping ? " stopped=early" : ""}`);
  if (failed) {
    console.error(`simulate: produce to ${topic} failed after ${sender.total} acked messages: ${failed.message}`);
    process.exit(1);
  }
}

runMain("simulate", main);
