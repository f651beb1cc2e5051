import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DLQ_HEADERS, dlqHeaders } from "../contract/dead-letter.ts";
import { formatCursor, mergePage, pageRanges, parseCursor, planRedrive, readDeadLetter, REDRIVE_HEADERS, redriveRequestSchema, selectionRanges, selects, type DeadLetter, type DeadLetterRecord } from "./dead-letters.ts";
import type { PartitionOffsets } from "./pipeline.ts";

const record = (partition: number, offset: number, at: number, value: string | null, source?: { partition: number; offset: number; code?: string }, extra: Record<string, string> = {}): DeadLetterRecord => ({
  partition,
  offset: String(offset),
  timestamp: String(at),
  key: Buffer.from(`c-${offset}`),
  value: value === null ? null : Buffer.from(value),
  headers: source
    ? { ...dlqHeaders({ code: (source.code ?? "not_json") as never, reason: "not JSON" }, { topic: "orders", partition: source.partition, offset: String(source.offset), timestamp: String(at - 5) }, extra) }
    : extra,
});

describe("reading a dead letter", () => {
  it("takes reason and source coordinates from the metrics worker's headers, and the text for editing", () => {
    const d = readDeadLetter(record(1, 42, 1_000, '{"order_id":', { partition: 3, offset: 17 }, { "trace-id": "t1" }));
    expect(d).toMatchObject({ id: "1:42", partition: 1, offset: 42, at: 1_000, code: "not_json", reason: "not JSON", source: { topic: "orders", partition: 3, offset: "17", timestamp: 995 }, sourceKey: "orders/3/17", redriveOf: null, text: '{"order_id":', bytes: 12, key: "c-42" });
  });

  it("a record without orderpulse's headers, or with bytes that are not UTF-8, still reads (no text to edit)", () => {
    const d = readDeadLetter({ ...record(0, 5, 9, null), value: Buffer.from([0xff, 0xfe, 0x00]) });
    expect(d).toMatchObject({ code: "unknown", reason: "", source: { topic: null, partition: null, offset: null, timestamp: null }, sourceKey: null, text: null, bytes: 3, preview: "��\\x00" });
  });
});

describe("paging newest first", () => {
  it("cursor text round-trips and rejects anything else", () => {
    expect(formatCursor(parseCursor("1:5,0:12"))).toBe("0:12,1:5");
    for (const bad of ["", "0:", "a:1", "0:1;1:2", "0:1,"]) expect(() => parseCursor(bad)).toThrow(/cursor/);
  });

  /** Dead letters of a topic whose partitions each hold records [logStart, logEnd) with the given times. */
  const topicOf = (times: number[][], logStarts: number[]) => {
    const offsets: PartitionOffsets[] = times.map((t, p) => ({ partition: p, logStart: logStarts[p]!, logEnd: logStarts[p]! + t.length }));
    const all = times.flatMap((t, p) => t.map((at, i) => readDeadLetter(record(p, logStarts[p]! + i, at, `v${p}-${i}`))));
    return { offsets, all };
  };
  const readPages = (offsets: PartitionOffsets[], all: DeadLetter[], limit: number) => {
    const seen: DeadLetter[] = [];
    let cursor: Map<number, number> | undefined;
    for (let pages = 0; pages < 1_000; pages++) {
      const ranges = pageRanges(offsets, cursor, limit);
      const read = new Map(ranges.map((r) => [r.partition, all.filter((d) => d.partition === r.partition && d.offset >= r.from && d.offset < r.to)]));
      const page = mergePage(read, ranges, offsets, limit);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      seen.push(...page.items);
      if (!page.more) return seen;
      expect(page.items.length, "a page that is not the last makes progress").toBeGreaterThan(0);
      cursor = parseCursor(formatCursor(page.cursor));
    }
    throw new Error("paging did not end");
  };

  it("property: every dead letter is shown exactly once over all pages; with times rising per partition, in global newest-first order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 30 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(100), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(),
        (raw, logStarts, limit, rising) => {
          // Rising: each partition's times as its producer wrote them (running sums, like CreateTime).
          const times = rising ? raw.map((t) => t.reduce<number[]>((acc, x) => [...acc, (acc.at(-1) ?? 0) + x], [])) : raw;
          const { offsets, all } = topicOf(times, logStarts);
          const seen = readPages(offsets, all, limit);
          expect(seen.map((d) => d.id).sort()).toEqual(all.map((d) => d.id).sort());
          if (rising) {
            const oracle = [...all].sort((a, b) => b.at - a.at || b.partition - a.partition || b.offset - a.offset);
            expect(seen.map((d) => d.at)).toEqual(oracle.map((d) => d.at));
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe("selecting dead letters", () => {
  const d = (partition: number, offset: number, at: number, code = "not_json") => readDeadLetter(record(partition, offset, at, "x", { partition: 0, offset, code }));

  it("by id, by reason, by an offset range of one partition, by a time range", () => {
    expect(selects({ kind: "ids", ids: ["0:3"] }, d(0, 3, 1))).toBe(true);
    expect(selects({ kind: "ids", ids: ["0:3"] }, d(1, 3, 1))).toBe(false);
    const f = (x: object) => redriveRequestSchema.parse({ select: { kind: "filter", ...x } }).select;
    expect(selects(f({ code: "bad_amount" }), d(0, 1, 1, "bad_amount"))).toBe(true);
    expect(selects(f({ code: "bad_amount" }), d(0, 1, 1))).toBe(false);
    const range = f({ partition: 1, fromOffset: 10, toOffset: 12 });
    expect([9, 10, 12, 13].map((o) => selects(range, d(1, o, 1)))).toEqual([false, true, true, false]);
    expect(selects(range, d(0, 11, 1))).toBe(false);
    const time = f({ from: "2026-12-01T10:00:00Z", to: "2026-12-01T11:00:00Z" });
    expect([Date.parse("2026-12-01T09:59:59.999Z"), Date.parse("2026-12-01T10:00:00Z"), Date.parse("2026-12-01T11:00:00Z")].map((at) => selects(time, d(0, 1, at)))).toEqual([false, true, false]);
    expect(selects(f({ all: true }), d(0, 1, 1))).toBe(true);
  });

  it("a filter must say what it selects; bad ranges and ids are refused", () => {
    const bad = [{ kind: "filter" }, { kind: "filter", fromOffset: 1 }, { kind: "filter", partition: 0, fromOffset: 5, toOffset: 4 }, { kind: "filter", from: "2026-12-01T11:00:00Z", to: "2026-12-01T10:00:00Z" }, { kind: "ids", ids: [] }, { kind: "ids", ids: ["0-1"] }, { kind: "everything" }];
    for (const select of bad) expect(redriveRequestSchema.safeParse({ select }).success, JSON.stringify(select)).toBe(false);
  });

  it("reads only the offsets a selection can touch", () => {
    const offsets = [{ partition: 0, logStart: 5, logEnd: 50 }, { partition: 1, logStart: 0, logEnd: 10 }];
    expect(selectionRanges({ kind: "ids", ids: ["0:7", "0:20", "1:3", "2:1"] }, offsets)).toEqual([{ partition: 0, from: 7, to: 21 }, { partition: 1, from: 3, to: 4 }]);
    expect(selectionRanges(redriveRequestSchema.parse({ select: { kind: "filter", partition: 0, fromOffset: 0, toOffset: 60 } }).select, offsets)).toEqual([{ partition: 0, from: 5, to: 50 }]);
    expect(selectionRanges(redriveRequestSchema.parse({ select: { kind: "filter", code: "not_json" } }).select, offsets)).toEqual([{ partition: 0, from: 5, to: 50 }, { partition: 1, from: 0, to: 10 }]);
  });
});

describe("planning a redrive", () => {
  const options = { topic: "orders", dlqTopic: "orders.dlq", now: Date.parse("2026-12-01T12:00:00Z"), who: "127.0.0.1" };
  const records = [record(0, 4, 100, '{"bad"', { partition: 3, offset: 17 }, { "trace-id": "t1" }), record(0, 9, 200, '{"bad"', { partition: 3, offset: 17 }), record(1, 2, 150, "{}", { partition: 5, offset: 8 })];
  const byId = new Map(records.map((r) => [`${r.partition}:${r.offset}`, r]));
  const all = records.map(readDeadLetter);

  it("sends each to its source partition with its key, the edited value, the producer's headers and the redrive headers, never the rejection headers", () => {
    const plan = planRedrive(all, byId, { ...options, edits: { "1:2": '{"order_id":"o-1","amount":1,"event_time":"2026-12-01T11:59:00Z"}' } });
    expect(plan.redrive.map((r) => [r.of, r.partition, r.key, String(r.value), r.edited])).toEqual([
      ["orders.dlq/0/4", 3, "c-4", '{"bad"', false],
      ["orders.dlq/1/2", 5, "c-2", '{"order_id":"o-1","amount":1,"event_time":"2026-12-01T11:59:00Z"}', true],
    ]);
    const first = plan.redrive[0]!.headers;
    expect(first).toEqual({ "trace-id": "t1", [REDRIVE_HEADERS.of]: "orders.dlq/0/4", [REDRIVE_HEADERS.source]: "orders/3/17", [REDRIVE_HEADERS.at]: "2026-12-01T12:00:00.000Z", [REDRIVE_HEADERS.by]: "127.0.0.1", [REDRIVE_HEADERS.edited]: "false" });
    for (const name of Object.values(DLQ_HEADERS)) expect(first).not.toHaveProperty(name);
    // The metrics worker dead-letters at least once: the re-send of source orders/3/17 is not replayed twice.
    expect(plan.skipped).toEqual([{ id: "0:9", why: "same source record orders/3/17 as dead letter 0:4" }]);
  });

  it("an edited re-send wins over the unedited copy; a foreign source topic and an unselected edit are skipped with why", () => {
    const foreign = record(1, 7, 300, "x", { partition: 0, offset: 1 });
    foreign.headers[DLQ_HEADERS.topic] = "payments";
    const map = new Map([...byId, ["1:7", foreign]]);
    const plan = planRedrive([...all, readDeadLetter(foreign)], map, { ...options, edits: { "0:9": '{"fixed":1}', "1:99": "{}" } });
    expect(plan.redrive.map((r) => r.of)).toEqual(["orders.dlq/0/9", "orders.dlq/1/2"]);
    expect(plan.skipped).toEqual([
      { id: "0:4", why: "same source record orders/3/17 as dead letter 0:9" },
      { id: "1:7", why: "source topic payments is not orders" },
      { id: "1:99", why: "edited but not selected (or no longer in the dead-letter topic)" },
    ]);
  });

  it("a dead letter that was itself a redrive is replayed with fresh redrive headers", () => {
    const again = record(0, 30, 400, "{}", { partition: 2, offset: 90 }, { [REDRIVE_HEADERS.of]: "orders.dlq/0/4", [REDRIVE_HEADERS.edited]: "true" });
    const d = readDeadLetter(again);
    expect(d.redriveOf).toBe("orders.dlq/0/4");
    const plan = planRedrive([d], new Map([["0:30", again]]), { ...options, edits: {} });
    expect(plan.redrive[0]!.headers).toMatchObject({ [REDRIVE_HEADERS.of]: "orders.dlq/0/30", [REDRIVE_HEADERS.source]: "orders/2/90", [REDRIVE_HEADERS.edited]: "false" });
  });
});
