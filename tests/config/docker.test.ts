import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { influxBufferEnvSchema, influxEnvSchema, kafkaEnvSchema, lakeEnvSchema, portsEnvSchema, readConfig, schedulerEnvSchema, windowEnvSchema } from "../../lib/contract/config.ts";
import { parseEnvFile } from "../../workers/shared/env.ts";
import { devTopics, KAFKA_VERSION } from "../../scripts/kafka/broker.ts";

// No Docker engine here: these check the stack's files against the compose
// specification's schema, the app's own config validation and the repository.
const ROOT = join(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string | string[];
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
}
// Compose resolves YAML merge keys (`<<: *anchor`); so does this parse.
const compose = parse(read("docker-compose.yml"), { merge: true }) as { services: Record<string, Service> };
const services = Object.entries(compose.services);
const ours = services.filter(([, s]) => s.build !== undefined);
const oneShot = (s: Service) => s.restart === "no";

describe("docker-compose.yml", () => {
  it("is valid against the compose specification's JSON schema", () => {
    // The compose-spec schema as the dclint package ships it (its exports hide the file: read it by path).
    const schema = JSON.parse(read("node_modules/dclint/schemas/compose.schema.json")) as object;
    // The file names its draft-07 meta-schema by an https id Ajv does not register; Ajv is a draft-07 validator already.
    const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
    const validate = ajv.compile(schema);
    const raw = parse(read("docker-compose.yml"), { merge: true }) as unknown;
    expect(validate(raw), ajv.errorsText(validate.errors, { separator: "\n" })).toBe(true);
    // The schema can fail: a misspelt key is refused.
    expect(validate({ services: { web: { image: "x", helthcheck: {} } } })).toBe(false);
  });

  it("runs every orderpulse process from the Dockerfile's image with an existing npm script", () => {
    expect(ours.map(([name]) => name).sort()).toEqual(["alerts", "feed", "kafka-init", "lake", "metrics", "scheduler", "simulator", "web"]);
    for (const [name, s] of ours) {
      expect(s.image, name).toBe("orderpulse:local");
      expect(s.command?.slice(0, 2), name).toEqual(["npm", "run"]);
      expect(Object.keys(scripts), name).toContain(s.command![2]);
    }
  });

  it("gives every orderpulse service an environment the app's own validation accepts", () => {
    for (const [name, s] of ours) {
      const files = [s.env_file ?? []].flat();
      const env = Object.assign({}, ...files.map((f) => parseEnvFile(read(f))), s.environment) as Record<string, string>;
      // kafka-init (topics:create) reads only the Kafka settings; every other process gets the whole set.
      const schemas = name === "kafka-init" ? [kafkaEnvSchema] : [kafkaEnvSchema, windowEnvSchema, influxEnvSchema, influxBufferEnvSchema, lakeEnvSchema, portsEnvSchema];
      for (const schema of schemas) expect(() => readConfig(schema, env), name).not.toThrow();
      expect(env.KAFKA_BROKERS, name).toBe("kafka:9092");
    }
    // The same validation refuses a broken value, so the check above can fail.
    expect(() => readConfig(windowEnvSchema, { WINDOW_SIZE: "one minute" })).toThrow(/WINDOW_SIZE/);
  });

  it("has a healthcheck on every long-running service, and starts each only after what it needs is healthy", () => {
    for (const [name, s] of services) {
      if (!oneShot(s)) expect(s.healthcheck?.test, name).toBeDefined();
      for (const [dependency, { condition }] of Object.entries(s.depends_on ?? {}))
        expect(condition, `${name} -> ${dependency}`).toBe(oneShot(compose.services[dependency]!) ? "service_completed_successfully" : "service_healthy");
    }
    // Workers and the feed are probed on their own /healthz.
    for (const name of ["metrics", "lake", "feed", "scheduler", "alerts"]) {
      const s = compose.services[name]!;
      expect(s.healthcheck!.test.join(" "), name).toContain(`localhost:${s.environment!.HEALTH_PORT}/healthz`);
    }
    expect(compose.services.web!.healthcheck!.test.join(" ")).toContain("http://localhost:3000/");
  });

  it("gives the lake volume to every process that reads or writes the lake or the run history beside it", () => {
    const withLake = services.filter(([, s]) => (s as { volumes?: string[] }).volumes?.includes("lake:/app/lake")).map(([name]) => name).sort();
    expect(withLake).toEqual(["lake", "scheduler", "web"]);
    for (const name of withLake) expect(compose.services[name]!.environment!.LAKE_DIR, name).toBe("/app/lake");
    // The scheduler runs the batch CLIs with its schedule; the app's own validation accepts the shipped one.
    expect(compose.services.scheduler!.command).toEqual(["npm", "run", "worker:scheduler"]);
    expect(() => readConfig(schedulerEnvSchema, parseEnvFile(read(".env.example")))).not.toThrow();
  });

  it("runs the tests' Kafka release and creates the topics services:up creates", () => {
    expect(compose.services.kafka!.image).toBe(`apache/kafka:${KAFKA_VERSION}`);
    expect(compose.services["kafka-init"]!.command).toEqual(["npm", "run", "topics:create"]);
    expect(scripts["topics:create"]).toBe("tsx scripts/kafka/topics.ts");
    expect(devTopics("orders")).toEqual({ orders: 8, "orders.dlq": 2, "orders.metrics": 4 });
  });

  it("publishes only the ports a user needs", () => {
    const published = services.flatMap(([name, s]) => (s.ports ?? []).map((p) => `${name} ${p}`)).sort();
    expect(published).toEqual(["feed 3001:3001", "grafana 3030:3000", "influxdb 127.0.0.1:8086:8086", "kafka 127.0.0.1:29092:29092", "web 3000:3000"]);
  });
});

/** The Dockerfile's stages: name, base image, and instructions (continuation lines joined). */
function dockerStages(text: string): { name: string | undefined; from: string; lines: string[] }[] {
  const stages: { name: string | undefined; from: string; lines: string[] }[] = [];
  const logical = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  for (const line of logical) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ from: from[1]!, name: from[2], lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

describe("Dockerfile", () => {
  const stages = dockerStages(read("Dockerfile"));
  const names = new Set(stages.map((s) => s.name));

  it("builds in stages: dependencies, next build, a slim runtime", () => {
    expect(stages.map((s) => s.name)).toEqual(["deps", "build", "prod-deps", "runtime"]);
    expect(stages.find((s) => s.name === "deps")!.lines).toContain("RUN npm ci --no-audit --no-fund");
    expect(stages.find((s) => s.name === "build")!.lines).toContain("RUN npm run build");
    expect(scripts.build).toBe("next build");
    expect(stages.at(-1)!.from).toMatch(/-slim$/);
  });

  it("copies only files that exist, from stages that exist", () => {
    for (const stage of stages)
      for (const line of stage.lines.filter((l) => /^COPY\s/i.test(l))) {
        const words = line.split(/\s+/).slice(1);
        const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
        const paths = words.filter((w) => !w.startsWith("--"));
        if (from) expect(names, line).toContain(from);
        else for (const source of paths.slice(0, -1)) expect(existsSync(join(ROOT, source)), `${line}: ${source}`).toBe(true);
      }
  });

  it("runs only npm scripts that exist", () => {
    const runs = stages.flatMap((s) => s.lines).join("\n").match(/npm run [\w:-]+/g) ?? [];
    const cmd = /^CMD\s+(\[.*\])/m.exec(stages.at(-1)!.lines.join("\n"));
    const commands = [...runs.map((r) => r.split(" ")[2]!), ...(cmd ? [(JSON.parse(cmd[1]!) as string[])[2]!] : [])];
    expect(commands.length).toBeGreaterThan(1);
    for (const script of commands) expect(Object.keys(scripts)).toContain(script);
  });

  it("runs as a non-root user in the runtime stage", () => {
    const users = stages.at(-1)!.lines.filter((l) => /^USER\s/i.test(l)).map((l) => l.split(/\s+/)[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(["root", "0"]).not.toContain(users.at(-1));
  });

  it("keeps local state and dependencies out of the build context", () => {
    const ignored = read(".dockerignore").split("\n");
    for (const entry of ["node_modules", ".orderpulse", ".next", "lake"]) expect(ignored).toContain(entry);
  });
});
