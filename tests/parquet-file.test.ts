/** The lake's Parquet writer, read back by DuckDB as an independent reader. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { amountToCents } from "../lib/contract/money.ts";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { INVALID_TABLE, ORDERS_TABLE, ROW_GROUP_SIZE, toLakeInvalidRow, type LakeInvalidRow, type LakeOrderRow } from "../lib/lake/schema.ts";
import { LakeWriteError, writeParquetFile } from "../workers/lake/parquet-file.ts";
import { InlineEncoder, ThreadEncoder } from "../workers/lake/encoder.ts";
import { sqlLiteral as sqlString } from "../lib/lake/sql.ts";

let dir: string;
let instance: DuckDBInstance;
let db: DuckDBConnection;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lake-schema-"));
  instance = await DuckDBInstance.create(":memory:");
  db = await instance.connect();
});

afterAll(async () => {
  db.closeSync();
  instance.closeSync();
  await rm(dir, { recursive: true, force: true });
});

// Only the file's own columns: DuckDB would otherwise add the key=value directories as columns.
const scan = (file: string) => `read_parquet(${sqlString(file)}, hive_partitioning = false)`;
const rowsOf = async (sql: string) => (await db.runAndReadAll(sql)).getRowsJson();
const valueOf = async (sql: string) => (await rowsOf(sql))[0]?.[0];

const T = Date.parse("2026-11-20T10:00:00.123Z");

function orderRow(i: number, overrides: Partial<LakeOrderRow> = {}): LakeOrderRow {
  const row: Omit<LakeOrderRow, "amount_cents"> = {
    order_id: `o-${i}`,
    customer_id: i % 3 === 0 ? null : `c-${i % 50}`,
    product_id: `p-${i % 7}`,
    category: "coffee",
    country: "US",
    channel: "web",
    quantity: 1 + (i % 4),
    unit_price: i % 5 === 0 ? null : 2.5,
    amount: 2.5 * (1 + (i % 4)),
    event_time: T + i,
    kafka_partition: 2,
    kafka_offset: 2 ** 40 + i,
    ingested_at: T + 60_000,
    raw: `{"order_id":"o-${i}"}`,
    ...overrides,
  };
  return { ...row, amount_cents: overrides.amount_cents ?? amountToCents(row.amount) };
}

describe("orders files", () => {
  const rowCount = 12_000; // more than parquetjs-lite's default row group of 4096
  let file: string;
  const rows = Array.from({ length: rowCount }, (_, i) => orderRow(i));
  // Text that JavaScript and UTF-8 order differently: the statistics trap.
  rows[10] = orderRow(10, { country: "😀", category: "Ａ" });
  rows[11] = orderRow(11, { country: "Ａ", category: "😀", raw: '{"note":"naïve ✓"}' });

  beforeAll(async () => {
    file = join(dir, "orders", "event_date=2026-11-20", "event_hour=10", "part-2-a.parquet");
    await expect(writeParquetFile(file, ORDERS_TABLE, rows)).resolves.toEqual({ path: file, rows: rowCount });
  });

  it("reads back in DuckDB with the declared types", async () => {
    const described = await rowsOf(`DESCRIBE SELECT * FROM ${scan(file)}`);
    expect(described.map(([name, type, nullable]) => [name, type, nullable])).toEqual(
      ORDERS_TABLE.columns.map((c) => [c.name, c.sqlType, "YES"]),
    );
    expect(ORDERS_TABLE.columns.find((c) => c.name === "event_time")?.sqlType).toBe("TIMESTAMP");
  });

  it("reads back every value, including nulls, big offsets and non-BMP text", async () => {
    const read = await rowsOf(
      `SELECT order_id, customer_id, product_id, category, country, channel, quantity, unit_price, amount,
              epoch_ms(event_time), kafka_partition, kafka_offset, epoch_ms(ingested_at), raw
       FROM ${scan(file)} ORDER BY kafka_offset`,
    );
    expect(read).toHaveLength(rowCount);
    const expected = rows.map((r) => [
      r.order_id,
      r.customer_id,
      r.product_id,
      r.category,
      r.country,
      r.channel,
      r.quantity,
      r.unit_price,
      r.amount,
      String(r.event_time),
      r.kafka_partition,
      String(r.kafka_offset),
      String(r.ingested_at),
      r.raw,
    ]);
    expect(read).toEqual(expected);
  });

  it("lets DuckDB filter text columns without losing rows", async () => {
    expect(await valueOf(`SELECT count(*) FROM ${scan(file)} WHERE country = '😀'`)).toBe("1");
    expect(await valueOf(`SELECT count(*) FROM ${scan(file)} WHERE category = '😀'`)).toBe("1");
    const timeHits = await valueOf(
      `SELECT count(*) FROM ${scan(file)} WHERE event_time >= TIMESTAMP '2026-11-20 10:00:00.123' + INTERVAL 11999 MILLISECONDS`,
    );
    expect(timeHits).toBe("1");
  });

  it("is snappy-compressed, with large row groups and v1 data pages", async () => {
    const [groups, codecs] = (await rowsOf(
      `SELECT count(DISTINCT row_group_id), string_agg(DISTINCT compression, ',') FROM parquet_metadata(${sqlString(file)})`,
    ))[0] ?? [];
    expect(codecs).toBe("SNAPPY");
    expect(groups).toBe(String(Math.ceil(rowCount / ROW_GROUP_SIZE)));
    // The first page header follows the 4-byte magic; in Thrift compact encoding its
    // first field (type, i32) is 0x15 and DATA_PAGE (0) zigzags to 0x00; DATA_PAGE_V2 would be 0x06.
    const bytes = await readFile(file);
    expect([...bytes.subarray(0, 6)]).toEqual([0x50, 0x41, 0x52, 0x31, 0x15, 0x00]);
  });

  it("leaves no temporary file behind", async () => {
    expect(await readdir(join(dir, "orders", "event_date=2026-11-20", "event_hour=10"))).toEqual(["part-2-a.parquet"]);
  });
});

describe("invalid-message files", () => {
  it("keeps raw bytes exactly, even when they are not text", async () => {
    const file = join(dir, "orders_invalid", "ingest_date=2026-11-20", "part-0-b.parquet");
    const rows: LakeInvalidRow[] = [
      toLakeInvalidRow({ code: "not_utf8", reason: "message is not valid UTF-8" }, { partition: 0, offset: 5, ingestedAt: T, recordTimestamp: T - 1 }, new Uint8Array([0xff, 0x00, 0xfe, 0x41])),
      toLakeInvalidRow({ code: "not_json", reason: "empty message" }, { partition: 0, offset: 6, ingestedAt: T, recordTimestamp: -1 }, null),
    ];
    await writeParquetFile(file, INVALID_TABLE, rows);
    const described = await rowsOf(`DESCRIBE SELECT * FROM ${scan(file)}`);
    expect(described.map(([name, type]) => [name, type])).toEqual(INVALID_TABLE.columns.map((c) => [c.name, c.sqlType]));
    expect(await rowsOf(`SELECT kafka_partition, kafka_offset, epoch_ms(record_timestamp), reason_code, reason, hex(raw), epoch_ms(ingested_at) FROM ${scan(file)} ORDER BY kafka_offset`)).toEqual([
      [0, "5", String(T - 1), "not_utf8", "message is not valid UTF-8", "FF00FE41", String(T)],
      [0, "6", null, "not_json", "empty message", null, String(T)],
    ]);
  });
});

describe("a failed write", () => {
  it("names the file, row and offset, and leaves nothing behind", async () => {
    const sub = join(dir, "failing");
    const file = join(sub, "part-2-c.parquet");
    const bad = { ...orderRow(1), order_id: undefined } as unknown as LakeOrderRow;
    const error = await writeParquetFile(file, ORDERS_TABLE, [orderRow(0), bad]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LakeWriteError);
    expect((error as LakeWriteError).message).toMatch(/row 1 .*missing required field: order_id/);
    expect((error as LakeWriteError).context).toEqual({ path: file, row: 1, partition: 2, offset: 2 ** 40 + 1 });
    expect(await readdir(sub)).toEqual([]);
  });

  it("replaces an existing file whole", async () => {
    const file = join(dir, "replace", "part-0-d.parquet");
    await writeParquetFile(file, ORDERS_TABLE, [orderRow(0), orderRow(1)]);
    await writeParquetFile(file, ORDERS_TABLE, [orderRow(7)]);
    expect(await rowsOf(`SELECT order_id FROM ${scan(file)}`)).toEqual([["o-7"]]);
  });
});

describe("the encoder pool and the DuckDB writer (issue 13)", () => {
  const rows = Array.from({ length: 7_000 }, (_, i) => orderRow(i));
  rows[3] = orderRow(3, { country: "😀", raw: '{"note":"naïve ✓"}' });
  const invalid: LakeInvalidRow[] = [
    toLakeInvalidRow({ code: "not_utf8", reason: "message is not valid UTF-8" }, { partition: 0, offset: 5, ingestedAt: T, recordTimestamp: T - 1 }, new Uint8Array([0xff, 0x00, 0xfe, 0x41])),
    toLakeInvalidRow({ code: "not_json", reason: "empty message" }, { partition: 0, offset: 6, ingestedAt: T, recordTimestamp: -1 }, null),
  ];
  const same = (a: string, b: string) => `SELECT count(*) FROM (SELECT * FROM ${scan(a)} EXCEPT ALL SELECT * FROM ${scan(b)})`;

  it("writes, on two threads at once, files that read back row for row like the inline parquetjs-lite ones, with either writer", async () => {
    const inline = join(dir, "pool", "inline.parquet");
    const inlineInvalid = join(dir, "pool", "inline-invalid.parquet");
    await new InlineEncoder().write({ kind: "orders", path: inline, rows });
    await new InlineEncoder().write({ kind: "invalid", path: inlineInvalid, rows: invalid });
    for (const writer of ["parquetjs", "duckdb"] as const) {
      const pool = new ThreadEncoder(2, writer);
      try {
        const halves = [rows.slice(0, 3_500), rows.slice(3_500)];
        const paths = halves.map((_, i) => join(dir, "pool", `${writer}-${i}.parquet`));
        const invalidPath = join(dir, "pool", `${writer}-invalid.parquet`);
        const results = await Promise.all([...halves.map((half, i) => pool.write({ kind: "orders", path: paths[i]!, rows: half })), pool.write({ kind: "invalid", path: invalidPath, rows: invalid })]);
        expect(results.map((r) => r.rows)).toEqual([3_500, 3_500, 2]);
        const both = `read_parquet([${paths.map(sqlString).join(", ")}], hive_partitioning = false)`;
        expect(await valueOf(`SELECT count(*) FROM (SELECT * FROM ${scan(inline)} EXCEPT ALL SELECT * FROM ${both})`), writer).toBe("0");
        expect(await valueOf(`SELECT count(*) FROM ${both}`), writer).toBe("7000");
        expect(await valueOf(same(inlineInvalid, invalidPath)), writer).toBe("0");
        expect(await valueOf(`SELECT hex(raw) FROM ${scan(invalidPath)} WHERE kafka_offset = 5`), writer).toBe("FF00FE41");
      } finally {
        await pool.close();
      }
    }
    expect((await readdir(join(dir, "pool"))).filter((f) => !f.endsWith(".parquet"))).toEqual([]);
  });

  it("names the row, partition and offset of a bad value with the DuckDB writer too, and leaves nothing behind", async () => {
    const sub = join(dir, "duckdb-failing");
    const file = join(sub, "part-2-c.parquet");
    const bad = { ...orderRow(1), order_id: undefined } as unknown as LakeOrderRow;
    const error = await new InlineEncoder("duckdb").write({ kind: "orders", path: file, rows: [orderRow(0), bad] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LakeWriteError);
    expect((error as LakeWriteError).message).toMatch(/row 1 .*missing required field: order_id/);
    expect((error as LakeWriteError).context).toEqual({ path: file, row: 1, partition: 2, offset: 2 ** 40 + 1 });
    await expect(readdir(sub)).rejects.toThrow(/ENOENT/);
  });
});
