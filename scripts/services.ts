/**
 * `npm run services:up` / `services:down` / `services:status`: the local dev
 * services. Kafka is librdkafka's mock cluster (a test broker: in memory, about
 * 5 MiB kept per partition) behind our launcher; InfluxDB is Debian's 1.x server.
 * Endpoints go to .orderpulse/services.env, which workers and tests read.
 * If KAFKA_BROKERS / INFLUX_URL are already set, those services are used as they are.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { parseEnvFile, SERVICES_DIR, SERVICES_ENV_FILE } from "../workers/shared/env.ts";
import { influxCommand } from "../workers/shared/influxql.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const LAUNCHER_SOURCE = join(ROOT, "scripts/kafka-mock/launcher.c");
export const LAUNCHER_BINARY = join(SERVICES_DIR, "bin/kafka-mock");
const KAFKA_DIR = join(SERVICES_DIR, "kafka");
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

const REQUIREMENTS: Record<"kafka" | "influx" | "testTools", Requirement[]> = {
  kafka: [
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

export function freePort(preferred = 0): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | undefined>((res) => {
      const server = createServer();
      server.once("error", () => res(undefined));
      server.listen(port, "127.0.0.1", () => {
        const address = server.address();
        server.close(() => res(typeof address === "object" && address ? address.port : undefined));
      });
    });
  return tryPort(preferred).then(async (port) => port ?? (await tryPort(0))!);
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

// ---------- Kafka dev broker ----------

const TOPICS_FILE = "topics.json";

export function buildLauncher(): string {
  ensurePackages(REQUIREMENTS.kafka);
  if (existsSync(LAUNCHER_BINARY) && statSync(LAUNCHER_BINARY).mtimeMs >= statSync(LAUNCHER_SOURCE).mtimeMs) return LAUNCHER_BINARY;
  mkdirSync(dirname(LAUNCHER_BINARY), { recursive: true });
  const result = spawnSync("cc", ["-O2", "-Wall", "-o", LAUNCHER_BINARY, LAUNCHER_SOURCE, "-lrdkafka"], { encoding: "utf8" });
  if (result.status !== 0) throw new ServiceError(`building the Kafka dev broker failed:\n${result.stderr}`);
  return LAUNCHER_BINARY;
}

export interface BrokerInfo {
  bootstrap: string;
  control: string;
  pid: number;
}

export function readBrokerInfo(readyFile: string): BrokerInfo | undefined {
  if (!existsSync(readyFile)) return undefined;
  const env = parseEnvFile(readFileSync(readyFile, "utf8"));
  if (!env.BOOTSTRAP || !env.CONTROL || !env.PID) return undefined;
  return { bootstrap: env.BOOTSTRAP, control: env.CONTROL, pid: Number(env.PID) };
}

/** Starts a launcher process in the background and waits until its topics are served. */
export async function startBroker(options: { dir: string; topics: Record<string, number>; brokers?: number }): Promise<BrokerInfo> {
  const binary = buildLauncher();
  mkdirSync(options.dir, { recursive: true });
  const readyFile = join(options.dir, "ready");
  rmSync(readyFile, { force: true });
  writeFileSync(join(options.dir, TOPICS_FILE), JSON.stringify(options.topics));
  const log = openSync(join(options.dir, "broker.log"), "a");
  const args = ["--brokers", String(options.brokers ?? 1), "--ready-file", readyFile];
  for (const [topic, partitions] of Object.entries(options.topics)) args.push("--topic", `${topic}:${partitions}`);
  const child = spawn(binary, args, { detached: true, stdio: ["ignore", log, log] });
  child.unref();
  let exited: number | null = null;
  child.once("exit", (code) => (exited = code ?? -1));
  for (let i = 0; i < 150; i++) {
    const info = readBrokerInfo(readyFile);
    if (info && (await controlBroker(info.control, "ping").catch(() => "")) === "ok") return info;
    if (exited !== null) break;
    await sleep(100);
  }
  child.kill("SIGKILL");
  throw new ServiceError(`the Kafka dev broker did not start; see ${join(options.dir, "broker.log")}`);
}

export async function stopBroker(info: BrokerInfo): Promise<void> {
  await stopProcess(info.pid, "kafka-mock");
}

/** The topics a launcher in `dir` was started with. */
export function brokerTopics(dir: string): Record<string, number> | undefined {
  const file = join(dir, TOPICS_FILE);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, number>;
  } catch {
    return undefined; // missing or unreadable: the layout is unknown
  }
}

const describeTopics = (topics: Record<string, number>) => Object.entries(topics).map(([t, p]) => `${t}:${p}`).join(", ");

async function kafkaUp(topic: string, partitions: number): Promise<Record<string, string>> {
  const wanted = { [topic]: partitions, [`${topic}.dlq`]: 2, [`${topic}.metrics`]: 4 };
  const running = readBrokerInfo(join(KAFKA_DIR, "ready"));
  if (running && isAlive(running.pid, "kafka-mock") && (await controlBroker(running.control, "ping").catch(() => "")) === "ok") {
    const served = brokerTopics(KAFKA_DIR) ?? {};
    const missing = Object.entries(wanted).filter(([t, p]) => served[t] !== p);
    // The mock broker cannot add topics or partitions: reusing it would silently run with the wrong layout.
    if (missing.length > 0)
      throw new ServiceError(`the running Kafka dev broker (pid ${running.pid}) serves ${describeTopics(served) || "unknown topics"}, not ${describeTopics(Object.fromEntries(missing))}; run \`npm run services:down\` first to start it afresh (its data is lost)`);
    return { KAFKA_BROKERS: running.bootstrap, KAFKA_MOCK_CONTROL: running.control };
  }
  const info = await startBroker({ dir: KAFKA_DIR, topics: wanted });
  return { KAFKA_BROKERS: info.bootstrap, KAFKA_MOCK_CONTROL: info.control };
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

export async function servicesDown(): Promise<string[]> {
  const stopped: string[] = [];
  const broker = readBrokerInfo(join(KAFKA_DIR, "ready"));
  if (broker && isAlive(broker.pid, "kafka-mock")) {
    await stopBroker(broker);
    stopped.push(`Kafka dev broker (pid ${broker.pid})`);
  }
  rmSync(join(KAFKA_DIR, "ready"), { force: true });
  const pidFile = join(INFLUX_DIR, "influxd.pid");
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : undefined;
  if (pid && isAlive(pid, "influxd")) {
    await stopProcess(pid, "influxd");
    stopped.push(`InfluxDB (pid ${pid})`);
  }
  rmSync(pidFile, { force: true });
  rmSync(SERVICES_ENV_FILE, { force: true });
  return stopped;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const program = new Command("services").description("Local dev services: Kafka test broker and InfluxDB 1.x");
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
      console.error(`services: up (endpoints recorded in ${SERVICES_ENV_FILE}); Kafka here is a test broker, the Docker stack runs Apache Kafka`);
    });
  program
    .command("down")
    .description("stop the local services")
    .action(async () => {
      const stopped = await servicesDown();
      console.error(stopped.length ? `services: stopped ${stopped.join(", ")}` : "services: nothing was running");
    });
  program.parseAsync().catch((error: Error) => {
    console.error(`services: ${error.message}`);
    process.exit(1);
  });
}
