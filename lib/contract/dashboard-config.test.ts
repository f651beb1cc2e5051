import { describe, expect, it } from "vitest";
import { ConfigError, dashboardEnvSchema, readConfig } from "./config.ts";

describe("dashboard configuration", () => {
  it("no token: no access control; an empty variable is unset", () => {
    expect(readConfig(dashboardEnvSchema, {})).toEqual({ secrets: [], feedPublicUrl: undefined, workerHealth: [] });
    expect(readConfig(dashboardEnvSchema, { DASHBOARD_TOKEN: "" }).secrets).toEqual([]);
  });

  it("token and password both open it; the feed URL is kept", () => {
    expect(readConfig(dashboardEnvSchema, { DASHBOARD_TOKEN: "t".repeat(16), DASHBOARD_PASSWORD: "password1", FEED_PUBLIC_URL: "https://feed.example.com" })).toEqual({
      secrets: ["t".repeat(16), "password1"],
      feedPublicUrl: "https://feed.example.com",
      workerHealth: [],
    });
  });

  it("WORKER_HEALTH_URLS: name=URL pairs in order, trailing slashes dropped; a bad pair or a repeated name names the variable", () => {
    expect(readConfig(dashboardEnvSchema, { WORKER_HEALTH_URLS: " metrics=http://metrics:9464/ , lake=https://lake.example.com:9465" }).workerHealth).toEqual([
      { name: "metrics", url: "http://metrics:9464" },
      { name: "lake", url: "https://lake.example.com:9465" },
    ]);
    for (const bad of ["metrics", "metrics=ftp://x:1", "Metrics=http://x:1", "metrics=http://a:1,metrics=http://b:2", "=http://x:1"]) {
      expect(() => readConfig(dashboardEnvSchema, { WORKER_HEALTH_URLS: bad }), bad).toThrow(/WORKER_HEALTH_URLS/);
    }
  });

  it("a short token, a short password or a bad URL names its variable", () => {
    const problems = (() => {
      try {
        readConfig(dashboardEnvSchema, { DASHBOARD_TOKEN: "short", DASHBOARD_PASSWORD: "1234", FEED_PUBLIC_URL: "not a url" });
      } catch (error) {
        return (error as ConfigError).problems.map((p) => p.variable).sort();
      }
      return [];
    })();
    expect(problems).toEqual(["DASHBOARD_PASSWORD", "DASHBOARD_TOKEN", "FEED_PUBLIC_URL"]);
  });
});
