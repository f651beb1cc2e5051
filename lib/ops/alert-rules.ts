import { z } from "zod";
import { formatDuration, parseDuration } from "../contract/duration.ts";
import { MEASUREMENTS, type InfluxPoint } from "../hot/influx-points.ts";
import type { KafkaLag } from "./consumer-lag.ts";

/**
 * Alert rules over InfluxDB's `pipeline` and window measurements (design.md,
 * "Operations"; issue 12): each rule has a threshold and a "for" duration; an
 * alert is keyed by rule and group (the `worker` tag of `pipeline`, i.e. one
 * consumer group, or `all`), so a lagging group of partitions is one alert, never
 * one per partition. Pure: samples and time come in, state changes go out.
 *
 * `pipeline` fields are counters since the writing worker started (consumed,
 * invalid, late, refused_points): rates are increases over a window, and a counter
 * that drops (the worker restarted) counts from zero again.
 */

export const ALERT_RULE_IDS = ["consumer_lag", "watermark_delay", "dead_letter_rate", "late_rate", "no_orders", "refused_points", "worker_unhealthy"] as const;
export type AlertRuleId = (typeof ALERT_RULE_IDS)[number];

const duration = z.string().transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});
const share = z.number().gt(0).lt(1);
const common = { enabled: z.boolean(), for: duration };

/** The rules file, every field required: the defaults file (workers/alert-rules.default.yaml) must say everything. */
export const alertRulesSchema = z
  .object({
    /** How often rules are evaluated. */
    interval: duration.pipe(z.number().min(100, "at least 100ms")),
    rules: z
      .object({
        consumer_lag: z.object({ ...common, messages: z.number().int().min(0), seconds: z.number().min(0), window: duration }).strict(),
        watermark_delay: z.object({ ...common, max: duration }).strict(),
        dead_letter_rate: z.object({ ...common, share, window: duration }).strict(),
        late_rate: z.object({ ...common, share, window: duration }).strict(),
        no_orders: z.object({ ...common, window: duration }).strict(),
        refused_points: z.object({ ...common, window: duration }).strict(),
        worker_unhealthy: z.object({ ...common, stale: duration }).strict(),
      })
      .strict(),
  })
  .strict();
export type AlertRules = z.output<typeof alertRulesSchema>;

/** An override file (ALERT_RULES): the same shape, every field optional; unknown rules or fields are errors. */
export const alertRulesOverrideSchema = z
  .object({
    interval: z.string().optional(),
    rules: z
      .object(Object.fromEntries(ALERT_RULE_IDS.map((id) => [id, z.record(z.string(), z.unknown()).optional()])) as Record<AlertRuleId, z.ZodOptional<z.ZodRecord<z.ZodString, z.ZodUnknown>>>)
      .strict()
      .optional(),
  })
  .strict();

export class AlertRulesError extends Error {
  override name = "AlertRulesError";
  constructor(readonly file: string, readonly problems: string[]) {
    super(`alert rules ${file}: ${problems.join("; ")}`);
  }
}

const issues = (error: z.ZodError) => error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`);

/**
 * The effective rules: the defaults (raw, as parsed from YAML) with an override's
 * fields laid over them rule by rule, then validated. Throws AlertRulesError naming
 * the file and every problem.
 */
export function resolveAlertRules(defaults: { file: string; data: unknown }, override?: { file: string; data: unknown }): AlertRules {
  let merged = defaults.data;
  if (override) {
    const parsed = alertRulesOverrideSchema.safeParse(override.data ?? {});
    if (!parsed.success) throw new AlertRulesError(override.file, issues(parsed.error));
    const base = (defaults.data ?? {}) as { interval?: unknown; rules?: Record<string, object> };
    const rules = { ...base.rules };
    for (const [id, fields] of Object.entries(parsed.data.rules ?? {})) rules[id] = { ...rules[id], ...fields };
    merged = { ...base, ...(parsed.data.interval === undefined ? {} : { interval: parsed.data.interval }), rules };
  }
  const result = alertRulesSchema.safeParse(merged);
  if (!result.success) throw new AlertRulesError(override?.file ?? defaults.file, issues(result.error));
  return result.data;
}

/** One `pipeline` point as read back (fields missing from a point are undefined). */
export interface PipelineRow {
  worker: string;
  partition: string;
  /** Epoch ms. */
  at: number;
  lag?: number;
  /** Epoch ms. */
  watermark?: number;
  consumed?: number;
  invalid?: number;
  late?: number;
  refused_points?: number;
}

export interface AlertInputs {
  /** Epoch ms of the evaluation. */
  now: number;
  /** `pipeline` points of the last `lookbackMs(rules)`. */
  pipeline: PipelineRow[];
  /** The newest `pipeline` point of every (worker, partition) of the last hour: a series that stopped is an unhealthy worker. */
  lastSeen: { worker: string; partition: string; at: number }[];
  /** Orders in `order_window` windows starting in the last `no_orders.window`. */
  recentOrders: number;
  /** Consumer lag as Kafka sees it, per pipeline worker (workers/ops/alert-inputs.ts); absent when Kafka is not configured. */
  kafkaLag?: KafkaLag[];
}

/** How far back `pipeline` points are needed: the longest window, plus one sample period of slack for the baseline. */
export function lookbackMs(rules: AlertRules): number {
  const r = rules.rules;
  return Math.max(r.consumer_lag.window, r.dead_letter_rate.window, r.late_rate.window, r.refused_points.window, r.worker_unhealthy.stale, r.no_orders.window) + 30_000;
}

export type AlertUnit = "messages" | "s" | "share" | "points" | "orders" | "partitions";

/** The unit of each rule's value and threshold. */
export const RULE_UNITS: Record<AlertRuleId, AlertUnit> = {
  consumer_lag: "messages",
  watermark_delay: "s",
  dead_letter_rate: "share",
  late_rate: "share",
  no_orders: "orders",
  refused_points: "points",
  worker_unhealthy: "partitions",
};

/** A rule's reading for one group at one evaluation. */
export interface Observation {
  rule: AlertRuleId;
  group: string;
  active: boolean;
  value: number;
  threshold: number;
  unit: AlertUnit;
  /** What the value means, for the message. */
  detail: string;
}

type Series = PipelineRow[];

function seriesByWorker(rows: readonly PipelineRow[]): Map<string, Series[]> {
  const byKey = new Map<string, Series>();
  for (const row of rows) {
    const key = `${row.worker}\u0000${row.partition}`;
    let series = byKey.get(key);
    if (!series) byKey.set(key, (series = []));
    series.push(row);
  }
  const byWorker = new Map<string, Series[]>();
  for (const series of byKey.values()) {
    series.sort((a, b) => a.at - b.at);
    const worker = series[0]!.worker;
    byWorker.set(worker, [...(byWorker.get(worker) ?? []), series]);
  }
  return byWorker;
}

type Counter = "consumed" | "invalid" | "late" | "refused_points";

/**
 * A counter's increase over (fromMs, now]: from the last sample at or before fromMs
 * (or the first one after it), adding each rise; a drop is a restart, which counts from 0.
 */
export function counterIncrease(series: Series, field: Counter, fromMs: number): number {
  const points = series.filter((p) => p[field] !== undefined);
  let start = points.findLastIndex((p) => p.at <= fromMs);
  if (start < 0) start = 0;
  let increase = 0;
  for (let i = start + 1; i < points.length; i++) {
    const previous = points[i - 1]![field]!;
    const current = points[i]![field]!;
    increase += current >= previous ? current - previous : current;
  }
  return increase;
}

const latest = (series: Series, field: keyof PipelineRow) => series.findLast((p) => p[field] !== undefined);
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * `consumer_lag` for one worker: messages waiting, and how far behind. A partition whose worker
 * reports (a `pipeline` point within `worker_unhealthy.stale`) counts the worker's own lag, behind
 * at the rate it consumed over `window`. A partition that stopped reporting (the worker is down, so
 * its last point goes stale) counts Kafka's figure instead (lib/ops/consumer-lag.ts): log end − the
 * processed position its commit metadata records (not the committed offset, which trails by the
 * de-duplication horizon), behind by how long the oldest unprocessed message has waited, from the
 * log ends sampled at each evaluation. Without Kafka's figure (not configured, or refused: an ACL),
 * the stale points count as before and the detail says why.
 */
function consumerLag(rules: AlertRules, input: AlertInputs, worker: string, all: Series[], consumedPerSecond: number): Observation {
  const rule = rules.rules.consumer_lag;
  const reportingSince = input.now - rules.rules.worker_unhealthy.stale;
  const reporting = all.filter((s) => s.at(-1)!.at > reportingSince);
  const kafka = input.kafkaLag?.find((k) => k.worker === worker);
  const reportingPartitions = new Set(reporting.map((s) => s[0]!.partition));
  const fromKafka = kafka?.ok ? kafka.partitions.filter((p) => !reportingPartitions.has(String(p.partition))) : [];
  const own = kafka?.ok ? reporting : all;
  const ownLag = sum(own.map((s) => latest(s, "lag")?.lag ?? 0));
  const kafkaLag = sum(fromKafka.map((p) => p.lag));
  const lag = ownLag + kafkaLag;
  // One sample gives no rate (a worker that just started): not "not consuming", which would fire at once.
  const rateKnown = own.some((s) => s.filter((p) => p.consumed !== undefined).length >= 2);
  const ownBehind = ownLag === 0 || (consumedPerSecond === 0 && !rateKnown) ? 0 : consumedPerSecond > 0 ? ownLag / consumedPerSecond : Number.POSITIVE_INFINITY;
  const waiting = fromKafka.filter((p) => p.lag > 0);
  const oldest = waiting.sort((a, b) => b.waitedMs - a.waitedMs)[0];
  const secondsBehind = Math.max(ownBehind, (oldest?.waitedMs ?? 0) / 1000);
  const parts = [
    ...(own.length > 0 || fromKafka.length === 0
      ? [!Number.isFinite(ownBehind) ? "not consuming" : rateKnown || ownLag === 0 ? `~${Math.round(ownBehind)} s behind at ${consumedPerSecond.toFixed(1)} msg/s` : "consumption rate not known yet (one sample)"]
      : []),
    ...(waiting.length > 0
      ? [`${kafkaLag} from Kafka on partition(s) ${waiting.map((p) => p.partition).sort((a, b) => a - b).join(", ")} that stopped reporting, the oldest waiting ${oldest!.waitedAtLeast ? "at least " : ""}${Math.round(oldest!.waitedMs / 1000)} s${waiting.some((p) => p.from !== "processed") ? " (measured from the committed offset: no processed position in the commit)" : ""}`]
      : []),
    ...(kafka && !kafka.ok ? [`Kafka's figure unavailable: ${kafka.reason}`] : []),
  ];
  return {
    rule: "consumer_lag",
    group: worker,
    active: lag > rule.messages || secondsBehind > rule.seconds,
    value: lag,
    threshold: rule.messages,
    unit: "messages",
    detail: `lag ${lag} messages (${parts.join("; ")}; limits ${rule.messages} messages or ${rule.seconds} s)`,
  };
}

/** Every enabled rule's observation per group. Groups: each `worker` of the pipeline points (no_orders: `all`). */
export function evaluateRules(rules: AlertRules, input: AlertInputs): Observation[] {
  const { now } = input;
  const r = rules.rules;
  const observations: Observation[] = [];
  const workers = seriesByWorker(input.pipeline);
  const increase = (all: Series[], field: Counter, windowMs: number) => sum(all.map((s) => counterIncrease(s, field, now - windowMs)));
  const workerNames = [...new Set([...workers.keys(), ...input.lastSeen.map((s) => s.worker), ...(input.kafkaLag ?? []).filter((k) => k.ok).map((k) => k.worker)])].sort();

  for (const worker of workerNames) {
    const all = workers.get(worker) ?? [];
    if (r.consumer_lag.enabled) observations.push(consumerLag(rules, input, worker, all, increase(all, "consumed", r.consumer_lag.window) / (r.consumer_lag.window / 1000)));
    if (r.watermark_delay.enabled) {
      const delays = all.map((s) => latest(s, "watermark")).filter((p) => p !== undefined).map((p) => ({ partition: p.partition, delay: now - p.watermark! }));
      const worst = delays.sort((a, b) => b.delay - a.delay)[0];
      if (worst) {
        observations.push({
          rule: "watermark_delay",
          group: worker,
          active: worst.delay > r.watermark_delay.max,
          value: Math.round(worst.delay / 1000),
          threshold: r.watermark_delay.max / 1000,
          unit: "s",
          detail: `watermark ${Math.round(worst.delay / 1000)} s behind the wall clock on partition ${worst.partition} (limit ${formatDuration(r.watermark_delay.max)})`,
        });
      }
    }
    for (const id of ["dead_letter_rate", "late_rate"] as const) {
      const rule = r[id];
      if (!rule.enabled) continue;
      const consumed = increase(all, "consumed", rule.window);
      const invalid = increase(all, "invalid", rule.window);
      const part = id === "dead_letter_rate" ? invalid : increase(all, "late", rule.window);
      const input = id === "dead_letter_rate" ? consumed : consumed - invalid;
      const value = input > 0 ? part / input : 0;
      const what = id === "dead_letter_rate" ? "dead-lettered (invalid)" : "late";
      observations.push({
        rule: id,
        group: worker,
        active: value > rule.share,
        value: Math.round(value * 10_000) / 10_000,
        threshold: rule.share,
        unit: "share",
        detail: `${percent(value)} of ${input} orders ${what} in the last ${formatDuration(rule.window)} (limit ${percent(rule.share)})`,
      });
    }
    if (r.refused_points.enabled) {
      const refused = increase(all, "refused_points", r.refused_points.window);
      observations.push({
        rule: "refused_points",
        group: worker,
        active: refused > 0,
        value: refused,
        threshold: 0,
        unit: "points",
        detail: `InfluxDB refused ${refused} points as malformed in the last ${formatDuration(r.refused_points.window)} (they are dropped)`,
      });
    }
    if (r.worker_unhealthy.enabled) {
      const stale = input.lastSeen.filter((s) => s.worker === worker && now - s.at > r.worker_unhealthy.stale).map((s) => s.partition);
      // Stalled: messages wait, yet nothing was consumed over the whole stale period (lib/ops/health.ts's rule, read from InfluxDB).
      const stalled = all
        .filter((s) => (latest(s, "lag")?.lag ?? 0) > 0 && s[0]!.at <= now - r.worker_unhealthy.stale && counterIncrease(s, "consumed", now - r.worker_unhealthy.stale) === 0)
        .map((s) => s[0]!.partition)
        .filter((p) => !stale.includes(p));
      const reasons = [
        ...(stale.length > 0 ? [`no pipeline sample for over ${formatDuration(r.worker_unhealthy.stale)} from partition(s) ${stale.sort().join(", ")}`] : []),
        ...(stalled.length > 0 ? [`no progress with messages waiting on partition(s) ${stalled.sort().join(", ")}`] : []),
      ];
      observations.push({
        rule: "worker_unhealthy",
        group: worker,
        active: reasons.length > 0,
        value: stale.length + stalled.length,
        threshold: 0,
        unit: "partitions",
        detail: reasons.length > 0 ? reasons.join("; ") : "every partition reports and progresses",
      });
    }
  }

  if (r.no_orders.enabled) {
    const everything = [...workers.values()].flat();
    const lagging = everything.some((s) => (latest(s, "lag")?.lag ?? 0) > 0);
    const stale = input.lastSeen.some((s) => now - s.at > r.worker_unhealthy.stale) || input.lastSeen.length === 0;
    const consumed = increase(everything, "consumed", r.no_orders.window);
    const invalid = increase(everything, "invalid", r.no_orders.window);
    // A stalled shop looks like a stalled pipeline: say which.
    const which =
      stale || lagging
        ? `the pipeline is stalled (${input.lastSeen.length === 0 ? "no worker reports" : lagging ? "messages are waiting in Kafka" : "a worker stopped reporting"})`
        : consumed > 0 && invalid === consumed
          ? `orders arrive but all ${consumed} were invalid (dead-lettered)`
          : "the pipeline is caught up and receives nothing: the shop itself is quiet";
    observations.push({
      rule: "no_orders",
      group: "all",
      active: input.recentOrders === 0,
      value: input.recentOrders,
      threshold: 0,
      unit: "orders",
      detail: input.recentOrders === 0 ? `no orders in the last ${formatDuration(r.no_orders.window)}: ${which}` : `${input.recentOrders} orders in the last ${formatDuration(r.no_orders.window)}`,
    });
  }
  return observations;
}

/** An alert that is pending (condition true, "for" not yet elapsed) or firing. */
export interface AlertState {
  rule: AlertRuleId;
  group: string;
  status: "pending" | "firing";
  /** Epoch ms the condition became true. */
  since: number;
  value: number;
  threshold: number;
  unit: AlertUnit;
  detail: string;
}

/** One state change: what the webhook gets (design.md: rule, state, value, threshold, since, text) and the `alert` measurement records. */
export interface AlertChange {
  rule: AlertRuleId;
  group: string;
  state: "firing" | "resolved";
  value: number;
  threshold: number;
  unit: AlertUnit;
  /** Epoch ms the condition became true (for `resolved` too: the alert's start). */
  since: number;
  /** Epoch ms of the change. */
  at: number;
  /** Slack-compatible message. */
  text: string;
}

export const alertKey = (rule: string, group: string) => `${rule}/${group}`;

function changeText(c: Omit<AlertChange, "text">, detail: string): string {
  const since = new Date(c.since).toISOString();
  return c.state === "firing"
    ? `:rotating_light: [FIRING] ${c.rule} (${c.group}): ${detail}; since ${since}`
    : `:white_check_mark: [RESOLVED] ${c.rule} (${c.group}): ${detail}; it began ${since}, resolved ${new Date(c.at).toISOString()}`;
}

/**
 * The next alert states from this evaluation's observations: a condition true for
 * the rule's "for" fires once; it resolves once when false (or its group gone).
 * A pending alert that clears changes nothing. Exactly one change per transition:
 * no storm, whatever the evaluation interval.
 */
export function advanceAlerts(rules: AlertRules, states: ReadonlyMap<string, AlertState>, observations: readonly Observation[], now: number): { states: Map<string, AlertState>; changes: AlertChange[] } {
  const next = new Map<string, AlertState>();
  const changes: AlertChange[] = [];
  const seen = new Set<string>();
  for (const o of observations) {
    const key = alertKey(o.rule, o.group);
    seen.add(key);
    const previous = states.get(key);
    if (!o.active) {
      if (previous?.status === "firing") {
        const change = { rule: o.rule, group: o.group, state: "resolved" as const, value: o.value, threshold: o.threshold, unit: o.unit, since: previous.since, at: now };
        changes.push({ ...change, text: changeText(change, o.detail) });
      }
      continue;
    }
    const since = previous?.since ?? now;
    const firing = previous?.status === "firing" || now - since >= rules.rules[o.rule].for;
    next.set(key, { rule: o.rule, group: o.group, status: firing ? "firing" : "pending", since, value: o.value, threshold: o.threshold, unit: o.unit, detail: o.detail });
    if (firing && previous?.status !== "firing") {
      const change = { rule: o.rule, group: o.group, state: "firing" as const, value: o.value, threshold: o.threshold, unit: o.unit, since, at: now };
      changes.push({ ...change, text: changeText(change, o.detail) });
    }
  }
  for (const [key, previous] of states) {
    if (seen.has(key) || previous.status !== "firing") continue;
    const enabled = rules.rules[previous.rule].enabled;
    const change = { rule: previous.rule, group: previous.group, state: "resolved" as const, value: previous.value, threshold: previous.threshold, unit: previous.unit, since: previous.since, at: now };
    changes.push({ ...change, text: changeText(change, enabled ? "the group no longer reports" : "the rule was disabled") });
  }
  return { states: next, changes };
}

/** The webhook body (design.md's contract: rule, state, value, threshold, since, text; plus group, unit, at). */
export function webhookBody(change: AlertChange): Record<string, string | number> {
  return { rule: change.rule, group: change.group, state: change.state, value: change.value, threshold: change.threshold, unit: change.unit, since: new Date(change.since).toISOString(), at: new Date(change.at).toISOString(), text: change.text };
}

const NS_PER_MS = 1_000_000n;

/** The `alert` point of a state change: tags rule, group; fields firing (0/1), value, threshold, since (epoch ms); time = the change. */
export function alertPoint(change: AlertChange): InfluxPoint {
  return {
    measurement: MEASUREMENTS.alert,
    tags: { rule: change.rule, group: change.group },
    fields: {
      firing: { type: "int", value: change.state === "firing" ? 1 : 0 },
      value: { type: "float", value: change.value },
      threshold: { type: "float", value: change.threshold },
      since: { type: "int", value: change.since },
    },
    timestampNs: BigInt(change.at) * NS_PER_MS,
  };
}

/** Firing alerts as the `alert` measurement last recorded them, so a restarted alerts worker posts nothing twice. */
export function restoredStates(rows: readonly { rule: string; group: string; firing: number; since: number; value: number; threshold: number }[]): Map<string, AlertState> {
  const states = new Map<string, AlertState>();
  for (const row of rows) {
    if (row.firing !== 1 || !(ALERT_RULE_IDS as readonly string[]).includes(row.rule)) continue;
    const rule = row.rule as AlertRuleId;
    states.set(alertKey(rule, row.group), { rule, group: row.group, status: "firing", since: row.since, value: row.value, threshold: row.threshold, unit: RULE_UNITS[rule], detail: "restored from the alert measurement" });
  }
  return states;
}
