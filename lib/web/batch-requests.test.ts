import { describe, expect, it } from "vitest";
import { instantRangeSchema } from "./batch-requests.ts";

const messages = (input: unknown) => instantRangeSchema.safeParse(input).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`);

describe("instantRangeSchema", () => {
  it("takes instants to the minute (what the Batch page fills in) and to the second or finer, with Z or an offset", () => {
    expect(instantRangeSchema.parse({ from: "2026-12-03T12:00Z", to: "2026-12-03T13:00Z" })).toEqual({ fromMs: Date.UTC(2026, 11, 3, 12), toMs: Date.UTC(2026, 11, 3, 13) });
    expect(instantRangeSchema.parse({ from: "2026-12-03T12:00:00.500Z", to: "2026-12-03T14:00:00+01:00" })).toEqual({ fromMs: Date.UTC(2026, 11, 3, 12, 0, 0, 500), toMs: Date.UTC(2026, 11, 3, 13) });
  });

  it("names what is wrong, and only that", () => {
    expect(messages({ from: "2026-12-03T12Z", to: "2026-12-03 13:00" })).toEqual([
      "from: expected an ISO-8601 time with an offset or Z, e.g. 2026-12-03T12:00Z",
      "to: expected an ISO-8601 time with an offset or Z, e.g. 2026-12-03T12:00Z",
    ]);
    expect(messages({ from: "2026-12-03T12:00", to: "2026-12-03T13:00Z" })).toEqual(["from: expected an ISO-8601 time with an offset or Z, e.g. 2026-12-03T12:00Z"]);
    expect(messages({ from: "2026-12-03T13:00Z", to: "2026-12-03T12:00Z" })).toEqual(["to: from must be before to"]);
    expect(messages({ from: "2026-12-01T00:00Z", to: "2026-12-08T00:01Z" })).toEqual(["to: the range may be at most 7 days"]);
  });
});
