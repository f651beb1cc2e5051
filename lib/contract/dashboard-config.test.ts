import { describe, expect, it } from "vitest";
import { ConfigError, dashboardEnvSchema, readConfig } from "./config.ts";

describe("dashboard configuration", () => {
  it("no token: no access control; an empty variable is unset", () => {
    expect(readConfig(dashboardEnvSchema, {})).toEqual({ secrets: [], feedPublicUrl: undefined });
    expect(readConfig(dashboardEnvSchema, { DASHBOARD_TOKEN: "" }).secrets).toEqual([]);
  });

  it("token and password both open it; the feed URL is kept", () => {
    expect(readConfig(dashboardEnvSchema, { DASHBOARD_TOKEN: "t".repeat(16), DASHBOARD_PASSWORD: "password1", FEED_PUBLIC_URL: "https://feed.example.com" })).toEqual({
      secrets: ["t".repeat(16), "password1"],
      feedPublicUrl: "https://feed.example.com",
    });
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
