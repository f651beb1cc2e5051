/**
 * The dashboard's route handlers (app/api/*) against the real broker and InfluxDB, with the
 * metrics and lake workers running: what they answer equals what was produced. And the Pipeline
 * snapshot with an admin client that refuses calls (as a broker's ACLs would: the dev broker runs
 * without an authorizer, so real Kafka cannot be made to refuse here): the refused panels grey out
 * with the reason, the rest still answer.
 */
import { join } from "node:path";
import { ConfigResourceTypes, Kafka, logLevel, Partitioners, type Admin } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { amountToCents } from "../lib/contract/money.ts";
import { kafkaEnvSchema, readConfig } from "../lib/contract/config.ts";
import { freePort } from "../scripts/free-port.ts";
import { influxQuery, seriesRows } from "../workers/shared/influxql.ts";
import { PipelineReader, type PipelineSnapshot } from "../workers/shared/pipeline-reads.ts";
import { respond } from "../app/api/respond.ts";
import { sharedKafka, type SharedKafka } from "./support/kafka.ts";
import { servicesEnv, tempDir } from "./support/processes.ts";
import { hotPathSettled, TEST_WINDOW_ENV, trackedWorker } from "./support/workers.ts";

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

const ORDERS = 60;
const COUNTRIES = ["US", "DE", "FR"];
const amountOf = (i: number) => 5 + (i % 7) * 1.25;
let env: Record<string, string>;
let healthPort: number;
let ghostPort: number;
let kafka: Kafka;
let cluster: SharedKafka;

beforeAll(async () => {
  const dir = tempDir("api-routes");
  cluster = await sharedKafka("api-routes", { orders: 4, metrics: 2 }, cleanup);
  healthPort = await freePort();
  ghostPort = await freePort();
  env = { ...cluster.env, INFLUX_URL: servicesEnv().INFLUX_URL!, INFLUX_DB: `routes_${Date.now()}`, LAKE_DIR: join(dir, "lake"), LAKE_ROTATE_AGE: "1s", ...TEST_WINDOW_ENV, WORKER_HEALTH_URLS: `metrics=http://127.0.0.1:${healthPort},ghost=http://127.0.0.1:${ghostPort}` };
  Object.assign(process.env, env);
  const metrics = trackedWorker(cleanup, "workers/metrics.ts", { ...env, HEALTH_PORT: String(healthPort) });
  const lake = trackedWorker(cleanup, "workers/lake.ts", env);
  await metrics.waitForOutput(/metrics worker running/);
  await lake.waitForOutput(/lake worker running/);
  kafka = new Kafka({ brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  cleanup.push(() => producer.disconnect());
  // In event-time order, starting a little ahead: an idle worker advances its watermark with the wall clock
  // (IDLE_TIMEOUT), so orders from the past would be late; these are on time.
  const start = Date.now() + 3_000;
  await producer.send({ topic: cluster.topic, messages: [{ key: "bad-1", value: "{not json" }, { key: "bad-2", value: '{"order_id":"x","amount":-1,"event_time":"2026-12-01T00:00:00Z"}' }] });
  const messages = Array.from({ length: ORDERS }, (_, i) => ({ key: `c-${i}`, value: JSON.stringify({ order_id: `o-${i}`, customer_id: `c-${i}`, country: COUNTRIES[i % 3], category: "coffee", amount: amountOf(i), event_time: new Date(start + i * 200).toISOString() }) }));
  await producer.send({ topic: cluster.topic, messages });
  await hotPathSettled({ version: 1, url: env.INFLUX_URL!, database: env.INFLUX_DB! }, ORDERS, [metrics]);
}, 240_000);

const json = async (response: Response) => {
  expect(response.status, await response.clone().text()).toBe(200);
  return response.json();
};
const revenueCents = Array.from({ length: ORDERS }, (_, i) => amountToCents(amountOf(i))).reduce((a, b) => a + b, 0);

describe("route handlers against the real broker and InfluxDB", () => {
  it("/api/live/history, /api/live/breakdown and /api/live/tiles answer what the metrics worker wrote", async () => {
    const { GET: history } = await import("../app/api/live/history/route.ts");
    const { GET: breakdown } = await import("../app/api/live/breakdown/route.ts");
    const { GET: tiles } = await import("../app/api/live/tiles/route.ts");
    const h = (await json(await history(new Request("http://127.0.0.1/api/live/history?range=15m")))) as { rows: { revenue: number; lateRevenue: number; orders: number; late: number; final: boolean }[] };
    // On time or late (a loaded machine may close a window before its last orders are read): each order once, to the cent.
    expect(h.rows.reduce((s, r) => s + r.orders + r.late, 0)).toBe(ORDERS);
    expect(h.rows.reduce((s, r) => s + Math.round(r.revenue * 100) + Math.round(r.lateRevenue * 100), 0)).toBe(revenueCents);
    expect(h.rows.every((r) => r.final)).toBe(true);
    const b = (await json(await breakdown(new Request("http://127.0.0.1/api/live/breakdown?range=15m")))) as { country: { key: string; orders: number }[] };
    // Breakdowns are on-time values: equal to InfluxDB's per-country sums, asked directly.
    const direct = seriesRows(await influxQuery({ version: 1, url: env.INFLUX_URL!, database: env.INFLUX_DB! }, `SELECT sum("orders") AS orders FROM "order_window_by_country" GROUP BY "country"`, 10_000));
    expect(Object.fromEntries(b.country.map((c) => [c.key, c.orders]))).toEqual(Object.fromEntries(direct.map((r) => [r.country, r.orders])));
    expect(b.country.reduce((n, c) => n + c.orders, 0)).toBe(h.rows.reduce((n, r) => n + r.orders, 0));
    const t = (await json(await tiles())) as { tiles: { key: string; value: number | null }[] };
    expect(t.tiles.length).toBeGreaterThan(0);
    expect(t.tiles.find((x) => x.key === "revenueToday")?.value).toBeCloseTo(revenueCents / 100, 2);
    expect(h.rows.reduce((n, r) => n + r.orders, 0), "orders on time").toBeGreaterThan(0);
  });

  it("/api/reconcile: one compare at a time (another range answers 429 busy), the same range joins the running one, a result answers again for a while, fresh=1 reads again", async () => {
    const { GET: reconcile } = await import("../app/api/reconcile/route.ts");
    const minute = 60_000;
    const around = (fromMin: number, toMin: number) => `from=${new Date(Math.floor(Date.now() / minute) * minute + fromMin * minute).toISOString()}&to=${new Date(Math.floor(Date.now() / minute) * minute + toMin * minute).toISOString()}`;
    const a = around(-30, 5);
    const b = around(-60, -30);
    const url = (query: string) => new Request(`http://127.0.0.1/api/reconcile?${query}`);
    type Answer = { computedAt: string; cells: { windowStart: number }[]; summary: unknown };
    // Started together: the first runs, the same range waits for it, another range is refused.
    const [first, joined, other] = await Promise.all([reconcile(url(a)), reconcile(url(a)), reconcile(url(b))]);
    expect(other.status).toBe(429);
    expect(other.headers.get("retry-after")).toBe("1");
    expect(((await other.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "busy", message: expect.stringMatching(/^busy: a reconciliation compare of .* is running/) });
    const firstBody = (await json(first)) as Answer;
    expect(firstBody.cells.length, "the range holds the orders' windows").toBeGreaterThan(0);
    expect(await json(joined)).toEqual(firstBody);
    // Asked again within the cache time: the kept result, not another replay.
    expect(await json(await reconcile(url(a)))).toEqual(firstBody);
    // fresh=1 replays again; and the other range runs now that nothing else does.
    const fresh = (await json(await reconcile(url(`${a}&fresh=1`)))) as Answer;
    expect(Date.parse(fresh.computedAt)).toBeGreaterThan(Date.parse(firstBody.computedAt));
    expect((await reconcile(url(b))).status).toBe(200);
    expect((await reconcile(url(`${a}&fresh=yes`))).status).toBe(400);
  });

  it("/api/pipeline: offsets, dead letters, lake and the Workers panel (a reachable and an unreachable worker)", async () => {
    const { GET: pipeline } = await import("../app/api/pipeline/route.ts");
    const s = (await json(await pipeline())) as PipelineSnapshot;
    expect(s.partitions.ok && s.partitions.data.reduce((n, p) => n + p.logEnd - p.logStart, 0)).toBe(ORDERS + 2);
    expect(s.deadLetters.ok && s.deadLetters.data.count).toBe(2);
    // Both dead letters were sent in this file's set-up, inside the 5-minute window (ListOffsets by timestamp): 2 / 5 min.
    expect(s.deadLetters.ok && [s.deadLetters.data.perMinute, s.deadLetters.data.rateWindowMs]).toEqual([0.4, 300_000]);
    expect(s.groups.ok && s.groups.data.map((g) => g.groupId)).toEqual(expect.arrayContaining([`${cluster.groupPrefix}-metrics`, `${cluster.groupPrefix}-lake`]));
    expect(s.workers.ok).toBe(true);
    const workers = s.workers.ok ? s.workers.data : [];
    expect(workers.map((w) => [w.name, w.reachable, w.status])).toEqual([["metrics", true, "ok"], ["ghost", false, null]]);
    expect(workers[0]!.offsetGaps).toBe(0);
    expect(workers[1]!.reason).toMatch(/^unreachable: ECONNREFUSED/);
    // Topic settings as the broker holds them (services:up: no time limit, 1 GiB per partition, delete).
    expect(s.topics).toEqual({
      ok: true,
      data: [cluster.topic, cluster.dlqTopic, cluster.windowValuesTopic].map((topic, i) => ({
        topic,
        role: ["orders", "dead letters", "window values"][i],
        retentionMs: null,
        retentionBytes: 1024 ** 3,
        cleanupPolicy: "delete",
        warnings: [],
      })),
    });
  });

  it("/api/pipeline warns of an orders topic changed to keep 12 h and be compacted (AlterConfigs on the real broker)", async () => {
    const { GET: pipeline } = await import("../app/api/pipeline/route.ts");
    const admin = kafka.admin();
    await admin.connect();
    const set = (entries: { name: string; value: string }[]) =>
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: cluster.topic, configEntries: entries }] });
    try {
      await set([{ name: "retention.ms", value: String(12 * 3_600_000) }, { name: "cleanup.policy", value: "compact,delete" }]);
      const s = (await json(await pipeline())) as PipelineSnapshot;
      const orders = s.topics.ok ? s.topics.data.find((t) => t.topic === cluster.topic) : undefined;
      expect(orders).toMatchObject({ retentionMs: 12 * 3_600_000, cleanupPolicy: "compact,delete" });
      expect(orders!.warnings).toEqual([expect.stringMatching(/^compacted: /), expect.stringMatching(/^keeps orders for 12 h: /)]);
    } finally {
      await set([{ name: "retention.ms", value: "-1" }, { name: "cleanup.policy", value: "delete" }]);
      await admin.disconnect();
    }
  });

  it("/api/pipeline/dead-letters: newest first with reasons", async () => {
    const { GET: browse } = await import("../app/api/pipeline/dead-letters/route.ts");
    const page = (await json(await browse(new Request("http://127.0.0.1/api/pipeline/dead-letters?limit=10")))) as { total: number; items: { code: string; source: { topic: string } }[]; next: string | null };
    expect([page.total, page.items.map((d) => d.code), page.next]).toEqual([2, ["invalid_field", "not_json"], null]);
  });

  it("a refused ListGroups/DescribeGroups greys the group listing only, a refused DescribeConfigs the topic settings only; a refused ListOffsets greys what needs offsets, the rest answers", async () => {
    const config = readConfig(kafkaEnvSchema, env);
    const refusing = (calls: (keyof Admin)[]) => ({
      admin: () =>
        new Proxy(kafka.admin(), {
          get(target, name: string) {
            if ((calls as string[]).includes(name)) return async () => { throw new Error(`Not authorized to access group (GROUP_AUTHORIZATION_FAILED) in ${name}`); };
            const value = target[name as keyof Admin];
            return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        }),
    });
    const influx = { version: 1 as const, url: env.INFLUX_URL!, database: env.INFLUX_DB! };
    const workers = [{ name: "metrics", url: `http://127.0.0.1:${healthPort}` }];
    const snapshot = async (calls: (keyof Admin)[]) => (await json(await respond(() => new PipelineReader(refusing(calls), config, influx, env.LAKE_DIR!, workers).read(Date.now())))) as PipelineSnapshot;

    const groups = await snapshot(["listGroups", "describeGroups"]);
    expect(groups.groupListing).toEqual({ ok: false, reason: "Not authorized to access group (GROUP_AUTHORIZATION_FAILED) in listGroups" });
    expect([groups.partitions.ok, groups.groups.ok, groups.deadLetters.ok, groups.lake.ok, groups.rates.ok, groups.workers.ok]).toEqual([true, true, true, true, true, true]);
    // Commits (OffsetFetch) still show lag; state and members are unknown.
    expect(groups.groups.ok && groups.groups.data.find((g) => g.groupId === `${cluster.groupPrefix}-metrics`)).toMatchObject({ state: null, members: null });

    // DescribeConfigs refused (a managed cluster without DescribeConfigs rights): only the topic settings grey out.
    const configs = await snapshot(["describeConfigs"]);
    expect(configs.topics).toMatchObject({ ok: false, reason: expect.stringContaining("describeConfigs") });
    expect([configs.partitions.ok, configs.groups.ok, configs.groupListing.ok, configs.deadLetters.ok, configs.lake.ok, configs.rates.ok, configs.workers.ok]).toEqual([true, true, true, true, true, true, true]);

    const offsets = await snapshot(["fetchTopicOffsets"]);
    expect(offsets.partitions).toMatchObject({ ok: false, reason: expect.stringContaining("fetchTopicOffsets") });
    expect(offsets.deadLetters).toMatchObject({ ok: false, reason: expect.stringContaining("fetchTopicOffsets") });
    expect([offsets.lake.ok, offsets.rates.ok, offsets.workers.ok, offsets.groupListing.ok]).toEqual([true, true, true, true]);
  });
});
