import { createServer, type Server } from "node:http";
import type { Logger } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";
import { healthStatus } from "../../lib/ops/health.ts";
import { listenOn } from "./startup.ts";

export interface HealthProbe {
  /** Wall-clock ms of the consume loop's last progress (a processed batch, an idle tick). */
  lastProgressAt(): number;
  /** Messages waiting in Kafka for this worker, across its partitions. */
  lag(): number;
  /** A problem a restart would not fix (e.g. InfluxDB refusing points), or undefined. */
  degraded?(): string | undefined;
}

export function createRegistry(worker: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ worker });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Serves /healthz and /metrics (Prometheus text) on `port`; 0 picks a free port. A busy port throws PortInUseError. */
export async function serveHealth(port: number, registry: Registry, probe: HealthProbe, log?: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === "/healthz") {
      const status = healthStatus({ now: Date.now(), lastProgressAt: probe.lastProgressAt(), lag: probe.lag(), degraded: probe.degraded?.() });
      res.writeHead(status.healthy ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify(status));
    } else if (req.url === "/metrics") {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": registry.contentType });
          res.end(text);
        },
        (error: Error) => {
          res.writeHead(500);
          res.end(error.message);
        },
      );
    } else {
      res.writeHead(404);
      res.end("not found: try /healthz or /metrics\n");
    }
  });
  const healthPort = await listenOn(server, port, "HEALTH_PORT");
  log?.info({ healthPort }, "serving /healthz and /metrics");
  return server;
}
