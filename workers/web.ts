/**
 * `npm start`: the built dashboard (`next build` first) on PORT. Next's own server as a
 * library, behind a plain HTTP server that records the TCP peer's address in
 * x-forwarded-for, replacing whatever the client sent: `next start` keeps a client-supplied
 * x-forwarded-for, so "loopback only" (README: Access control) could be faked with one header.
 * Behind a reverse proxy every request comes from the proxy: set DASHBOARD_TOKEN there.
 */
import { createServer } from "node:http";
import { resolve } from "node:path";
import next from "next";
import { dashboardEnvSchema, portsEnvSchema } from "../lib/contract/config.ts";
import { configOrExit, loadEnv } from "./shared/env.ts";
import { createLogger } from "./shared/log.ts";

async function main(): Promise<void> {
  const env = loadEnv();
  const { webPort } = configOrExit(portsEnvSchema, env);
  configOrExit(dashboardEnvSchema, env); // a bad DASHBOARD_* variable stops start-up, not the first request
  const log = createLogger("web");
  const hostname = "0.0.0.0";
  const app = next({ dev: false, dir: resolve(import.meta.dirname, ".."), hostname, port: webPort });
  await app.prepare();
  const handle = app.getRequestHandler();
  const server = createServer((req, res) => {
    req.headers["x-forwarded-for"] = req.socket.remoteAddress ?? "";
    delete req.headers["x-real-ip"];
    handle(req, res).catch((error: Error) => {
      log.error({ err: error.message, url: req.url }, "request failed");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((res) => server.listen(webPort, hostname, res));
  log.info({ port: webPort, url: `http://localhost:${webPort}/` }, "dashboard listening");
  const shutdown = () => {
    server.close();
    void app.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((error: Error) => {
  console.error(`web: ${error.message}`);
  process.exit(1);
});
