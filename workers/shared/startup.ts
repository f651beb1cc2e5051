/**
 * A process's first contact with its services and ports, each problem said once, in one line: which service, at
 * which address, from which variable, and what to do. Unreachable services are retried with backoff for
 * CONNECT_TIMEOUT, then the process exits 1.
 */
import { connect } from "node:net";
import type { Server } from "node:http";
import { influxVersionMismatch, type InfluxConfig, type KafkaConfig } from "../../lib/contract/config.ts";
import { formatDuration } from "../../lib/contract/duration.ts";
import { CommandError, EXIT, prefixed } from "./entry-point.ts";

/** Already said in its one line: the caller exits with `exitCode` and prints nothing more. */
export class ServiceUnreachableError extends CommandError {
  override name = "ServiceUnreachableError";
  constructor(
    readonly service: string,
    readonly variable: string,
    readonly address: string,
    reason: string,
  ) {
    super(`${service} at ${address} (${variable}) is not reachable: ${reason}`, EXIT.failure);
  }
}

export class PortInUseError extends CommandError {
  override name = "PortInUseError";
  constructor(
    readonly variable: string,
    readonly port: number,
  ) {
    super(`${variable} ${port} is in use (another orderpulse process?): stop it or set ${variable} to a free port`, EXIT.failure);
  }
}

const LOOPBACK = /^(localhost|127(\.\d+){3}|\[?::1\]?)$/i;

/** True for an address on this machine (a URL, or host:port[,host:port…] judged by its first host). */
export function isLocalAddress(address: string): boolean {
  let host = address.split(",")[0]!.trim().replace(/:\d+$/, "");
  if (address.includes("://")) {
    try {
      host = new URL(address).hostname;
    } catch {
      return false;
    }
  }
  return LOOPBACK.test(host);
}

export interface ServiceTarget {
  service: "Kafka" | "InfluxDB";
  variable: string;
  address: string;
  /** Resolves when the service answers; rejects with the reason it did not. */
  probe: () => Promise<void>;
}

export interface WaitOptions {
  timeoutMs: number;
  /** The command, as the line's prefix (`metrics: Kafka at …`). */
  name: string;
  /** Where the one line goes; default stderr. */
  say?: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Probes until the service answers, with backoff (250 ms doubling to 5 s) for at most `timeoutMs`. The first
 * failure is said in one line (naming the service, address and variable, and `npm run services:up` for a local
 * address); if the service never answers, throws ServiceUnreachableError, whose message is that same line.
 */
export async function waitForService(target: ServiceTarget, options: WaitOptions): Promise<void> {
  const say = options.say ?? ((line: string) => console.error(prefixed(options.name, line)));
  const sleep = options.sleep ?? pause;
  const deadline = Date.now() + options.timeoutMs;
  let delayMs = 250;
  let said = false;
  for (;;) {
    try {
      await target.probe();
      return;
    } catch (error) {
      const reason = (error as Error).message;
      const unreachable = new ServiceUnreachableError(target.service, target.variable, target.address, reason);
      if (!said) {
        const hint = isLocalAddress(target.address) ? "; is it running? `npm run services:up` starts the local services" : "";
        say(`${unreachable.message}${hint}; retrying for ${formatDuration(options.timeoutMs)}, then exiting ${EXIT.failure}`);
        said = true;
      }
      if (Date.now() + delayMs > deadline) {
        unreachable.said = true;
        throw unreachable;
      }
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, 5_000);
    }
  }
}

/** Resolves once a TCP connection to host:port opens (then closes it). */
function tcpProbe(hostPort: string, timeoutMs: number): Promise<void> {
  const at = hostPort.lastIndexOf(":");
  const host = hostPort.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(hostPort.slice(at + 1));
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("timeout", () => {
      socket.destroy();
      reject(new Error(`no answer within ${formatDuration(timeoutMs)}`));
    });
    socket.once("error", (error: NodeJS.ErrnoException) => reject(new Error(error.code ?? error.message)));
  });
}

/** Waits until at least one of KAFKA_BROKERS accepts a connection (kafkajs itself would log every retry with a stack). */
export function waitForKafka(config: KafkaConfig, options: WaitOptions): Promise<void> {
  return waitForService(
    {
      service: "Kafka",
      variable: "KAFKA_BROKERS",
      address: config.brokers.join(","),
      probe: async () => {
        const results = await Promise.allSettled(config.brokers.map((b) => tcpProbe(b, 3_000)));
        const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed.length === results.length) throw new Error([...new Set(failed.map((r) => (r.reason as Error).message))].join(", "));
      },
    },
    options,
  );
}

/**
 * Waits until InfluxDB answers /ping, then checks that its version matches the settings (2.x settings against a
 * 1.x server, or the reverse, throw CommandError with exit 2, naming the variables to change).
 */
export async function waitForInflux(config: InfluxConfig, options: WaitOptions): Promise<void> {
  let version: string | undefined;
  await waitForService(
    {
      service: "InfluxDB",
      variable: "INFLUX_URL",
      address: config.url,
      probe: async () => {
        let response: Response;
        try {
          response = await fetch(`${config.url.replace(/\/$/, "")}/ping`, { signal: AbortSignal.timeout(3_000) });
        } catch (error) {
          const cause = (error as { cause?: { code?: string; message?: string } }).cause;
          throw new Error(cause?.code ?? cause?.message ?? (error as Error).message, { cause: error });
        }
        await response.body?.cancel();
        if (response.status >= 500) throw new Error(`HTTP ${response.status} from /ping`);
        version = response.headers.get("x-influxdb-version") ?? undefined;
      },
    },
    options,
  );
  const mismatch = influxVersionMismatch(config, version);
  if (mismatch) throw new CommandError(mismatch, EXIT.usage);
}

/** Listens on `port` (0 = any free port) on all interfaces; a busy port throws PortInUseError naming `variable`. */
export function listenOn(server: Server, port: number, variable: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code === "EADDRINUSE" ? new PortInUseError(variable, port) : new CommandError(`cannot listen on ${variable} ${port}: ${error.message}`, EXIT.failure, { cause: error }));
    };
    server.once("error", onError);
    server.listen(port, "0.0.0.0", () => {
      server.off("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}
