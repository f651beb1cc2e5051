/**
 * `npm run services:up` / `services:down` / `services:status`: the local dev
 * services. Kafka is a real Apache Kafka broker (KRaft, one node, jars from
 * Maven Central: scripts/kafka/broker.ts); InfluxDB is Debian's 1.x server.
 * Endpoints go to .orderpulse/services.env, which workers and tests read.
 * If KAFKA_BROKERS / INFLUX_URL are already set, those services are used as they are.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { parseEnvFile, SERVICES_DIR, SERVICES_ENV_FILE } from "../workers/shared/env.ts";
import { influxCommand } from "../workers/shared/influxql.ts";
import { freePort } from "./free-port.ts";
import { createTopics, devTopics, KAFKA_VERSION, kafkaAlive, kafkaJarsPresent, readKafkaBroker, startKafka, stopKafka } from "./kafka/broker.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const LAUNCHER_SOURCE = join(ROOT, "scripts/kafka-mock/launcher.c");
export const LAUNCHER_BINARY = join(SERVICES_DIR, "bin/kafka-mock");
const INFLUX_DIR = join(SERVICES_DIR, "influxdb");
const INFLUX_DB = "orderpulse";

export class ServiceError extends Error {
  override name = "ServiceError";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------- packages ----------

interface Requirement {
  what: string;
  present: () => boolean;
  debianPackage: string;
}

const onPath = (command: string) => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;

const REQUIREMENTS: Record<"kafka" | "kafkaMock" | "influx" | "testTools", Requirement[]> = {
  // A fresh Debian has neither: the demo failed there with only an install hint (a first-hour trial in a debootstrap'd bookworm).
  kafka: [
    { what: "Java 17+ (runs the Kafka dev broker)", present: () => onPath("java"), debianPackage: "openjdk-17-jre-headless" },
    { what: "Maven (fetches the broker's jars from Maven Central, once)", present: () => kafkaJarsPresent() || onPath("mvn"), debianPackage: "maven" },
  ],
  kafkaMock: [
    { what: "a C compiler", present: () => onPath("cc"), debianPackage: "gcc" },
    { what: "librdkafka's mock cluster headers", present: () => existsSync("/usr/include/librdkafka/rdkafka_mock.h"), debianPackage: "librdkafka-dev" },
  ],
  influx: [{ what: "InfluxDB 1.x (influxd)", present: () => onPath("influxd"), debianPackage: "influxdb" }],
  testTools: [{ what: "kcat (an independent Kafka client for interop tests)", present: () => onPath("kcat"), debianPackage: "kcat" }],
};

export function ensureTestTools(): void {
  ensurePackages(REQUIREMENTS.testTools);
}

/** Installs missing Debian packages when we may (root with apt), else says exactly what to run. */
export function ensurePackages(needs: Requirement[]): void {
  const missing = needs.filter((r) => !r.present());
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((r) => r.debianPackage))];
  const command = `apt-get install -y --no-install-recommends ${packages.join(" ")}`;
  if (process.getuid?.() !== 0 || !onPath("apt-get")) {
    throw new ServiceError(`missing ${missing.map((r) => r.what).join(", ")}; install with:\n  sudo apt-get update && sudo ${command}`);
  }
  console.error(`services: installing ${packages.join(" ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", ...packages]]) {
    const result = spawnSync("apt-get", args, { stdio: ["ignore", 2, 2], env });
    if (result.status !== 0) throw new ServiceError(`apt-get ${args[0]} failed (exit ${result.status}); run it by hand: ${command}`);
  }
}

// ---------- small process and network checks ----------

/** True while `pid` runs `expectedCommand`: not a zombie, and not a recycled pid of another program. */
export function isAlive(pid: number | undefined, expectedCommand: string): boolean {
  if (!pid) return false;
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0];
    return state !== "Z" && state !== "X" && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(expectedCommand);
  } catch {
    return false;
  }
}

async function stopProcess(pid: number, name: string): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    if (!isAlive(pid, name)) return;
    await sleep(100);
  }
  process.kill(pid, "SIGKILL");
}

/** Sends one command to the launcher's control channel and returns its one-line answer. */
export function controlBroker(address: string, command: string, timeoutMs = 3_000): Promise<string> {
  const [host, port] = address.split(":");
  return new Promise((res, rej) => {
    const socket = connect(Number(port), host!);
    let answer = "";
    const timer = setTimeout(() => {
      socket.destroy();
      rej(new ServiceError(`no answer from broker control ${address}`));
    }, timeoutMs);
    socket.on("connect", () => socket.write(`${command}\n`));
    socket.on("data", (chunk) => {
      answer += chunk.toString();
      if (answer.includes("\n")) {
        clearTimeout(timer);
        socket.end();
        res(answer.trim());
      }
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      rej(new ServiceError(`broker control ${address}: ${error.message}`));
    });
  });
}

// ---------- librdkafka mock cluster (only for tests that inject protocol error codes) ----------

/**
 * librdkafka's mock cluster behind scripts/kafka-mock/launcher.c. Not Kafka: it
 * auto-creates topics, keeps ~5 MiB per partition and has no CreateTopics. Kept
 * only because its control channel makes a broker answer chosen error codes
 * (tests/broker-errors.test.ts), which no real broker can be made to do.
 */
export function buildLauncher(): string {
  ensurePackages(REQUIREMENTS.kafkaMock);
  if (existsSync(LAUNCHER_BINARY) && statSync(LAUNCHER_BINARY).mtimeMs >= statSync(LAUNCHER_SOURCE).mtimeMs) return LAUNCHER_BINARY;
  mkdirSync(dirname(LAUNCHER_BINARY), { recursive: true });
  const result = spawnSync("cc", ["-O2", "-Wall", "-o", LAUNCHER_BINARY, LAUNCHER_SOURCE, "-lrdkafka"], { encoding: "utf8" });
  if (result.status !== 0) throw new ServiceError(`building the Kafka mock broker failed:\n${result.stderr}`);
  return LAUNCHER_BINARY;
}

export interface MockBrokerInfo {
  bootstrap: string;
  control: string;
  pid: number;
}

function readMockBrokerInfo(readyFile: string): MockBrokerInfo | undefined {
  if (!existsSync(readyFile)) return undefined;
  const env = parseEnvFile(readFileSync(readyFile, "utf8"));
  if (!env.BOOTSTRAP || !env.CONTROL || !env.PID) return undefined;
  return { bootstrap: env.BOOTSTRAP, control: env.CONTROL, pid: Number(env.PID) };
}

/** Starts a mock cluster in the background and waits until its topics are served. */
export async function startMockBroker(options: { dir: string; topics: Record<string, number>; brokers?: number }): Promise<MockBrokerInfo> {
  const binary = buildLauncher();
  mkdirSync(options.dir, { recursive: true });
  const readyFile = join(options.dir, "ready");
  rmSync(readyFile, { force: true });
  const log = openSync(join(options.dir, "broker.log"), "a");
  const args = ["--brokers", String(options.brokers ?? 1), "--ready-file", readyFile];
  for (const [topic, partitions] of Object.entries(options.topics)) args.push("--topic", `${topic}:${partitions}`);
  const child = spawn(binary, args, { detached: true, stdio: ["ignore", log, log] });
  child.unref();
  let exited: number | null = null;
  child.once("exit", (code) => (exited = code ?? -1));
  for (let i = 0; i < 150; i++) {
    const info = readMockBrokerInfo(readyFile);
    if (info && (await controlBroker(info.control, "ping").catch(() => "")) === "ok") return info;
    if (exited !== null) break;
    await sleep(100);
  }
  child.kill("SIGKILL");
  throw new ServiceError(`the Kafka mock broker did not start; see ${join(options.dir, "broker.log")}`);
}

export async function stopMockBroker(info: MockBrokerInfo): Promise<void> {
  await stopProcess(info.pid, "kafka-mock");
}

// ---------- Apache Kafka dev broker ----------

/** The dev broker's own directory: server.properties, data/, server.log, ready. */
export const KAFKA_BROKER_DIR = join(SERVICES_DIR, "kafka/broker");

async function kafkaUp(topic: string, partitions: number): Promise<Record<string, string>> {
  const wanted = devTopics(topic, partitions);
  const recorded = readKafkaBroker(KAFKA_BROKER_DIR);
  if (recorded && kafkaAlive(recorded.pid)) {
    try {
      await createTopics(recorded.bootstrap, wanted);
    } catch (error) {
      // Kafka can add partitions but never remove them, and more partitions move keys: refuse rather than guess.
      throw new ServiceError(`the running Kafka dev broker (pid ${recorded.pid}) does not match: ${(error as Error).message}; run \`npm run services:down -- --reset\` to start it afresh (its data is deleted)`);
    }
    return { KAFKA_BROKERS: recorded.bootstrap };
  }
  if (recorded)
    console.error(`services: the Kafka dev broker (pid ${recorded.pid}, started ${new Date(recorded.startedAt).toISOString()}) is no longer running; see ${join(KAFKA_BROKER_DIR, "server.log")}. Starting it again on its data (same cluster id, same port)`);
  ensurePackages(REQUIREMENTS.kafka);
  const broker = await startKafka({ dir: KAFKA_BROKER_DIR, topics: wanted });
  console.error(`services: Apache Kafka ${KAFKA_VERSION} (KRaft, pid ${broker.pid}) answered on ${broker.bootstrap} after ${broker.startMs} ms`);
  return { KAFKA_BROKERS: broker.bootstrap };
}

// ---------- InfluxDB 1.x ----------

async function influxPing(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) });
    return response.status === 204;
  } catch {
    return false;
  }
}

export interface InfluxInfo {
  url: string;
  pid: number;
}

/** Starts an InfluxDB 1.x server with its data under `dir`, on `port` (or any free port), and waits until it answers. */
export async function startInflux(options: { dir: string; port?: number }): Promise<InfluxInfo> {
  ensurePackages(REQUIREMENTS.influx);
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const httpPort = options.port ?? (await freePort(8086));
  const rpcPort = await freePort(0);
  const config = join(dir, "influxdb.conf");
  writeFileSync(
    config,
    [
      "reporting-disabled = true",
      `bind-address = "127.0.0.1:${rpcPort}"`,
      "[meta]",
      `  dir = "${dir}/meta"`,
      "[data]",
      `  dir = "${dir}/data"`,
      `  wal-dir = "${dir}/wal"`,
      "  query-log-enabled = false",
      "[http]",
      `  bind-address = "127.0.0.1:${httpPort}"`,
      "  log-enabled = false",
      "[monitor]",
      "  store-enabled = false",
      "[continuous_queries]",
      "  enabled = false",
      "[logging]",
      '  level = "warn"',
      "",
    ].join("\n"),
  );
  const log = openSync(join(dir, "influxd.log"), "a");
  const child = spawn("influxd", ["-config", config], { detached: true, stdio: ["ignore", log, log] });
  child.unref();
  const url = `http://127.0.0.1:${httpPort}`;
  for (let i = 0; i < 300; i++) {
    if (await influxPing(url)) return { url, pid: child.pid! };
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  child.kill("SIGKILL");
  throw new ServiceError(`InfluxDB did not start on ${url}; see ${join(dir, "influxd.log")}`);
}

export async function stopInflux(info: InfluxInfo): Promise<void> {
  await stopProcess(info.pid, "influxd");
}

async function influxUp(): Promise<Record<string, string>> {
  const pidFile = join(INFLUX_DIR, "influxd.pid");
  const urlFile = join(INFLUX_DIR, "url");
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : undefined;
  let url = existsSync(urlFile) ? readFileSync(urlFile, "utf8").trim() : "";
  if (!(isAlive(pid, "influxd") && (await influxPing(url)))) {
    const info = await startInflux({ dir: INFLUX_DIR });
    writeFileSync(pidFile, String(info.pid));
    writeFileSync(urlFile, info.url);
    url = info.url;
  }
  await influxCommand({ version: 1, url, database: INFLUX_DB }, `CREATE DATABASE "${INFLUX_DB}"`);
  return { INFLUX_URL: url, INFLUX_DB };
}

// ---------- commands ----------

export async function servicesUp(options: { topic: string; partitions: number }): Promise<Record<string, string>> {
  mkdirSync(SERVICES_DIR, { recursive: true });
  const endpoints: Record<string, string> = { KAFKA_TOPIC: options.topic };
  if (process.env.KAFKA_BROKERS) endpoints.KAFKA_BROKERS = process.env.KAFKA_BROKERS;
  else Object.assign(endpoints, await kafkaUp(options.topic, options.partitions));
  if (process.env.INFLUX_URL) endpoints.INFLUX_URL = process.env.INFLUX_URL;
  else Object.assign(endpoints, await influxUp());
  writeFileSync(SERVICES_ENV_FILE, Object.entries(endpoints).map(([k, v]) => `${k}=${v}\n`).join(""));
  return endpoints;
}

/** When `pid` started (epoch ms), from /proc: its start tick after the machine's boot time. */
function processStartedAt(pid: number): number | undefined {
  try {
    const ticks = Number(readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ")[19]);
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))![1]);
    return bootSeconds * 1000 + (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** orderpulse processes of this checkout (workers, one-shot tools, simulator, web) other than this one. */
export function orderpulseProcesses(): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || pid === process.ppid) continue;
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const ours = command.includes(`${ROOT}/`) || cwd === ROOT;
      if (ours && /(workers\/[\w/-]+\.ts|next (dev|start))/.test(command)) found.push({ pid, command });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

export interface ServiceStatus {
  name: string;
  state: "running" | "dead" | "stopped" | "external";
  pid?: number;
  address?: string;
  since?: number;
  detail?: string;
}

/** What runs, where and since when: the dev broker, InfluxDB, and orderpulse processes using them. */
export async function servicesStatus(): Promise<{ services: ServiceStatus[]; users: { pid: number; command: string }[] }> {
  const services: ServiceStatus[] = [];
  const broker = readKafkaBroker(KAFKA_BROKER_DIR);
  const kafka = `Apache Kafka ${KAFKA_VERSION} dev broker`;
  if (process.env.KAFKA_BROKERS) services.push({ name: "Kafka", state: "external", address: process.env.KAFKA_BROKERS, detail: "KAFKA_BROKERS is set: services:up uses it as it is" });
  else if (!broker) services.push({ name: kafka, state: "stopped", detail: `data in ${KAFKA_BROKER_DIR}` });
  else
    services.push({
      name: kafka,
      state: kafkaAlive(broker.pid) ? "running" : "dead",
      pid: broker.pid,
      address: broker.bootstrap,
      since: broker.startedAt,
      detail: `cluster ${broker.clusterId}, data ${join(KAFKA_BROKER_DIR, "data")}, log ${join(KAFKA_BROKER_DIR, "server.log")}`,
    });
  const pidFile = join(INFLUX_DIR, "influxd.pid");
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : undefined;
  const url = existsSync(join(INFLUX_DIR, "url")) ? readFileSync(join(INFLUX_DIR, "url"), "utf8").trim() : undefined;
  if (process.env.INFLUX_URL) services.push({ name: "InfluxDB", state: "external", address: process.env.INFLUX_URL, detail: "INFLUX_URL is set: services:up uses it as it is" });
  else if (!pid) services.push({ name: "InfluxDB 1.x", state: "stopped", detail: `data in ${INFLUX_DIR}` });
  else {
    const alive = isAlive(pid, "influxd") && (await influxPing(url ?? ""));
    services.push({ name: "InfluxDB 1.x", state: alive ? "running" : "dead", pid, address: url, since: alive ? processStartedAt(pid) : undefined, detail: `data ${INFLUX_DIR}, log ${join(INFLUX_DIR, "influxd.log")}` });
  }
  return { services, users: orderpulseProcesses() };
}

/**
 * Stops the dev broker (a controlled shutdown) and InfluxDB. Returns what it
 * stopped and the orderpulse processes still running (they lose their services:
 * the caller warns). With `reset`, both services' data is deleted too.
 */
export async function servicesDown(options: { reset?: boolean } = {}): Promise<{ stopped: string[]; users: { pid: number; command: string }[] }> {
  const users = orderpulseProcesses();
  const stopped: string[] = [];
  const broker = readKafkaBroker(KAFKA_BROKER_DIR);
  if (broker && kafkaAlive(broker.pid)) {
    await stopKafka(broker);
    stopped.push(`Kafka dev broker (pid ${broker.pid})`);
  }
  rmSync(join(KAFKA_BROKER_DIR, "ready"), { force: true });
  const pidFile = join(INFLUX_DIR, "influxd.pid");
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : undefined;
  if (pid && isAlive(pid, "influxd")) {
    await stopProcess(pid, "influxd");
    stopped.push(`InfluxDB (pid ${pid})`);
  }
  rmSync(pidFile, { force: true });
  rmSync(SERVICES_ENV_FILE, { force: true });
  if (options.reset) for (const dir of [KAFKA_BROKER_DIR, INFLUX_DIR]) rmSync(dir, { recursive: true, force: true });
  return { stopped, users };
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const program = new Command("services").description(`Local dev services: Apache Kafka ${KAFKA_VERSION} (KRaft, one node) and InfluxDB 1.x`);
  program
    .command("up")
    .description("start (or reuse) the services, wait until healthy, record endpoints in .orderpulse/services.env")
    .option("--topic <name>", "orders topic; <topic>.dlq and <topic>.metrics are created too", process.env.KAFKA_TOPIC || "orders")
    .option("--partitions <n>", "partitions of the orders topic", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError("1..64");
      return n;
    }, 8)
    .action(async (opts: { topic: string; partitions: number }) => {
      const endpoints = await servicesUp(opts);
      for (const [k, v] of Object.entries(endpoints)) console.log(`${k}=${v}`);
      console.error(`services: up (endpoints recorded in ${SERVICES_ENV_FILE})`);
    });
  program
    .command("down")
    .description("stop the local services (warns about orderpulse processes still using them)")
    .option("--reset", "also delete their data: the broker's topics and cluster id, InfluxDB's databases (the Kafka jars stay)")
    .action(async (opts: { reset?: boolean }) => {
      const { stopped, users } = await servicesDown(opts);
      for (const user of users) console.error(`services: warning: orderpulse process ${user.pid} (${user.command}) is still running and loses its services`);
      console.error(stopped.length ? `services: stopped ${stopped.join(", ")}` : "services: nothing was running");
      if (opts.reset) console.error(`services: deleted the data in ${KAFKA_BROKER_DIR} and ${INFLUX_DIR}`);
    });
  program
    .command("status")
    .description("what runs, where, since when; and which orderpulse processes run")
    .action(async () => {
      const { services, users } = await servicesStatus();
      for (const s of services)
        console.log([s.name.padEnd(30), s.state.padEnd(8), s.pid ? `pid ${s.pid}` : "", s.address ?? "", s.since ? `since ${new Date(s.since).toISOString()}` : "", s.detail ?? ""].filter(Boolean).join("  "));
      if (users.length === 0) console.log("no orderpulse processes running");
      for (const user of users) console.log(`orderpulse process ${user.pid}: ${user.command}`);
      if (services.some((s) => s.state === "dead")) process.exitCode = 1;
    });
  program.parseAsync().catch((error: Error) => {
    console.error(`services: ${error.message}`);
    process.exit(1);
  });
}
