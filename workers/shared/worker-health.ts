/**
 * Reads each configured worker's /healthz and /metrics (WORKER_HEALTH_URLS) for the Pipeline
 * page, concurrently, each with a short timeout: an unreachable worker is a row with the reason,
 * never a failed page.
 */
import { offsetGapsOf, readHealthz, type WorkerHealth } from "../../lib/web/worker-health.ts";

export async function readWorkerHealth(workers: { name: string; url: string }[], timeoutMs = 2_000, fetchImpl: typeof fetch = fetch): Promise<WorkerHealth[]> {
  return Promise.all(
    workers.map(async ({ name, url }): Promise<WorkerHealth> => {
      const get = (path: string) => fetchImpl(`${url}${path}`, { signal: AbortSignal.timeout(timeoutMs), cache: "no-store" });
      const [health, metrics] = await Promise.allSettled([get("/healthz").then(async (r) => ({ status: r.status, body: await r.text() })), get("/metrics").then(async (r) => (r.ok ? r.text() : ""))]);
      const gaps = metrics.status === "fulfilled" ? offsetGapsOf(metrics.value) : null;
      if (health.status === "rejected") {
        const error = health.reason as Error & { cause?: { code?: string; message?: string } };
        const why = error.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (error.cause?.code ?? error.cause?.message ?? error.message);
        return { name, url, reachable: false, status: null, reason: `unreachable: ${why}`, offsetGaps: gaps };
      }
      return { name, url, ...readHealthz(health.value.status, health.value.body), offsetGaps: gaps };
    }),
  );
}
