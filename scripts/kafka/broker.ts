/**
 * A real single-node Apache Kafka broker (KRaft, combined broker+controller)
 * for development and tests, run from Maven Central's jars: `mvn
 * dependency:copy-dependencies` on scripts/kafka/pom.xml fills
 * .orderpulse/kafka/lib-<version>/ once (a marker file says the copy is
 * complete, so later starts run Maven not at all), then `java kafka.Kafka
 * server.properties` runs with its data, config and log files under the
 * broker's own directory. Restarting on the same directory keeps the data,
 * the ports and the cluster id.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, closeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel, type ITopicConfig } from "kafkajs";
import { parseEnvFile } from "../../workers/shared/env.ts";
import { freePort } from "../free-port.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const POM = join(ROOT, "scripts/kafka/pom.xml");

/** The pinned Kafka release: the pom's `kafka.version`, the one docker-compose.yml's apache/kafka image must match. */
export const KAFKA_VERSION = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(POM, "utf8"))![1]!;
/** Jars are shared by every state directory (ORDERPULSE_STATE_DIR): they depend only on the pom. */
export const KAFKA_LIB = join(ROOT, ".orderpulse/kafka", `lib-${KAFKA_VERSION}`);
const COMPLETE_MARKER = ".complete";

export class KafkaBrokerError extends Error {
  override name = "KafkaBrokerError";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True when KAFKA_LIB holds a complete copy of the jars this pom names (Maven is then not needed). */
export function kafkaJarsPresent(): boolean {
  const marker = join(KAFKA_LIB, COMPLETE_MARKER);
  return existsSync(marker) && readFileSync(marker, "utf8") === readFileSync(POM, "utf8");
}

/**
 * Copies the broker's jars from Maven Central (through Maven's local repository)
 * into KAFKA_LIB unless a complete copy with this pom is already there.
 * Returns the classpath. Throws KafkaBrokerError with Maven's output when it fails.
 */
export function ensureKafkaJars(): string {
  if (kafkaJarsPresent()) return `${KAFKA_LIB}/*`;
  if (spawnSync("sh", ["-c", "command -v mvn && command -v java"], { stdio: "ignore" }).status !== 0)
    throw new KafkaBrokerError("the Kafka dev broker needs Java 17+ and Maven (`apt-get install openjdk-17-jre-headless maven`)");
  const pom = readFileSync(POM, "utf8");
  const partial = `${KAFKA_LIB}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  console.error(`kafka: fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central into ${KAFKA_LIB} (once)`);
  const result = spawnSync("mvn", ["-q", "-B", "-f", POM, "dependency:copy-dependencies", `-DoutputDirectory=${partial}`, "-DincludeScope=runtime"], { encoding: "utf8", timeout: 600_000 });
  if (result.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    throw new KafkaBrokerError(`mvn dependency:copy-dependencies -f ${POM} failed (exit ${result.status ?? result.signal}):\n${(result.stdout + result.stderr).slice(-4000)}`);
  }
  writeFileSync(join(partial, COMPLETE_MARKER), pom);
  rmSync(KAFKA_LIB, { recursive: true, force: true });
  mkdirSync(dirname(KAFKA_LIB), { recursive: true });
  renameSync(partial, KAFKA_LIB);
  return `${KAFKA_LIB}/*`;
}

export interface KafkaBroker {
  /** host:port for clients. */
  bootstrap: string;
  pid: number;
  /** The broker's directory: server.properties, data/, server.log, ready. */
  dir: string;
  clusterId: string;
  /** Epoch ms when the broker answered. */
  startedAt: number;
  /** How long start-up took, ms (format included on a first start). */
  startMs: number;
}

export interface KafkaBrokerOptions {
  /** Data, config and logs; reused as it is when it holds a broker already (same ports, data, cluster id). */
  dir: string;
  /** Topic name to partition count, created through the admin API once the broker answers. */
  topics?: Record<string, number>;
  /** Per-topic settings for topics created here (for example retention.bytes). */
  topicConfig?: Record<string, string>;
  /** Extra or overriding broker settings (server.properties keys). */
  config?: Record<string, string | number>;
  /** Client port; default: the one this directory used before, else any free port. */
  port?: number;
  heapMb?: number;
}

/**
 * Broker settings for a single node on loopback. The group minimum session timeout
 * is lowered so KAFKA_SESSION_TIMEOUT of a few seconds (tests) is accepted: the
 * broker's default minimum is 6 s. One partition for the internal offsets and
 * transaction topics keeps a first start quick. Retention: 1 GiB per partition, no time limit.
 */
function serverProperties(dir: string, port: number, controllerPort: number, extra: Record<string, string | number>): string {
  const settings: Record<string, string | number> = {
    "process.roles": "broker,controller",
    "node.id": 1,
    "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${port}`,
    "controller.listener.names": "CONTROLLER",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "inter.broker.listener.name": "PLAINTEXT",
    "log.dirs": join(dir, "data"),
    "auto.create.topics.enable": "false",
    "num.partitions": 1,
    "offsets.topic.replication.factor": 1,
    "offsets.topic.num.partitions": 1,
    "transaction.state.log.replication.factor": 1,
    "transaction.state.log.min.isr": 1,
    "transaction.state.log.num.partitions": 1,
    "share.coordinator.state.topic.replication.factor": 1,
    "share.coordinator.state.topic.min.isr": 1,
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 1000,
    // After a kill -9 the controller refuses the restarted broker's registration
    // until the old one's session ends (default 9 s): keep that short on one node.
    "broker.session.timeout.ms": 2000,
    "broker.heartbeat.interval.ms": 500,
    // Retention by size only: tests and replays write records with timestamps days in the past,
    // which the default 7-day time retention would delete at the first check.
    "log.retention.ms": -1,
    "log.retention.bytes": 1024 * 1024 * 1024,
    "num.network.threads": 2,
    "num.io.threads": 2,
    "num.recovery.threads.per.data.dir": 1,
    ...extra,
  };
  return Object.entries(settings).map(([k, v]) => `${k}=${v}\n`).join("");
}

function log4jConfig(dir: string): string {
  return [
    "Configuration:",
    "  Appenders:",
    "    RollingFile:",
    "      name: file",
    `      fileName: "${join(dir, "server.log")}"`,
    `      filePattern: "${join(dir, "server.log.%i")}"`,
    '      PatternLayout: { pattern: "[%d] %p %m (%c)%n" }',
    "      SizeBasedTriggeringPolicy: { size: 20MB }",
    "      DefaultRolloverStrategy: { max: 2 }",
    "  Loggers:",
    "    Root: { level: INFO, AppenderRef: [{ ref: file }] }",
    "    Logger:",
    "      - { name: kafka.request.logger, level: WARN }",
    "      - { name: org.apache.kafka.controller, level: WARN }",
    "",
  ].join("\n");
}

/** A Kafka cluster id: 16 random bytes, base64url without padding (what `kafka-storage random-uuid` prints; it may start with "-"). */
const newClusterId = () => randomBytes(16).toString("base64url");

const tail = (file: string, chars = 3000) => (existsSync(file) ? readFileSync(file, "utf8").slice(-chars) : "(no log)");

/** The broker a directory's `ready` file names, if any (it may have died since). */
export function readKafkaBroker(dir: string): KafkaBroker | undefined {
  const file = join(dir, "ready");
  if (!existsSync(file)) return undefined;
  const env = parseEnvFile(readFileSync(file, "utf8"));
  if (!env.BOOTSTRAP || !env.PID) return undefined;
  return { bootstrap: env.BOOTSTRAP, pid: Number(env.PID), dir, clusterId: env.CLUSTER_ID ?? "", startedAt: Number(env.STARTED_AT), startMs: Number(env.START_MS) };
}

/** True while `pid` is a live (not zombie) Kafka broker JVM. */
export function kafkaAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0];
    return state !== "Z" && state !== "X" && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("kafka.Kafka");
  } catch {
    return false;
  }
}

async function answers(bootstrap: string): Promise<string | undefined> {
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1_000 }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 ? cluster.clusterId : undefined;
  } catch {
    return undefined;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * A first group request makes the broker create and load `__consumer_offsets`;
 * until then joins fail with COORDINATOR_LOAD_IN_PROGRESS, which kafkajs answers
 * by crashing and restarting the consumer. Asking once here (kafkajs retries
 * the admin request) means a worker's first join just works.
 */
async function groupCoordinatorReady(bootstrap: string): Promise<void> {
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      // COORDINATOR_LOAD_IN_PROGRESS and NOT_COORDINATOR (kafkajs's admin does not retry the latter) until loaded.
      const error = await admin.fetchOffsets({ groupId: "orderpulse-broker-ready" }).then(() => undefined, (e: Error) => e);
      if (!error) return;
      if (Date.now() > deadline) throw new KafkaBrokerError(`the group coordinator on ${bootstrap} is not ready after 30 s: ${error.message}`);
      await sleep(100);
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Starts a broker on `options.dir` (formatting its storage on a first start),
 * waits until it answers a metadata request, and creates the missing topics.
 * Throws KafkaBrokerError naming the log file when the JVM exits or does not
 * answer within 90 s.
 */
export async function startKafka(options: KafkaBrokerOptions, attempt = 1): Promise<KafkaBroker> {
  const began = Date.now();
  const classpath = ensureKafkaJars();
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const portsFile = join(dir, "ports.json");
  const previous = existsSync(portsFile) ? (JSON.parse(readFileSync(portsFile, "utf8")) as { port: number; controllerPort: number }) : undefined;
  // Ports picked here are free when picked, not when the JVM binds them: another process (a parallel test
  // file's broker) may take one meanwhile, and then a fresh directory simply starts over on new ones.
  const portsPicked = options.port === undefined && previous === undefined;
  const port = options.port ?? previous?.port ?? (await freePort());
  let controllerPort = previous?.controllerPort ?? (await freePort());
  // Each pick releases its port before the next, so the same one can come back twice; Kafka refuses two listeners on one port.
  while (controllerPort === port) controllerPort = await freePort();
  writeFileSync(portsFile, JSON.stringify({ port, controllerPort }));
  const properties = join(dir, "server.properties");
  writeFileSync(properties, serverProperties(dir, port, controllerPort, options.config ?? {}));
  writeFileSync(join(dir, "log4j2.yaml"), log4jConfig(dir));
  rmSync(join(dir, "ready"), { force: true });

  if (!existsSync(join(dir, "data/meta.properties"))) {
    const clusterId = newClusterId();
    const format = spawnSync("java", ["-Xmx256m", "-cp", classpath, "kafka.tools.StorageTool", "format", `--cluster-id=${clusterId}`, `--config=${properties}`], { encoding: "utf8", timeout: 120_000 });
    if (format.status !== 0) throw new KafkaBrokerError(`kafka-storage format failed (exit ${format.status ?? format.signal}):\n${format.stdout}${format.stderr}`);
  }
  const stdout = openSync(join(dir, "broker.out"), "a");
  const heap = options.heapMb ?? 512;
  const child: ChildProcess = spawn(
    "java",
    [`-Xms64m`, `-Xmx${heap}m`, "-XX:+UseSerialGC", "-Djava.awt.headless=true", `-Dlog4j2.configurationFile=${join(dir, "log4j2.yaml")}`, `-Dkafka.logs.dir=${dir}`, "-cp", classpath, "kafka.Kafka", properties],
    { detached: true, stdio: ["ignore", stdout, stdout] },
  );
  closeSync(stdout);
  child.unref();
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = String(code ?? signal)));
  const bootstrap = `127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  let clusterId: string | undefined;
  while (!(clusterId = await answers(bootstrap))) {
    if (exited !== undefined || Date.now() > deadline) {
      if (exited === undefined) process.kill(child.pid!, "SIGKILL");
      else if (portsPicked && attempt < 3 && /BindException|Address already in use/.test(tail(join(dir, "server.log"), 20_000) + tail(join(dir, "broker.out"), 20_000))) {
        rmSync(join(dir, "data"), { recursive: true, force: true });
        rmSync(portsFile, { force: true });
        return startKafka(options, attempt + 1);
      }
      throw new KafkaBrokerError(`the Kafka broker in ${dir} ${exited !== undefined ? `exited (${exited})` : "did not answer within 90 s"}; see ${join(dir, "server.log")}:\n${tail(join(dir, "server.log"))}\n${tail(join(dir, "broker.out"), 1500)}`);
    }
    await sleep(100);
  }
  const broker: KafkaBroker = { bootstrap, pid: child.pid!, dir, clusterId, startedAt: Date.now(), startMs: 0 };
  try {
    await groupCoordinatorReady(bootstrap);
    if (options.topics) await createTopics(bootstrap, options.topics, options.topicConfig);
  } catch (error) {
    await killKafka(broker); // a broker nobody was told about must not outlive the failure
    throw error;
  }
  broker.startMs = Date.now() - began;
  writeFileSync(join(dir, "ready"), `BOOTSTRAP=${bootstrap}\nPID=${broker.pid}\nCLUSTER_ID=${clusterId}\nSTARTED_AT=${broker.startedAt}\nSTART_MS=${broker.startMs}\n`);
  return broker;
}

/** The topics `services:up` and the Docker stack's `kafka-init` create: `<topic>` (8 partitions by default), `<topic>.dlq` (2), `<topic>.metrics` (4). */
export const devTopics = (topic: string, partitions = 8): Record<string, number> => ({ [topic]: partitions, [`${topic}.dlq`]: 2, [`${topic}.metrics`]: 4 });

/**
 * Creates the topics that do not exist yet (replication factor 1), waiting for
 * their leaders, exactly as the Docker stack's `kafka-init` does. Throws
 * KafkaBrokerError when an existing topic has another partition count.
 */
export async function createTopics(bootstrap: string, topics: Record<string, number>, configEntries: Record<string, string> = {}): Promise<void> {
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted: ITopicConfig[] = Object.entries(topics)
      .filter(([topic]) => !existing.has(topic))
      .map(([topic, numPartitions]) => ({ topic, numPartitions, replicationFactor: 1, configEntries: Object.entries(configEntries).map(([name, value]) => ({ name, value })) }));
    if (wanted.length > 0) {
      await admin.createTopics({ topics: wanted, waitForLeaders: false });
      // KRaft publishes new topics to the broker's metadata a moment later; kafkajs's own wait
      // gives up on UNKNOWN_TOPIC_OR_PARTITION, so wait here until every partition has a leader.
      const names = wanted.map((t) => t.topic);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const led = await admin
          .fetchTopicMetadata({ topics: names })
          .then(({ topics: found }) => found.length === names.length && found.every((t) => t.partitions.length === topics[t.name] && t.partitions.every((p) => p.leader >= 0)))
          .catch(() => false);
        if (led) break;
        if (Date.now() > deadline) throw new KafkaBrokerError(`topics ${names.join(", ")} on ${bootstrap} have no leader 30 s after creation`);
        await sleep(100);
      }
    }
    const present = Object.keys(topics).filter((t) => existing.has(t));
    if (present.length > 0) {
      const { topics: described } = await admin.fetchTopicMetadata({ topics: present });
      const wrong = described.filter((t) => t.partitions.length !== topics[t.name]);
      if (wrong.length > 0)
        throw new KafkaBrokerError(`topic${wrong.length > 1 ? "s" : ""} ${wrong.map((t) => `${t.name} has ${t.partitions.length} partitions, not ${topics[t.name]}`).join("; ")} on ${bootstrap}`);
    }
  } finally {
    await admin.disconnect();
  }
}

/** SIGTERM (a controlled shutdown), SIGKILL after `graceMs`. Resolves once the JVM is gone. */
export async function stopKafka(broker: Pick<KafkaBroker, "pid" | "dir">, graceMs = 30_000): Promise<void> {
  if (kafkaAlive(broker.pid)) {
    try {
      process.kill(broker.pid, "SIGTERM");
    } catch {
      /* gone already */
    }
    const deadline = Date.now() + graceMs;
    while (kafkaAlive(broker.pid) && Date.now() < deadline) await sleep(100);
    if (kafkaAlive(broker.pid)) await killKafka(broker);
  }
  rmSync(join(broker.dir, "ready"), { force: true });
}

/** kill -9: what a crash or a power loss of the broker process looks like. Resolves once the JVM is gone. */
export async function killKafka(broker: Pick<KafkaBroker, "pid" | "dir">): Promise<void> {
  try {
    process.kill(broker.pid, "SIGKILL");
  } catch {
    /* gone already */
  }
  while (kafkaAlive(broker.pid)) await sleep(50);
}

/** Segment files of a topic partition on disk (for retention tests). */
export function segmentFiles(broker: Pick<KafkaBroker, "dir">, topic: string, partition: number): string[] {
  const dir = join(broker.dir, "data", `${topic}-${partition}`);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".log")) : [];
}
