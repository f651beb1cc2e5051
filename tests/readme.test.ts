/** The README and .env.example hold: what they tell a newcomer to run exists, and the example configuration is valid. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "dotenv";
import { describe, expect, it } from "vitest";
import { connectEnvSchema, ENV_VARIABLES, influxBufferEnvSchema, influxEnvSchema, kafkaEnvSchema, lakeEnvSchema, portsEnvSchema, readConfigs, windowEnvSchema } from "../lib/contract/config.ts";
import { ROOT } from "./support/processes.ts";

const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

/** The npm scripts a text names: `npm run X`, `npm test`, `npm start`. */
function scriptsNamed(text: string): string[] {
  const named = [...text.matchAll(/\bnpm run (?:--silent )?([\w:.-]+)/g)].map((m) => m[1]!);
  for (const m of text.matchAll(/\bnpm (test|start)\b/g)) named.push(m[1]!);
  return [...new Set(named)];
}

describe("README", () => {
  it("starts with exactly two set-up commands, and every npm script they name exists", () => {
    const setUp = /^## Set up\n+```sh\n([\s\S]*?)```/m.exec(readme);
    expect(setUp, "a ## Set up section with a sh block").not.toBeNull();
    const commands = setUp![1]!.split("\n").map((line) => line.replace(/#.*$/, "").trim()).filter(Boolean);
    expect(commands).toHaveLength(2);
    expect(commands[1]).toBe("npm ci && npm test");
    for (const command of commands) expect(command).toMatch(/^npm ci && npm /);
    for (const name of scriptsNamed(commands.join("\n"))) expect(scripts[name], `npm script "${name}" named in README's set-up`).toBeDefined();
  });

  it("names only npm scripts that exist, anywhere", () => {
    const named = scriptsNamed(readme);
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((name) => scripts[name] === undefined)).toEqual([]);
  });

  it("links the architecture document inside the repository", () => {
    expect(readme).toContain("[`ARCHITECTURE.md`](ARCHITECTURE.md)");
    expect(readme).not.toMatch(/\.\.\/shared\/design\.md/);
    expect(readFileSync(join(ROOT, "ARCHITECTURE.md"), "utf8")).toMatch(/^# orderpulse architecture/);
  });
});

describe(".env.example", () => {
  const example = parse(readFileSync(join(ROOT, ".env.example"), "utf8"));
  const text = readFileSync(join(ROOT, ".env.example"), "utf8");

  it("lists every variable the processes read", () => {
    expect(Object.keys(ENV_VARIABLES).filter((name) => !new RegExp(`^#? ?${name}=`, "m").test(text))).toEqual([]);
  });

  it("is valid for the local services: with services:up's endpoints it configures InfluxDB 1.x", () => {
    const services = { KAFKA_BROKERS: "127.0.0.1:40000", INFLUX_URL: "http://127.0.0.1:8086", INFLUX_DB: "orderpulse" };
    const config = readConfigs(
      { kafka: kafkaEnvSchema, windows: windowEnvSchema, influx: influxEnvSchema, lake: lakeEnvSchema, ports: portsEnvSchema, buffer: influxBufferEnvSchema, connect: connectEnvSchema },
      { ...services, ...example },
    );
    expect(config.influx).toEqual({ version: 1, url: "http://127.0.0.1:8086", database: "orderpulse" });
    // It names no endpoint itself: those come from .orderpulse/services.env, whose ports are picked at start.
    expect(example.KAFKA_BROKERS).toBeUndefined();
    expect(example.INFLUX_URL).toBeUndefined();
  });

  it("with the Docker stack's settings beside it configures InfluxDB 2.x", () => {
    const docker = { KAFKA_BROKERS: "kafka:9092", INFLUX_URL: "http://influxdb:8086", INFLUX_TOKEN: "orderpulse-dev-token", INFLUX_ORG: "orderpulse", INFLUX_BUCKET: "orderpulse", LAKE_DIR: "/app/lake" };
    const { influx } = readConfigs({ influx: influxEnvSchema }, { ...example, ...docker });
    expect(influx).toMatchObject({ version: 2, bucket: "orderpulse" });
    for (const [name, value] of Object.entries(docker)) expect(text, `${name} shown for Docker`).toContain(value);
  });
});
