import { describe, expect, it } from "vitest";
import { ConfigError } from "../../lib/contract/config.ts";
import { GET as audit } from "./audit/route.ts";
import { GET as breakdown } from "./live/breakdown/route.ts";
import { GET as history } from "./live/history/route.ts";
import { GET as deadLetters } from "./pipeline/dead-letters/route.ts";
import { respond } from "./respond.ts";

const body = async (response: Response) => ({ status: response.status, ...((await response.json()) as object) });

// Input is parsed before any configuration or IO is touched: a bad parameter is a 400 whatever the environment.
describe("route handlers: parsing, validation and errors", () => {
  it("an unknown range is a 400 naming the parameter and the choices", async () => {
    for (const handler of [history, breakdown]) {
      const answer = await body(await handler(new Request("http://x/api/live/history?range=2h")));
      expect(answer).toMatchObject({ status: 400, error: { code: "bad_request" } });
      expect(JSON.stringify(answer)).toMatch(/range.*15m.*1h.*6h.*24h.*7d/);
    }
  });

  it("an out-of-range audit limit is a 400", async () => {
    for (const limit of ["0", "5000", "ten"]) expect((await audit(new Request(`http://x/api/audit?limit=${limit}`))).status).toBe(400);
  });

  it("a bad dead-letter page request is a 400 naming the parameter", async () => {
    for (const [query, name] of [["limit=0", "limit"], ["limit=9999", "limit"], ["before=0:1;1:2", "before"], ["before=x", "before"], ["code=", "code"]] as const) {
      const answer = await body(await deadLetters(new Request(`http://x/api/pipeline/dead-letters?${query}`)));
      expect(answer, query).toMatchObject({ status: 400, error: { code: "bad_request" } });
      expect(JSON.stringify(answer)).toContain(name);
    }
  });

  it("bad configuration is a 500 naming the variable; a failing upstream a 502 with its message", async () => {
    const config = await body(await respond(async () => { throw new ConfigError([{ variable: "INFLUX_URL", value: undefined, message: "is required", example: "http://localhost:8086" }]); }));
    expect(config).toMatchObject({ status: 500, error: { code: "config" } });
    expect(JSON.stringify(config)).toContain("INFLUX_URL");
    expect(await body(await respond(async () => { throw new Error("connect ECONNREFUSED 127.0.0.1:8086"); }))).toEqual({ status: 502, error: { code: "upstream", message: "connect ECONNREFUSED 127.0.0.1:8086" } });
    const ok = await respond(async () => ({ rows: [] }));
    expect([ok.status, ok.headers.get("cache-control"), await ok.json()]).toEqual([200, "no-store", { rows: [] }]);
  });
});
