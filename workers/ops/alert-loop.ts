import { advanceAlerts, alertPoint, evaluateRules, webhookBody, type AlertChange, type AlertInputs, type AlertRules, type AlertState } from "../../lib/ops/alert-rules.ts";
import type { InfluxPoint } from "../../lib/hot/influx-points.ts";

export interface AlertLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * The alerts worker's loop, IO passed in: read inputs, evaluate the rules, advance
 * the states, then record each change (the `alert` measurement) and post it (the
 * webhook) exactly once. A failed read changes no state: the next evaluation retries.
 */
export class AlertEvaluator {
  private states: Map<string, AlertState>;

  constructor(
    private readonly deps: {
      rules: AlertRules;
      readInputs: (now: number) => Promise<AlertInputs>;
      record: (points: InfluxPoint[]) => Promise<void>;
      notify: (body: Record<string, string | number>) => void;
      now: () => number;
      log: AlertLog;
      restored?: Map<string, AlertState>;
    },
  ) {
    this.states = new Map(deps.restored ?? []);
  }

  get current(): ReadonlyMap<string, AlertState> {
    return this.states;
  }

  /** One evaluation; returns the state changes. Throws when InfluxDB cannot be read (states unchanged). */
  async evaluate(): Promise<AlertChange[]> {
    const now = this.deps.now();
    const inputs = await this.deps.readInputs(now);
    const observations = evaluateRules(this.deps.rules, inputs);
    const { states, changes } = advanceAlerts(this.deps.rules, this.states, observations, now);
    this.states = states;
    for (const change of changes) {
      this.deps.log.info({ rule: change.rule, group: change.group, state: change.state, value: change.value, threshold: change.threshold }, change.text);
      this.deps.notify(webhookBody(change));
    }
    if (changes.length > 0) await this.deps.record(changes.map(alertPoint));
    return changes;
  }
}
