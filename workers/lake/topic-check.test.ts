import { describe, expect, it } from "vitest";
import { LakeAheadOfTopicError } from "../../lib/lake/recovery.ts";
import { checkMarkersWithinTopic, TOPIC_CHECK_RETRY_MS, type ReadLogEnds } from "./topic-check.ts";

const refused = () => Object.assign(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:45631"), { name: "KafkaJSConnectionError" });

function harness(answers: (Error | { partition: number; high: string }[])[], stillWanted = () => true) {
  const waits: number[] = [];
  const warnings: unknown[] = [];
  let calls = 0;
  const read: ReadLogEnds = async () => {
    const answer = answers[Math.min(calls++, answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return answer;
  };
  const options = { lakeDir: "/lake", topic: "orders", stillWanted, log: { warn: (o: unknown) => void warnings.push(o) }, sleep: async (ms: number) => void waits.push(ms) };
  return { read, options, waits, warnings, calls: () => calls };
}

describe("checkMarkersWithinTopic", () => {
  // Regression (fault suite, issue 13): the broker killed while a lake worker recovered its partitions made this
  // check's one admin call fail, and the worker exit 1 instead of waiting for the broker.
  it("waits for a broker that does not answer, backing off, and passes once it answers", async () => {
    const ends = [{ partition: 0, high: "100" }, { partition: 1, high: "50" }];
    const h = harness([refused(), refused(), refused(), refused(), refused(), ends]);
    await checkMarkersWithinTopic(h.read, new Map([[0, 100], [1, 7]]), h.options);
    expect(h.calls()).toBe(6);
    expect(h.waits).toEqual([1_000, 2_000, 4_000, 8_000, TOPIC_CHECK_RETRY_MS.max]);
    expect(h.warnings).toHaveLength(5);
  });

  it("refuses a marker past the log end at once, with the partition and offsets", async () => {
    const h = harness([[{ partition: 0, high: "10" }]]);
    const error = await checkMarkersWithinTopic(h.read, new Map([[0, 11]]), h.options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LakeAheadOfTopicError);
    expect((error as LakeAheadOfTopicError).context).toEqual({ lakeDir: "/lake", topic: "orders", partition: 0, nextOffset: 11, logEndOffset: 10 });
    expect(h.waits).toEqual([]);
  });

  it("gives up with the broker's error once the assignment is over", async () => {
    let wanted = 2;
    const h = harness([refused()], () => wanted-- > 0);
    await expect(checkMarkersWithinTopic(h.read, new Map([[0, 1]]), h.options)).rejects.toThrow(/ECONNREFUSED/);
    expect(h.calls()).toBe(3);
  });
});
