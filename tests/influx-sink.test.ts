import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Transport } from "@influxdata/influxdb-client";
import { startInflux, stopInflux, type InfluxInfo } from "../scripts/services.ts";
import { influxQuery, seriesRows } from "../workers/shared/influxql.ts";
import { InfluxSink, v1Transport, type SinkPoint } from "../workers/shared/influx-sink.ts";
import { tempDir } from "./support/processes.ts";

const minute = (i: number) => BigInt(Date.parse("2026-11-20T10:00:00Z") + i * 60_000) * 1_000_000n;
const windowPoint = (i: number, partition: number, revenue: number, orders: number): SinkPoint => ({
  measurement: "order_window",
  tags: { partition: String(partition) },
  fields: { revenue: { type: "float", value: revenue }, orders: { type: "int", value: orders }, final: { type: "int", value: 1 } },
  timestampNs: minute(i),
});

describe("InfluxSink against InfluxDB 1.x", () => {
  let dir: string;
  let server: InfluxInfo;
  const config = () => ({ version: 1 as const, url: server.url, database: "sink_test" });

  beforeAll(async () => {
    dir = tempDir("influx");
    server = await startInflux({ dir: join(dir, "influx") });
  });
  afterAll(async () => {
    if (server) await stopInflux(server);
  });

  it("writes typed fields through the client's line protocol, and rewrites are upserts", async () => {
    const sink = new InfluxSink(config(), { maxBufferedPoints: 1_000 });
    await sink.init();
    sink.enqueue([windowPoint(0, 0, 10.5, 2), windowPoint(0, 1, 4.25, 1), windowPoint(1, 0, 3, 1)]);
    expect(await sink.flush()).toBe(true);
    sink.enqueue([windowPoint(0, 0, 12.75, 3)]); // a later value for the same window and partition
    expect(await sink.flush()).toBe(true);
    expect(sink.buffered).toBe(0);

    const rows = seriesRows(await influxQuery(config(), `SELECT "revenue","orders" FROM "order_window" GROUP BY "partition"`));
    expect(rows.map((r) => [r.partition, r.time, r.revenue, r.orders]).sort()).toEqual(
      [
        ["0", Number(minute(0) / 1_000_000n), 12.75, 3],
        ["0", Number(minute(1) / 1_000_000n), 3, 1],
        ["1", Number(minute(0) / 1_000_000n), 4.25, 1],
      ].sort(),
    );
    const totals = seriesRows(await influxQuery(config(), `SELECT sum("revenue") AS revenue FROM "order_window" WHERE time >= '2026-11-20T10:00:00Z' GROUP BY time(1m) LIMIT 2`));
    expect(totals.map((r) => r.revenue)).toEqual([17, 3]);
    const types = seriesRows(await influxQuery(config(), `SHOW FIELD KEYS FROM "order_window"`));
    expect(Object.fromEntries(types.map((t) => [t.fieldKey, t.fieldType]))).toEqual({ final: "integer", orders: "integer", revenue: "float" });
  });

  it("keeps points while InfluxDB is down, says when its buffer is full, and writes them all when it returns", async () => {
    const sink = new InfluxSink({ ...config(), database: "outage_test" }, { maxBufferedPoints: 50, timeoutMs: 2_000 });
    await sink.init();
    const port = Number(new URL(server.url).port);
    await stopInflux(server);

    sink.enqueue(Array.from({ length: 30 }, (_, i) => windowPoint(i, 0, i + 0.5, i)));
    expect(await sink.flush()).toBe(false);
    expect(sink.buffered).toBe(30);
    expect(sink.full).toBe(false);
    sink.enqueue(Array.from({ length: 30 }, (_, i) => windowPoint(i, 1, i + 0.25, i)));
    expect(await sink.flush()).toBe(false);
    expect(sink.buffered).toBe(60);
    expect(sink.full).toBe(true);
    expect(sink.writeErrors).toBe(2);

    server = await startInflux({ dir: join(dir, "influx"), port });
    expect(await sink.flush()).toBe(true);
    expect(sink.buffered).toBe(0);
    const rows = seriesRows(await influxQuery({ ...config(), database: "outage_test" }, `SELECT count("orders") AS n, sum("revenue") AS revenue FROM "order_window"`));
    expect(rows[0]).toMatchObject({ n: 60, revenue: 2 * (29 * 30) / 2 + 30 * 0.75 });
  });

  it("drops only a point InfluxDB refuses as malformed, loudly counted, and writes the rest", async () => {
    const sink = new InfluxSink({ ...config(), database: "malformed_test" }, { maxBufferedPoints: 1_000 });
    await sink.init();
    sink.enqueue([windowPoint(0, 0, 1.5, 1)]);
    expect(await sink.flush()).toBe(true);
    // orders is an integer field: a float for it is a field type conflict (HTTP 400) however often it is retried.
    const conflicting: SinkPoint = { ...windowPoint(1, 0, 2, 1), fields: { orders: { type: "float", value: 2.5 } } };
    sink.enqueue([windowPoint(2, 0, 3, 1), conflicting, windowPoint(3, 0, 4, 1)]);
    expect(await sink.flush()).toBe(true);
    expect(sink.rejectedPoints).toBe(1);
    expect(sink.refused).toEqual(new Map([["order_window", 1]]));
    expect(sink.lastRefusal).toMatchObject({ measurement: "order_window", field: "orders" });
    const rows = seriesRows(await influxQuery({ ...config(), database: "malformed_test" }, `SELECT "revenue" FROM "order_window"`));
    expect(rows.map((r) => r.revenue)).toEqual([1.5, 3, 4]);
  });

  it("reports InfluxQL errors with the query", async () => {
    await expect(influxQuery(config(), "SELEKT nonsense")).rejects.toThrow(/InfluxQL query failed.*\n.*SELEKT nonsense/);
  });
});

describe("v1Transport", () => {
  it("maps only the write path to /write with the database and precision", () => {
    const seen: string[] = [];
    const base = { send: (path: string) => seen.push(path), request: async (path: string) => seen.push(path), iterate: (path: string) => (seen.push(path), (async function* () {})()), chunkCombiner: {} } as unknown as Transport;
    const t = v1Transport(base, "my db");
    t.send("/api/v2/write?org=&bucket=my%20db&precision=ns", "", { method: "POST" });
    t.send("/api/v2/write?org=o&bucket=b&precision=ms", "", { method: "POST" });
    void t.request("/query?db=x", "", { method: "GET" });
    expect(seen).toEqual(["/write?db=my+db&precision=n", "/write?db=my+db&precision=ms", "/query?db=x"]);
  });
});
