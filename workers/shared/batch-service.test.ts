/**
 * Run now's first day read from a lake on disk (a temporary LAKE_DIR): only committed, live order
 * files count; an empty or unreadable lake offers yesterday.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { commitMarkerPath, invalidFilePath, ordersFilePath, serializeCommitMarker } from "../../lib/lake/layout.ts";
import { runNowDefault } from "./batch-service.ts";

const root = mkdtempSync(join(tmpdir(), "orderpulse-run-now-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const now = Date.parse("2026-12-03T15:20:00Z");

function lake(name: string, files: string[], markers: Record<number, number>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const path of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), "");
  }
  for (const [partition, nextOffset] of Object.entries(markers)) {
    const path = join(dir, commitMarkerPath(Number(partition)));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, serializeCommitMarker({ nextOffset, clusterId: "c", topic: "orders" }));
  }
  return dir;
}

describe("runNowDefault over a lake on disk", () => {
  it("the newest day with committed orders; a file past the commit marker and invalid messages do not count", async () => {
    const dir = lake(
      "filled",
      [
        ordersFilePath(Date.parse("2026-11-29T08:10:00Z"), { partition: 0, firstOffset: 0, lastOffset: 9 }),
        ordersFilePath(Date.parse("2026-11-30T22:10:00Z"), { partition: 1, firstOffset: 0, lastOffset: 4 }),
        // Not committed yet (partition 0's marker stops at 10): a crash's leftover the lake worker rewrites.
        ordersFilePath(Date.parse("2026-12-03T09:00:00Z"), { partition: 0, firstOffset: 10, lastOffset: 19 }),
        invalidFilePath(Date.parse("2026-12-02T09:00:00Z"), { partition: 1, firstOffset: 5, lastOffset: 5 }),
      ],
      { 0: 10, 1: 6 },
    );
    expect(await runNowDefault(now, dir, "UTC")).toEqual({ date: "2026-11-30", basis: "lake" });
    expect(await runNowDefault(now, dir, "Asia/Tokyo")).toEqual({ date: "2026-12-01", basis: "lake" });
  });

  it("an empty lake (or none yet): yesterday", async () => {
    expect(await runNowDefault(now, lake("empty", [], {}), "UTC")).toEqual({ date: "2026-12-02", basis: "empty lake" });
    expect(await runNowDefault(now, join(root, "missing"), "UTC")).toEqual({ date: "2026-12-02", basis: "empty lake" });
  });

  it("a corrupt commit marker: yesterday, marked unreadable, not an error page", async () => {
    const dir = lake("corrupt", [ordersFilePath(Date.parse("2026-11-29T08:10:00Z"), { partition: 0, firstOffset: 0, lastOffset: 9 })], {});
    mkdirSync(dirname(join(dir, commitMarkerPath(0))), { recursive: true });
    writeFileSync(join(dir, commitMarkerPath(0)), "{not json");
    expect(await runNowDefault(now, dir, "UTC")).toEqual({ date: "2026-12-02", basis: "unreadable lake" });
  });
});
