import { describe, expect, it } from "vitest";
import { parseLakeFilePath, partFileName, temporaryPath, type CommitMarker } from "./layout.ts";
import { checkLakeOrigin, LakeOriginMismatchError, recoveryPlan, temporaryMarkerPartition, temporaryPartRange, temporaryWriterPid } from "./recovery.ts";

const hour = (h: string) => `orders/event_date=2026-11-20/event_hour=${h}`;
const part = (partition: number, first: number, last: number) => partFileName({ partition, firstOffset: first, lastOffset: last });

describe("checkLakeOrigin", () => {
  const marker = (clusterId: string, topic = "orders"): CommitMarker => ({ nextOffset: 5, clusterId, topic });
  it("accepts an empty lake and markers of the same cluster and topic", () => {
    expect(() => checkLakeOrigin("/lake", new Map(), { clusterId: "a", topic: "orders" })).not.toThrow();
    expect(() => checkLakeOrigin("/lake", new Map([[0, marker("a")]]), { clusterId: "a", topic: "orders" })).not.toThrow();
  });
  it("refuses another cluster or topic, naming both", () => {
    const markers = new Map([
      [3, marker("a")],
      [1, marker("old-cluster")],
    ]);
    expect(() => checkLakeOrigin("/lake", markers, { clusterId: "a", topic: "orders" })).toThrow(LakeOriginMismatchError);
    expect(() => checkLakeOrigin("/lake", markers, { clusterId: "a", topic: "orders" })).toThrow(
      /partition 1 was written from Kafka cluster "old-cluster" \(this broker is cluster "a"\)/,
    );
    expect(() => checkLakeOrigin("/lake", new Map([[0, marker("a", "other")]]), { clusterId: "a", topic: "orders" })).toThrow(/topic "other" \(KAFKA_TOPIC is "orders"\)/);
  });
});

describe("recoveryPlan", () => {
  it("deletes a dead flush's files in every directory, its temporary files and temporary markers, and nothing else", () => {
    const files = [
      `${hour("10")}/${part(2, 0, 99)}`, // committed
      `${hour("10")}/${part(2, 100, 180)}`, // the dead flush, hour 10
      `${hour("11")}/${part(2, 101, 199)}`, // the dead flush, hour 11
      `orders_invalid/ingest_date=2026-11-21/${part(2, 150, 150)}`,
      `${hour("11")}/${part(3, 100, 199)}`, // another partition
    ].map((p) => parseLakeFilePath(p)!);
    const temporaries = [
      temporaryPath(`${hour("12")}/${part(2, 190, 199)}`, "77-ab"), // an interrupted write of the dead flush
      temporaryPath(`${hour("10")}/${part(2, 0, 99)}`, "78-cd"), // a compaction's: below the marker
      temporaryPath(`${hour("10")}/${part(3, 100, 120)}`, "79-ef"),
      temporaryPath("_commits/partition=2.json", "80-aa"),
      temporaryPath("_commits/partition=3.json", "81-bb"),
    ];
    const plan = recoveryPlan(2, 100, files, temporaries, () => false);
    expect(plan.files.map((f) => f.path)).toEqual([files[1]!.path, files[2]!.path, files[3]!.path]);
    expect(plan.temporaries).toEqual([temporaries[0], temporaries[3]]);
    // A compaction's temporary file goes too once its writer is gone.
    expect(recoveryPlan(2, 100, files, temporaries, (path) => path === temporaries[1]).temporaries).toEqual([temporaries[0], temporaries[1], temporaries[3]]);
  });

  it("reads temporary names back", () => {
    const temp = temporaryPath(`${hour("10")}/${part(4, 5, 9)}`, "1234-0a0b");
    expect(temporaryPartRange(temp)).toEqual({ partition: 4, firstOffset: 5, lastOffset: 9 });
    expect(temporaryWriterPid(temp)).toBe(1234);
    expect(temporaryPartRange(`${hour("10")}/${part(4, 5, 9)}`)).toBeUndefined();
    expect(temporaryMarkerPartition(temporaryPath("_commits/partition=12.json", "1-a"))).toBe(12);
    expect(temporaryMarkerPartition(temporaryPath("_commits/partition=12.lease", "1-a"))).toBe(12);
    expect(temporaryMarkerPartition(temporaryPath("_commits/other.json", "1-a"))).toBeUndefined();
  });
});
