import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { QueryHistory, type HistoryEntry } from "./query-history.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function historyFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "query-history-"));
  dirs.push(dir);
  return join(dir, "state", "query-history.ndjson");
}
const entry = (i: number, status = "ok"): HistoryEntry => ({ sql: `SELECT ${i}`, status, at: 1_795_000_000_000 + i, durationMs: i, rows: status === "ok" ? 1 : null, kind: "json" });

describe("QueryHistory", () => {
  it("survives a restart: a new instance on the same file lists the same entries, newest first", async () => {
    const file = historyFile();
    const before = new QueryHistory(file, 5);
    expect(before.entries).toEqual([]);
    for (let i = 1; i <= 3; i++) before.record(entry(i, i === 2 ? "refused" : "ok"));
    await before.flushed();
    const after = new QueryHistory(file, 5);
    expect(after.entries).toEqual([entry(3), entry(2, "refused"), entry(1)]);
    expect(after.entries).toEqual(before.entries);
  });

  it("keeps the newest `size` in memory and rewrites the file down to them before it reaches 4 × size lines", async () => {
    const file = historyFile();
    const history = new QueryHistory(file, 5);
    for (let i = 1; i <= 23; i++) history.record(entry(i));
    await history.flushed();
    expect(history.entries.map((e) => e.sql)).toEqual(["SELECT 23", "SELECT 22", "SELECT 21", "SELECT 20", "SELECT 19"]);
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    expect(lines.length).toBeLessThan(20);
    expect(new QueryHistory(file, 5).entries).toEqual(history.entries);
  });

  it("skips damaged lines and reports a file it cannot write, without losing the entry in memory", async () => {
    const file = historyFile();
    const first = new QueryHistory(file, 5);
    first.record(entry(1));
    await first.flushed();
    writeFileSync(file, `${readFileSync(file, "utf8")}{"sql":"half\nnot json\n{"sql":1}\n`);
    expect(new QueryHistory(file, 5).entries).toEqual([entry(1)]);

    const errors: string[] = [];
    const blocked = new QueryHistory(join(file, "not-a-dir", "x.ndjson"), 5, (error) => errors.push(error.message));
    blocked.record(entry(2));
    await blocked.flushed();
    expect(blocked.entries).toEqual([entry(2)]);
    expect(errors.join()).toMatch(/ENOTDIR|EEXIST/);
  });
});
