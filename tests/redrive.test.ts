/**
 * Dead letters redriven on the real broker, through the dashboard's route handlers, with the
 * metrics and lake workers running: a fixed dead letter is counted once however often it is
 * redriven (per-partition de-duplication within the horizon), one that is still invalid goes
 * back to the dead-letter topic with its reason and the redrive marker, and every redrive is audited.
 */
import { join } from "node:path";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { readAudit } from "../workers/shared/audit-log.ts";
import { openLake } from "../workers/shared/lake-query.ts";
import { sharedKafka } from "./support/kafka.ts";
import { servicesEnv, tempDir } from "./support/processes.ts";
import { hotPathSettled, sumOrders, TEST_WINDOW_ENV, trackedWorker, waitFor } from "./support/workers.ts";

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

interface Page {
  total: number;
  items: { id: string; partition: number; offset: number; code: string; reason: string; source: { topic: string; partition: number; offset: string }; redriveOf: string | null; text: string | null }[];
  next: string | null;
}

describe("redriving dead letters (dashboard route handlers, real broker, metrics and lake workers)", () => {
  it("browses newest first, redrives fixed dead letters counted once however often, and an invalid redrive dead-letters again", async () => {
    const dir = tempDir("redrive");
    const cluster = await sharedKafka("redrive", { orders: 4, dlq: 2, metrics: 2 }, cleanup);
    const { topic, dlqTopic } = cluster;
    const influx = { version: 1 as const, url: servicesEnv().INFLUX_URL!, database: `redrive_${Date.now()}` };
    const lakeDir = join(dir, "lake");
    const env = { ...cluster.env, INFLUX_URL: influx.url, INFLUX_DB: influx.database, LAKE_DIR: lakeDir, LAKE_ROTATE_AGE: "1s", ...TEST_WINDOW_ENV };
    // The route handlers read the same environment as the web server would.
    Object.assign(process.env, env);
    const { GET: browse } = await import("../app/api/pipeline/dead-letters/route.ts");
    const { POST: redrive } = await import("../app/api/actions/redrive/route.ts");
    const metrics = trackedWorker(cleanup, "workers/metrics.ts", env);
    const lake = trackedWorker(cleanup, "workers/lake.ts", env);
    await metrics.waitForOutput(/metrics worker running/);
    await lake.waitForOutput(/lake worker running/);

    const kafka = new Kafka({ brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    cleanup.push(() => producer.disconnect());
    const now = Date.now();
    const order = (id: string, customer: string, amount: number | string, at = now) => JSON.stringify({ order_id: id, customer_id: customer, category: "coffee", country: "US", amount, event_time: new Date(at).toISOString() });
    const send = async (key: string, value: string) => {
      const [meta] = await producer.send({ topic, messages: [{ key, value, headers: { "trace-id": `t-${key}` } }] });
      return { partition: meta!.partition, offset: String(meta!.baseOffset) };
    };
    // Two malformed orders (an amount as text, a trailing comma), then valid ones on every partition.
    const a = await send("c-a", order("redrive-a", "c-a", "12.50"));
    const b = await send("c-b", order("redrive-b", "c-b", 7.25).replace(/}$/, ",}"));
    const valid = 40;
    for (let i = 0; i < valid; i++) await send(`c-${i}`, order(`o-${i}`, `c-${i}`, 10 + i));

    const page = async (query: string): Promise<Page> => {
      const response = await browse(new Request(`http://127.0.0.1/api/pipeline/dead-letters?${query}`));
      expect(response.status, await response.clone().text()).toBe(200);
      return (await response.json()) as Page;
    };
    await waitFor("both dead letters", async () => ((await page("limit=5")).total === 2 ? true : undefined), 60_000);

    // Newest first, one per page, with reason and source coordinates; the second page is the last.
    const first = await page("limit=1");
    expect(first.items).toHaveLength(1);
    expect(first.next).not.toBeNull();
    const second = await page(`limit=1&before=${encodeURIComponent(first.next!)}`);
    expect(second.next).toBeNull();
    const [deadB, deadA] = [first.items[0]!, second.items[0]!];
    expect(deadB).toMatchObject({ code: "not_json", source: { topic, ...b } });
    expect(deadA).toMatchObject({ source: { topic, ...a } });
    expect(deadA.reason).toMatch(/amount/);
    expect((await page("limit=10&code=not_json")).items.map((d) => d.id)).toEqual([deadB.id]);
    expect((await browse(new Request("http://127.0.0.1/api/pipeline/dead-letters?before=nonsense"))).status).toBe(400);

    const post = async (body: unknown) => {
      const response = await redrive(new Request("http://127.0.0.1/api/actions/redrive", { method: "POST", body: JSON.stringify(body), headers: { "x-forwarded-for": "127.0.0.1" } }));
      return { status: response.status, body: (await response.json()) as { redrive: { of: string; partition: number; edited: boolean }[]; skipped: { id: string; why: string }[]; selected: number } };
    };
    const fixed = { [deadA.id]: order("redrive-a", "c-a", 12.5), [deadB.id]: order("redrive-b", "c-b", 7.25) };
    expect((await post({ select: { kind: "ids", ids: [] } })).status).toBe(400);
    const dry = await post({ select: { kind: "ids", ids: [deadA.id, deadB.id] }, edits: fixed, dryRun: true });
    expect(dry.status).toBe(200);
    const ofA = `${dlqTopic}/${deadA.partition}/${deadA.offset}`;
    const ofB = `${dlqTopic}/${deadB.partition}/${deadB.offset}`;
    // Each to its source partition (where its duplicates land), edited.
    expect(new Map(dry.body.redrive.map((r) => [r.of, [r.partition, r.edited]]))).toEqual(new Map([[ofA, [a.partition, true]], [ofB, [b.partition, true]]]));

    // Redriven twice after fixing: the second copy of each order is a duplicate on its source partition.
    for (let round = 0; round < 2; round++) {
      const done = await post({ select: { kind: "ids", ids: [deadA.id, deadB.id] }, edits: fixed });
      expect(done.status).toBe(200);
      expect(done.body.redrive.map((r) => r.of).sort()).toEqual([ofA, ofB].sort());
    }
    // Redriven unfixed: invalid again, back in the dead-letter topic with its reason and the redrive marker.
    expect((await post({ select: { kind: "filter", code: "not_json" } })).body.redrive).toHaveLength(1);
    const again = await waitFor("the unfixed redrive dead-lettered again", async () => {
      const p = await page("limit=1");
      return p.total === 3 ? p.items[0] : undefined;
    }, 60_000);
    expect(again).toMatchObject({ code: "not_json", redriveOf: ofB, source: { topic, partition: b.partition } });
    expect(Number(again.source.offset)).toBeGreaterThan(Number(b.offset));
    // Valid orders last on every partition, so every window closes and the lake flushes past the invalid one.
    for (let i = 0; i < 8; i++) await send(`t-${i}`, order(`tail-${i}`, `t-${i}`, 1, Date.now()));

    // Hot path: every valid order once (on time or late), the redriven pair included; the second redrive is duplicates only.
    const totals = await hotPathSettled(influx, valid + 8 + 2, [metrics]);
    expect(sumOrders(totals.duplicate)).toBe(2);
    expect([...totals.duplicate.values()].reduce((s, t) => s + t.revenueCents, 0)).toBe(1250 + 725);

    // Lake: both copies of each redrive kept raw, counted once in `orders`; three invalid rows (two originals, one unfixed redrive).
    const reader = await openLake(lakeDir, { timeoutMs: 10_000, maxRows: 100 });
    cleanup.push(async () => reader.close());
    await waitFor("the lake holds every valid message", async () => {
      await reader.refresh();
      const { rows } = await reader.query("SELECT count(*) FROM orders_raw");
      return Number(rows[0]![0]) === valid + 8 + 4 ? true : undefined;
    }, 90_000);
    const once = await reader.query("SELECT order_id, count(*), sum(amount) FROM orders WHERE order_id LIKE 'redrive-%' GROUP BY order_id ORDER BY order_id");
    expect(once.rows.map((r) => [r[0], Number(r[1]), Number(r[2])])).toEqual([["redrive-a", 1, 12.5], ["redrive-b", 1, 7.25]]);
    expect(Number((await reader.query("SELECT count(*) FROM orders_invalid")).rows[0]![0])).toBe(3);

    // Audited: who, what, outcome, which dead letters.
    const audit = (await readAudit(20)).filter((e) => e.what === `redrive ${dlqTopic} → ${topic}` && Date.parse(e.at) >= now);
    expect(audit.map((e) => e.outcome)).toEqual(["ok", "ok", "ok", "ok"]);
    expect(audit.at(-1)).toMatchObject({ who: "127.0.0.1", detail: expect.stringMatching(/^dry run: 2 of 2 selected \(2 edited, 0 skipped\)/) });
  }, 300_000);
});
