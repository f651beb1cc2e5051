/**
 * `npm run worker:alerts`: evaluates the alert rules (workers/alert-rules.default.yaml,
 * with ALERT_RULES's overrides) over InfluxDB's `pipeline` and window measurements
 * every `interval`; each state change (firing, resolved) of a rule and group is
 * posted once to ALERT_WEBHOOK_URL as JSON (rule, group, state, value, threshold,
 * unit, since, at, text: Slack-compatible), retried with backoff, and recorded in
 * the `alert` measurement. On start, alerts the measurement says are firing stay
 * firing, so a restart posts nothing twice.
 *
 * --check: validate the rules and print the effective ones, then exit.
 * Exit codes: 0 stopped cleanly (or rules valid with --check); 1 failed; 2 bad arguments, configuration or rules.
 */
import { Command } from "commander";
import { alertsEnvSchema, influxEnvSchema, kafkaEnvSchema, portsEnvSchema } from "../lib/contract/config.ts";
import { formatDuration } from "../lib/contract/duration.ts";
import { AlertRulesError, type AlertRules } from "../lib/ops/alert-rules.ts";
import { loadAlertRules } from "./ops/alert-config.ts";
import { KafkaLagReader, readAlertInputs, readFiringAlerts } from "./ops/alert-inputs.ts";
import { AlertEvaluator } from "./ops/alert-loop.ts";
import { WebhookPoster } from "./ops/webhook.ts";
import { configOrExit, loadEnv } from "./shared/env.ts";
import { createRegistry, serveHealth } from "./shared/health.ts";
import { InfluxSink } from "./shared/influx-sink.ts";
import { createKafka } from "./shared/kafka.ts";
import { createLogger } from "./shared/log.ts";
import { stopOnSignals } from "./shared/shutdown.ts";

/** How long the log-end samples that date a waiting message are kept (consumer_lag's "seconds behind"). */
const KAFKA_LOG_END_KEEP_MS = 60 * 60_000;

function rulesOrExit(file: string | undefined): AlertRules {
  try {
    return loadAlertRules(file);
  } catch (error) {
    if (!(error instanceof AlertRulesError)) throw error;
    console.error(`worker:alerts: ${error.message}`);
    process.exit(2);
  }
}

async function run(options: { check: boolean }): Promise<void> {
  const env = loadEnv();
  const alerts = configOrExit(alertsEnvSchema, env);
  const rules = rulesOrExit(alerts.rulesFile);
  if (options.check) {
    const lines = [`interval ${formatDuration(rules.interval)}`];
    for (const [id, rule] of Object.entries(rules.rules)) {
      lines.push(`${id} ${Object.entries(rule).map(([k, v]) => `${k}=${typeof v === "number" && /window|for|max|stale/.test(k) ? formatDuration(v) : v}`).join(" ")}`);
    }
    // One write, like the other commands' tables (a reader that stops early, `| head -1`, is handled for every command in workers/shared/entry-point.ts).
    console.log(lines.join("\n"));
    return;
  }
  const influx = configOrExit(influxEnvSchema, env);
  const log = createLogger("alerts");
  const sink = new InfluxSink(influx, { maxBufferedPoints: 10_000, log });
  try {
    await sink.init();
  } catch (error) {
    console.error(`worker:alerts: ${(error as Error).message.split("\n")[0]}`);
    process.exit(1);
  }
  const webhook = alerts.webhookUrl ? new WebhookPoster(alerts.webhookUrl, { log }) : undefined;
  if (!webhook) log.warn({}, "ALERT_WEBHOOK_URL is not set: state changes are logged and recorded only");
  const restored = await readFiringAlerts(influx, Date.now()).catch((error: Error) => {
    log.warn({ err: error.message.split("\n")[0] }, "could not read the alert measurement: starting with no firing alerts");
    return undefined;
  });
  // Kafka's own figure for consumer_lag while the metrics worker is stopped (its pipeline points go stale).
  let kafkaLag: KafkaLagReader | undefined;
  if (env.KAFKA_BROKERS) {
    const kafkaConfig = configOrExit(kafkaEnvSchema, env);
    const kafka = createKafka(kafkaConfig, "orderpulse-alerts", log);
    const openAdmin = async () => {
      // Few retries: a broker that is down degrades this input within one evaluation instead of holding it.
      const admin = kafka.admin({ retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1_000 } });
      await admin.connect();
      return { admin, close: () => admin.disconnect() };
    };
    kafkaLag = new KafkaLagReader(openAdmin, kafkaConfig.topic, kafkaConfig.groups.metrics, log, KAFKA_LOG_END_KEEP_MS);
  } else log.warn({}, "KAFKA_BROKERS is not set: consumer_lag reads the workers' own pipeline points only (a stopped worker's lag goes stale)");
  const evaluator = new AlertEvaluator({
    rules,
    readInputs: async (now) => {
      const [inputs, kafka] = await Promise.all([readAlertInputs(influx, rules, now), kafkaLag?.read(now)]);
      return { ...inputs, kafkaLag: kafka };
    },
    record: async (points) => {
      sink.enqueue(points);
      if (!(await sink.flush())) log.warn({ buffered: sink.buffered }, "could not record alert changes in InfluxDB yet; kept for the next evaluation");
    },
    notify: (body) => void webhook?.post(body),
    now: Date.now,
    log,
    restored,
  });
  log.info({ interval: rules.interval, restoredFiring: restored?.size ?? 0, webhook: Boolean(webhook), kafkaLag: Boolean(kafkaLag) }, "alerts worker started");
  let timer: NodeJS.Timeout | undefined;
  let failing = false;
  // /healthz: the evaluation loop runs; an InfluxDB it cannot read is a degraded state, not a reason to restart.
  let lastEvaluationAt = Date.now();
  const { healthPort } = configOrExit(portsEnvSchema, env);
  if (healthPort !== undefined)
    await serveHealth(healthPort, createRegistry("alerts"), { lastProgressAt: () => lastEvaluationAt, lag: () => 0, degraded: () => (failing ? "InfluxDB cannot be read: alert states unchanged" : undefined) }, log);
  const loop = async () => {
    try {
      await evaluator.evaluate();
      if (sink.buffered > 0) await sink.flush();
      if (failing) log.info({}, "InfluxDB readable again");
      failing = false;
    } catch (error) {
      if (!failing) log.warn({ err: (error as Error).message.split("\n")[0] }, "evaluation failed; alert states unchanged, retrying every interval");
      failing = true;
    }
    lastEvaluationAt = Date.now();
    timer = setTimeout(loop, rules.interval);
  };
  void loop();
  stopOnSignals(log, "posting queued webhook messages", "the alert measurement", async () => {
    clearTimeout(timer);
    await kafkaLag?.close();
    await webhook?.drain();
    await sink.close();
  });
}

const program = new Command("worker:alerts")
  .description("Evaluate alert rules over InfluxDB and post each state change once to ALERT_WEBHOOK_URL")
  .option("--check", "validate the rules (defaults + ALERT_RULES) and print them, then exit", false)
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .action(async (options: { check: boolean }) => run(options));

await program.parseAsync();
