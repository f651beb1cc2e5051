import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import {
  advanceAlerts,
  alertPoint,
  AlertRulesError,
  counterIncrease,
  evaluateRules,
  resolveAlertRules,
  restoredStates,
  webhookBody,
  type AlertInputs,
  type AlertRules,
  type AlertState,
  type PipelineRow,
} from "./alert-rules.ts";

const DEFAULTS_FILE = join(import.meta.dirname, "../../workers/alert-rules.default.yaml");
const defaults = () => resolveAlertRules({ file: DEFAULTS_FILE, data: parse(readFileSync(DEFAULTS_FILE, "utf8")) });
const T0 = Date.parse("2026-11-20T10:00:00Z");

/** Samples every 5 s of one partition, as the metrics worker writes them. */
function samples(worker: string, partition: string, from: number, to: number, at: (t: number) => Omit<PipelineRow, "worker" | "partition" | "at">): PipelineRow[] {
  const rows: PipelineRow[] = [];
  for (let t = from; t <= to; t += 5_000) rows.push({ worker, partition, at: t, ...at(t) });
  return rows;
}

function inputs(now: number, pipeline: PipelineRow[], recentOrders = 100): AlertInputs {
  const last = new Map<string, { worker: string; partition: string; at: number }>();
  for (const p of pipeline) if (p.at <= now) last.set(`${p.worker}/${p.partition}`, { worker: p.worker, partition: p.partition, at: Math.max(p.at, last.get(`${p.worker}/${p.partition}`)?.at ?? 0) });
  return { now, pipeline: pipeline.filter((p) => p.at <= now), lastSeen: [...last.values()], recentOrders };
}

const healthy = (t: number) => ({ lag: 0, watermark: t - 120_000, consumed: (t - T0) / 100, invalid: 0, late: 0, refused_points: 0 });

describe("alert rules file", () => {
  it("ships the defaults the issue lists", () => {
    const r = defaults();
    expect(r.interval).toBe(10_000);
    expect(r.rules.dead_letter_rate).toEqual({ enabled: true, share: 0.05, window: 60_000, for: 60_000 });
    expect(r.rules.no_orders.for).toBe(300_000);
    expect(r.rules.consumer_lag).toEqual({ enabled: true, messages: 10_000, seconds: 60, window: 60_000, for: 120_000 });
    expect(r.rules.watermark_delay).toEqual({ enabled: true, max: 300_000, for: 120_000 });
    expect(r.rules.late_rate).toMatchObject({ share: 0.05, window: 300_000 });
    expect(r.rules.refused_points.for).toBe(60_000);
    expect(r.rules.worker_unhealthy.for).toBe(60_000);
  });

  it("an override changes only the fields it names, and bad ones are named", () => {
    const data = parse(readFileSync(DEFAULTS_FILE, "utf8"));
    const r = resolveAlertRules({ file: DEFAULTS_FILE, data }, { file: "ops.yaml", data: { interval: "1s", rules: { consumer_lag: { messages: 5 }, no_orders: { enabled: false } } } });
    expect(r.interval).toBe(1_000);
    expect(r.rules.consumer_lag).toMatchObject({ messages: 5, seconds: 60, for: 120_000 });
    expect(r.rules.no_orders.enabled).toBe(false);
    expect(() => resolveAlertRules({ file: DEFAULTS_FILE, data }, { file: "ops.yaml", data: { rules: { consumer_lagg: {} } } })).toThrow(/ops\.yaml: rules: Unrecognized key: "consumer_lagg"/);
    expect(() => resolveAlertRules({ file: DEFAULTS_FILE, data }, { file: "ops.yaml", data: { rules: { late_rate: { share: 5 } } } })).toThrow(AlertRulesError);
    expect(() => resolveAlertRules({ file: DEFAULTS_FILE, data }, { file: "ops.yaml", data: { rules: { late_rate: { share: 5 } } } })).toThrow(/rules\.late_rate\.share/);
  });
});

describe("counterIncrease", () => {
  it("sums rises from the baseline before the window and counts a restart from zero", () => {
    const s: PipelineRow[] = [10, 20, 30, 5, 15].map((consumed, i) => ({ worker: "metrics", partition: "0", at: T0 + i * 5_000, consumed }));
    expect(counterIncrease(s, "consumed", T0 + 5_000)).toBe(10 + 5 + 10);
    expect(counterIncrease(s, "consumed", T0 - 1)).toBe(10 + 10 + 5 + 10);
  });

  it("equals a brute-force sum of per-step increases (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1_000), { minLength: 1, maxLength: 30 }), fc.nat(30), (values, cut) => {
        const s = values.map((consumed, i) => ({ worker: "w", partition: "0", at: i * 1_000, consumed }));
        const from = cut * 1_000;
        let expected = 0;
        const start = Math.max(0, Math.min(cut, values.length - 1));
        for (let i = start + 1; i < values.length; i++) expected += values[i]! >= values[i - 1]! ? values[i]! - values[i - 1]! : values[i]!;
        expect(counterIncrease(s, "consumed", from)).toBe(expected);
      }),
    );
  });
});

describe("evaluateRules", () => {
  it("a healthy pipeline activates nothing", () => {
    const now = T0 + 600_000;
    const pipeline = [...samples("metrics", "0", T0, now, healthy), ...samples("metrics", "1", T0, now, healthy)];
    expect(evaluateRules(defaults(), inputs(now, pipeline)).filter((o) => o.active)).toEqual([]);
  });

  it("consumer lag is one alert per worker group, above messages or seconds behind", () => {
    const now = T0 + 300_000;
    const lagging = (t: number) => ({ ...healthy(t), lag: 6_000 });
    const pipeline = [...samples("metrics", "0", T0, now, lagging), ...samples("metrics", "1", T0, now, lagging)];
    const lag = evaluateRules(defaults(), inputs(now, pipeline)).filter((o) => o.rule === "consumer_lag");
    expect(lag).toHaveLength(1);
    expect(lag[0]).toMatchObject({ group: "metrics", active: true, value: 12_000, threshold: 10_000 });
    // Below the message limit but consuming slowly: 3,000 waiting at 10 msg/s is 300 s behind.
    const slow = [...samples("metrics", "0", T0, now, (t) => ({ ...healthy(t), lag: 3_000 }))];
    const behind = evaluateRules(defaults(), inputs(now, slow)).find((o) => o.rule === "consumer_lag")!;
    expect(behind.active).toBe(true);
    expect(behind.detail).toMatch(/~300 s behind/);
    // A worker's first sample gives no rate: lag below the limit is not "not consuming" yet; a second sample without progress is.
    const first = [{ worker: "metrics", partition: "0", at: now - 1_000, lag: 26, consumed: 500, invalid: 0 }];
    expect(evaluateRules(defaults(), inputs(now, first)).find((o) => o.rule === "consumer_lag")).toMatchObject({ active: false, detail: expect.stringMatching(/rate not known yet/) });
    const stuck = [{ ...first[0]!, at: now - 6_000 }, ...first];
    expect(evaluateRules(defaults(), inputs(now, stuck)).find((o) => o.rule === "consumer_lag")).toMatchObject({ active: true, detail: expect.stringMatching(/not consuming/) });
  });

  it("consumer lag of a partition that stopped reporting comes from Kafka: its processed position and how long the oldest message waited", () => {
    const now = T0 + 300_000;
    // Partition 0 reports (lag 0); partition 1's last point is 60 s old (past worker_unhealthy.stale, 30 s): its worker stopped.
    const pipeline = [...samples("metrics", "0", T0, now, healthy), ...samples("metrics", "1", T0, now - 60_000, (t) => ({ ...healthy(t), lag: 5 }))];
    const kafka = (lag: number, waitedMs: number): AlertInputs["kafkaLag"] => [
      { ok: true, worker: "metrics", partitions: [{ partition: 0, lag: 99_999, from: "processed", waitedMs: 0, waitedAtLeast: false }, { partition: 1, lag, from: "processed", waitedMs, waitedAtLeast: false }] },
    ];
    const observe = (k: AlertInputs["kafkaLag"]) => evaluateRules(defaults(), { ...inputs(now, pipeline), kafkaLag: k }).find((o) => o.rule === "consumer_lag")!;
    // A reporting partition keeps its own figure (Kafka's 99,999 for partition 0 is ignored); the stopped one counts Kafka's.
    expect(observe(kafka(400, 20_000))).toMatchObject({ active: false, value: 400 });
    expect(observe(kafka(400, 61_000))).toMatchObject({ active: true, value: 400 });
    expect(observe(kafka(400, 61_000)).detail).toMatch(/400 from Kafka on partition\(s\) 1 that stopped reporting, the oldest waiting 61 s/);
    expect(observe(kafka(10_001, 1_000))).toMatchObject({ active: true, value: 10_001 });
    // Kafka refused (an ACL): the stale points count as they did, and the detail says why.
    const refused = observe([{ ok: false, worker: "metrics", reason: "KafkaJSProtocolError: Not authorized to access group" }]);
    expect(refused).toMatchObject({ value: 5 });
    expect(refused.detail).toMatch(/Kafka's figure unavailable: KafkaJSProtocolError: Not authorized/);
    // A metrics worker that never reported in the last hour is still watched through Kafka.
    const never = evaluateRules(defaults(), { ...inputs(now, []), kafkaLag: kafka(20_000, 0) }).find((o) => o.rule === "consumer_lag")!;
    expect(never).toMatchObject({ group: "metrics", active: true, value: 119_999 });
  });

  it("dead-letter and late rates are shares of input over their windows", () => {
    const now = T0 + 600_000;
    // 10 msg/s; from now-60s on, 1 in 10 is invalid.
    const spike = (t: number) => ({ ...healthy(t), invalid: Math.max(0, (t - (now - 60_000)) / 1_000) });
    const o = evaluateRules(defaults(), inputs(now, samples("metrics", "0", T0, now, spike)));
    expect(o.find((x) => x.rule === "dead_letter_rate")).toMatchObject({ active: true, value: 0.1, threshold: 0.05 });
    const lateSpike = (t: number) => ({ ...healthy(t), late: (t - T0) / 1_000 });
    expect(evaluateRules(defaults(), inputs(now, samples("metrics", "0", T0, now, lateSpike))).find((x) => x.rule === "late_rate")).toMatchObject({ active: true, value: 0.1 });
  });

  it("watermark delay, refused points and a worker that stopped reporting", () => {
    const now = T0 + 600_000;
    const stuck = (t: number) => ({ ...healthy(t), watermark: T0 });
    const o = evaluateRules(defaults(), inputs(now, samples("metrics", "0", T0, now, stuck)));
    expect(o.find((x) => x.rule === "watermark_delay")).toMatchObject({ active: true, value: 600, threshold: 300 });
    const refusing = (t: number) => ({ ...healthy(t), refused_points: t > now - 30_000 ? 2 : 0 });
    expect(evaluateRules(defaults(), inputs(now, samples("metrics", "0", T0, now, refusing))).find((x) => x.rule === "refused_points")).toMatchObject({ active: true, value: 2 });
    // Partition 1 stopped reporting 2 minutes ago.
    const pipeline = [...samples("metrics", "0", T0, now, healthy), ...samples("metrics", "1", T0, now - 120_000, healthy)];
    const unhealthy = evaluateRules(defaults(), inputs(now, pipeline)).find((x) => x.rule === "worker_unhealthy")!;
    expect(unhealthy).toMatchObject({ active: true, value: 1 });
    expect(unhealthy.detail).toMatch(/partition\(s\) 1$/);
  });

  it("no orders says whether the shop or the pipeline stalled", () => {
    const now = T0 + 600_000;
    const quiet = (t: number) => ({ ...healthy(t), consumed: 100 });
    const shop = evaluateRules(defaults(), inputs(now, samples("metrics", "0", T0, now, quiet), 0)).find((x) => x.rule === "no_orders")!;
    expect(shop).toMatchObject({ active: true, group: "all" });
    expect(shop.detail).toMatch(/the shop itself is quiet/);
    const waiting = (t: number) => ({ ...quiet(t), lag: 50 });
    expect(evaluateRules(defaults(), inputs(now, samples("metrics", "0", T0, now, waiting), 0)).find((x) => x.rule === "no_orders")!.detail).toMatch(/pipeline is stalled \(messages are waiting/);
    expect(evaluateRules(defaults(), inputs(now, [], 0)).find((x) => x.rule === "no_orders")!.detail).toMatch(/no worker reports/);
  });
});

describe("advanceAlerts", () => {
  const rules: AlertRules = defaults();
  const obs = (active: boolean, value = 1) => [{ rule: "dead_letter_rate" as const, group: "metrics", active, value, threshold: 0.05, unit: "share" as const, detail: "d" }];

  it("fires once after its for-duration, stays quiet while firing, resolves once", () => {
    let states = new Map<string, AlertState>();
    const all: string[] = [];
    const step = (t: number, active: boolean) => {
      const next = advanceAlerts(rules, states, obs(active), T0 + t);
      states = next.states;
      all.push(...next.changes.map((c) => `${c.state}@${c.at - T0}`));
    };
    for (let t = 0; t < 60_000; t += 10_000) step(t, true);
    expect(all).toEqual([]);
    for (let t = 60_000; t < 200_000; t += 10_000) step(t, true);
    for (let t = 200_000; t < 300_000; t += 10_000) step(t, false);
    expect(all).toEqual(["firing@60000", "resolved@200000"]);
    // A blip shorter than `for` never fires.
    step(300_000, true);
    step(310_000, false);
    expect(all).toHaveLength(2);
  });

  it("the webhook body and the alert point carry the contract's fields", () => {
    const firing = advanceAlerts({ ...rules, rules: { ...rules.rules, dead_letter_rate: { ...rules.rules.dead_letter_rate, for: 0 } } }, new Map(), obs(true, 0.2), T0).changes[0]!;
    const body = webhookBody(firing);
    expect(body).toMatchObject({ rule: "dead_letter_rate", state: "firing", value: 0.2, threshold: 0.05, since: "2026-11-20T10:00:00.000Z", group: "metrics" });
    expect(String(body.text)).toMatch(/^:rotating_light: \[FIRING\] dead_letter_rate \(metrics\)/);
    const point = alertPoint(firing);
    expect(point).toMatchObject({ measurement: "alert", tags: { rule: "dead_letter_rate", group: "metrics" }, fields: { firing: { type: "int", value: 1 } } });
    const restored = restoredStates([{ rule: "dead_letter_rate", group: "metrics", firing: 1, since: T0, value: 0.2, threshold: 0.05 }]);
    expect(advanceAlerts(rules, restored, obs(true), T0 + 5_000).changes).toEqual([]);
    expect(advanceAlerts(rules, restored, obs(false), T0 + 5_000).changes.map((c) => c.state)).toEqual(["resolved"]);
  });

  it("changes alternate firing/resolved per key and never repeat, whatever the observations (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 80 }), fc.integer({ min: 0, max: 6 }), (actives, forSteps) => {
        const r = { ...rules, rules: { ...rules.rules, dead_letter_rate: { ...rules.rules.dead_letter_rate, for: forSteps * 1_000 } } };
        let states = new Map<string, AlertState>();
        const seen: string[] = [];
        // Oracle: a run of `true` fires at its (forSteps+1)-th step; resolves on the first `false` after firing.
        const expected: string[] = [];
        let run = 0;
        let firing = false;
        actives.forEach((active, i) => {
          const next = advanceAlerts(r, states, obs(active), i * 1_000);
          states = next.states;
          seen.push(...next.changes.map((c) => `${c.state}@${i}`));
          run = active ? run + 1 : 0;
          if (active && !firing && run - 1 >= forSteps) {
            firing = true;
            expected.push(`firing@${i}`);
          } else if (!active && firing) {
            firing = false;
            expected.push(`resolved@${i}`);
          }
        });
        expect(seen).toEqual(expected);
      }),
    );
  });
});
