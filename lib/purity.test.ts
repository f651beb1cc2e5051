import { describe, expect, it } from "vitest";
import { ESLint } from "eslint";

// The lint rule that keeps lib/ pure (eslint.config.js, design.md "Code layout"), checked against what it must catch.
const eslint = new ESLint({ cwd: process.cwd() });

async function problems(code: string, file = "lib/hot/example.ts"): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: file });
  return (result?.messages ?? []).filter((m) => /no-restricted/.test(m.ruleId ?? "")).map((m) => m.message);
}

// ESLint with the type-aware config takes seconds to start on a loaded machine.
describe("lib/ purity rule", { timeout: 60_000 }, () => {
  it.each([
    ['import { readFile } from "node:fs/promises";\nexport const x = readFile;', "IO belongs in workers"],
    ['import { Kafka } from "kafkajs";\nexport const x = Kafka;', "IO belongs in workers"],
    ['import { DuckDBInstance } from "@duckdb/node-api";\nexport const x = DuckDBInstance;', "IO belongs in workers"],
    ['import { Point } from "@influxdata/influxdb-client";\nexport const x = Point;', "IO belongs in workers"],
    ['import pino from "pino";\nexport const x = pino;', "IO belongs in workers"],
    ['import { Counter } from "prom-client";\nexport const x = Counter;', "IO belongs in workers"],
    ['import { Server } from "socket.io";\nexport const x = Server;', "IO belongs in workers"],
    ['import { spawn } from "node:child_process";\nexport const x = spawn;', "IO belongs in workers"],
    ['import { Worker } from "node:worker_threads";\nexport const x = Worker;', "IO belongs in workers"],
    ['import { createServer } from "node:net";\nexport const x = createServer;', "IO belongs in workers"],
    ['import { request } from "node:http";\nexport const x = request;', "IO belongs in workers"],
    ["export const x = process.env.KAFKA_BROKERS;", "reads no environment"],
    ["export const x = Date.now();", "reads no clock"],
    ["export const x = new Date();", "reads no clock"],
    ["export const x = performance.now();", "reads no clock"],
  ])("refuses %s", async (code, message) => {
    expect((await problems(code)).join("\n")).toContain(message);
  });

  it("allows type imports, explicit times, and anything in tests or outside lib/", async () => {
    expect(await problems('import type { Consumer } from "kafkajs";\nexport type C = Consumer;\nexport const d = new Date(0);')).toEqual([]);
    expect(await problems("export const x = Date.now();", "lib/hot/example.test.ts")).toEqual([]);
    expect(await problems("export const x = Date.now();", "workers/example.ts")).toEqual([]);
  });
});
