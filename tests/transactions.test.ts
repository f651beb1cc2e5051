import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Kafka, logLevel } from "kafkajs";
import { createTopics } from "../scripts/kafka/broker.ts";
import { openLake, type Lake } from "../workers/shared/lake-query.ts";
import { servicesEnv, tempDir } from "./support/processes.ts";
import { hotPathSettled, sleep, TEST_WINDOW_ENV, trackedWorker, waitFor } from "./support/workers.ts";
import { freePort } from "../scripts/free-port.ts";

// Breaks nothing, so it uses the run's shared broker with topics of its own.
const cleanup: (() => Promise<unknown>)[] = [];
const lakes: Lake[] = [];
afterAll(async () => {
  for (const lake of lakes) lake.close();
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

const order = (id: string, amount: number, second: number) =>
  JSON.stringify({ order_id: id, customer_id: `c-${id}`, category: "coffee", country: "US", channel: "web", quantity: 1, unit_price: amount, amount, event_time: new Date(Date.UTC(2026, 10, 20, 10, 0, second)).toISOString() });

describe("transactional producers on a real broker", () => {
  it("counts committed transactions and plain orders, never aborted ones, and reports no offset gap for the control records", async () => {
    const bootstrap = servicesEnv().KAFKA_BROKERS!;
    const topic = `tx-${Date.now()}`;
    await createTopics(bootstrap, { [topic]: 2, [`${topic}.dlq`]: 1, [`${topic}.metrics`]: 1 });
    const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const plain = kafka.producer({ allowAutoTopicCreation: false });
    const transactional = kafka.producer({ allowAutoTopicCreation: false, transactionalId: `${topic}-tx`, idempotent: true, maxInFlightRequests: 1 });
    await plain.connect();
    await transactional.connect();
    const counted: { id: string; amount: number }[] = [];
    // `partition` pins where a message goes (else by key): the test needs control records at a partition's end.
    const send = async (target: "plain" | "committed" | "aborted", ids: string[], amount: number, second: number, partition?: (i: number) => number) => {
      const messages = ids.map((id, i) => ({ key: `c-${id}`, value: order(id, amount, second), partition: partition?.(i) }));
      if (target === "plain") await plain.send({ topic, acks: -1, messages });
      if (target !== "aborted") counted.push(...ids.map((id) => ({ id, amount })));
      return messages;
    };
    const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

    await send("plain", ids("plain-a", 20), 2, 1);
    // A committed transaction, with plain orders written while it is open.
    let tx = await transactional.transaction();
    await tx.send({ topic, messages: await send("committed", ids("committed", 15), 3, 2) });
    await send("plain", ids("plain-b", 10), 5, 3);
    await tx.commit();
    // An aborted one, interleaved the same way: its orders (amount 1000) must count nowhere.
    tx = await transactional.transaction();
    await tx.send({ topic, messages: await send("aborted", ids("aborted", 12), 1000, 4, (i) => i % 2) });
    await send("plain", ids("plain-c", 10), 7, 5);
    await tx.abort();
    // Partition 1 ends with the abort marker: a consumer must see it is caught up (windows close by idle time).
    await send("plain", ids("plain-d", 5), 11, 6, () => 0);
    await transactional.disconnect();
    await plain.disconnect();
    const expectedCents = counted.reduce((sum, o) => sum + o.amount * 100, 0);

    const influx = { version: 1 as const, url: servicesEnv().INFLUX_URL!, database: `tx_${Date.now()}` };
    const env = { KAFKA_BROKERS: bootstrap, KAFKA_TOPIC: topic, INFLUX_URL: influx.url, INFLUX_DB: influx.database, ...TEST_WINDOW_ENV };
    const metricsPort = await freePort();
    const metrics = trackedWorker(cleanup, "workers/metrics.ts", { ...env, HEALTH_PORT: String(metricsPort) });
    const lakeDir = join(tempDir("tx-lake"), "lake");
    const lakePort = await freePort();
    const lake = trackedWorker(cleanup, "workers/lake.ts", { ...env, LAKE_DIR: lakeDir, LAKE_ROTATE_AGE: "1s", HEALTH_PORT: String(lakePort) });

    const totals = await hotPathSettled(influx, counted.length, [metrics], 60_000);
    const onTimeCents = [...totals.onTime.values()].reduce((s, t) => s + t.revenueCents, 0) + [...totals.late.values()].reduce((s, t) => s + t.revenueCents, 0);
    expect(onTimeCents).toBe(expectedCents);

    const admin = kafka.admin();
    await admin.connect();
    const [p0, p1] = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition);
    await admin.disconnect();
    // Control records and aborted records take offsets: the log holds more offsets than counted orders.
    expect(Number(p0!.high) + Number(p1!.high)).toBeGreaterThan(counted.length);
    const query = await openLake(lakeDir, { timeoutMs: 10_000, maxRows: 1_000, refreshIntervalMs: 0 });
    lakes.push(query);
    await waitFor("every counted order in the lake", async () => {
      await query.refresh();
      return Number((await query.query("SELECT count(*) FROM orders_raw")).rows[0]![0]) >= counted.length ? true : undefined;
    }, 90_000);
    await sleep(2_000); // a gap row would land with the next flush (LAKE_ROTATE_AGE 1s)

    for (const [worker, port] of [[metrics, metricsPort], [lake, lakePort]] as const) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).not.toMatch(/orderpulse_offset_gaps_total\{[^}]*\} [1-9]/);
      expect(worker.output).not.toMatch(/OFFSET GAP/);
    }
    expect(await lake.kill("SIGTERM"), lake.output.slice(-2000)).toBe(0);
    expect(await metrics.kill("SIGTERM"), metrics.output.slice(-2000)).toBe(0);

    await query.refresh();
    const rows = (await query.query("SELECT order_id FROM orders_raw ORDER BY order_id")).rows.map((r) => r[0]);
    expect(rows).toEqual(counted.map((o) => o.id).sort());
    expect((await query.query("SELECT count(*) FROM orders_invalid")).rows).toEqual([["0"]]);
  });
});
