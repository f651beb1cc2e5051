import { createServer } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { WebhookPoster } from "./webhook.ts";

/** A loopback receiver answering each post with the next status of `statuses` (then 200). */
async function receiver(statuses: number[]) {
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const status = statuses.shift() ?? 200;
      if (status === 200) bodies.push(JSON.parse(body));
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, bodies, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` };
}

const servers: { close(): void }[] = [];
afterAll(() => servers.forEach((s) => s.close()));

function poster(url: string, delays: number[], errors: string[]) {
  return new WebhookPoster(url, { log: { warn: () => undefined, error: (f) => void errors.push((f as { err: string }).err) }, attempts: 4, baseDelayMs: 100, maxDelayMs: 250, sleep: async (ms) => void delays.push(ms) });
}

describe("WebhookPoster", () => {
  it("retries 5xx and 429 with capped exponential backoff, delivering in order", async () => {
    const r = await receiver([503, 429, 200]);
    servers.push(r.server);
    const delays: number[] = [];
    const errors: string[] = [];
    const hook = poster(r.url, delays, errors);
    void hook.post({ n: 1 });
    void hook.post({ n: 2 });
    await hook.drain();
    expect(r.bodies).toEqual([{ n: 1 }, { n: 2 }]);
    expect(delays).toEqual([100, 200]);
    expect(errors).toEqual([]);
  });

  it("does not retry a 4xx refusal, and gives up after its attempts: both logged, later posts still go", async () => {
    const r = await receiver([400, 500, 500, 500, 500]);
    servers.push(r.server);
    const delays: number[] = [];
    const errors: string[] = [];
    const hook = poster(r.url, delays, errors);
    void hook.post({ n: 1 });
    void hook.post({ n: 2 });
    void hook.post({ n: 3 });
    await hook.drain();
    expect(errors[0]).toMatch(/after 1 attempt\(s\): HTTP 400 \(not retried\)/);
    expect(errors[1]).toMatch(/after 4 attempt\(s\): HTTP 500/);
    expect(delays).toEqual([100, 200, 250]);
    expect(r.bodies).toEqual([{ n: 3 }]);
    expect([hook.delivered, hook.failed]).toEqual([1, 2]);
  });
});
