/**
 * A worker that stops cleanly leaves its consumer group, so its restart is assigned partitions at once instead
 * of waiting for the old member's session to time out (KAFKA_SESSION_TIMEOUT, 30 s here on purpose).
 *
 * librdkafka's mock cluster cannot show this: after a LeaveGroup its coordinator still waits the session
 * timeout minus one second before it completes the next join (measured: 29 s with 30 s), exactly as if nobody
 * had left. The test runs against Apache Kafka from the test services and is skipped, saying why, on the mock.
 * Measured on Apache Kafka 4.1.1 (KRaft, group.initial.rebalance.delay.ms=0): metrics 3.8 s, lake 3.0 s after a
 * clean stop; the lake worker as it was (it gave LeaveGroup 1 s while the fetch in flight takes up to 5 s) 28.9 s.
 */
import { describe, expect, it } from "vitest";
import { sharedKafka } from "./support/kafka.ts";
import { servicesEnv } from "./support/processes.ts";
import { trackedWorker, type WorkerProcess } from "./support/workers.ts";

const SESSION_TIMEOUT_MS = 30_000;
/** Well under the session timeout: process start-up (tsx), topic checks and one group join. */
const JOIN_BOUND_MS = 12_000;

const onMockBroker = Boolean(servicesEnv().KAFKA_MOCK_CONTROL);

describe.skipIf(onMockBroker)("a clean stop leaves the consumer group (Apache Kafka only: the mock's coordinator waits a session timeout anyway)", () => {
  const cleanup: (() => Promise<unknown>)[] = [];

  async function assignedAfter(worker: WorkerProcess, pattern: RegExp): Promise<number> {
    const started = Date.now();
    await worker.waitForOutput(pattern, SESSION_TIMEOUT_MS + 20_000);
    return Date.now() - started;
  }

  for (const [script, group, assigned] of [
    ["workers/metrics.ts", "metrics", /partitions assigned/],
    ["workers/lake.ts", "lake", /partitions assigned/],
  ] as const) {
    it(`${script}: a restart after SIGTERM is assigned partitions within ${JOIN_BOUND_MS / 1000} s (session timeout ${SESSION_TIMEOUT_MS / 1000} s)`, async () => {
      const { INFLUX_URL } = servicesEnv();
      const cluster = await sharedKafka(`leave-${group}`, { orders: 8 }, cleanup);
      const env = { ...cluster.env, INFLUX_URL, INFLUX_DB: `leave_${process.pid}`, LAKE_DIR: `/tmp/orderpulse-leave-${process.pid}`, KAFKA_SESSION_TIMEOUT: "30s", LOG_LEVEL: "info" };
      try {
        const first = trackedWorker(cleanup, script, env);
        await assignedAfter(first, assigned);
        expect(await first.kill("SIGTERM"), first.output.slice(-2000)).toBe(0);
        const second = trackedWorker(cleanup, script, env);
        const ms = await assignedAfter(second, assigned);
        expect(ms, `${cluster.groupPrefix}-${group}: ${second.output.slice(-2000)}`).toBeLessThan(JOIN_BOUND_MS);
        expect(await second.kill("SIGTERM")).toBe(0);
      } finally {
        for (const step of cleanup.splice(0).reverse()) await step();
      }
    });
  }
});
