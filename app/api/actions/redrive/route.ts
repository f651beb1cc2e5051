import type { Admin } from "kafkajs";
import { ZodError } from "zod";
import { decideAccess, SESSION_COOKIE } from "../../../../lib/web/access.ts";
import { redriveRequestSchema } from "../../../../lib/web/dead-letters.ts";
import { appendAudit } from "../../../../workers/shared/audit-log.ts";
import { dashboardEnv, dashboardKafka } from "../../../../workers/shared/dashboard-env.ts";
import { redriveDeadLetters, SelectionTooLargeError } from "../../../../workers/shared/dead-letters.ts";
import { openProducer } from "../../../../workers/shared/kafka.ts";
import { accessSecrets } from "../../../../workers/shared/session.ts";
import { errorResponse, respond } from "../../respond.ts";

export const dynamic = "force-dynamic";

/** Who acts, as the access rule names them (the proxy has already let the request through). */
async function actor(request: Request): Promise<string> {
  const cookie = new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=([^;]*)`).exec(request.headers.get("cookie") ?? "")?.[1] ?? null;
  const decision = decideAccess({ path: "/api/actions/redrive", authorization: request.headers.get("authorization"), sessionCookie: cookie, peerAddress: request.headers.get("x-forwarded-for"), isPageNavigation: false }, await accessSecrets());
  return decision.allow ? decision.who : (request.headers.get("x-forwarded-for") ?? "unknown");
}

/**
 * POST /api/actions/redrive `{ select: { kind: "ids", ids: ["<partition>:<offset>", …] } | { kind:
 * "filter", code?, partition?, fromOffset?, toOffset?, from?, to?, all? }, edits?: { "<id>": "<fixed
 * payload>" }, dryRun? }` → `{ redrive: [{ of, topic, partition, edited, … }], skipped: [{ id, why }],
 * selected, written, dryRun }`. Loopback only without DASHBOARD_TOKEN (proxy.ts); audited with its outcome.
 */
export async function POST(request: Request) {
  const body = await request.json().catch(() => null);
  const parsed = redriveRequestSchema.safeParse(body ?? {});
  const who = await actor(request);
  // Input first: a bad request is a 400 whatever the configuration.
  if (!parsed.success) {
    const error = new ZodError(parsed.error.issues);
    await appendAudit({ who, what: "redrive", outcome: "failed", detail: `bad request: ${error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}` });
    return respond(async () => { throw error; });
  }
  let what = "redrive";
  let admin: Admin | undefined;
  try {
    const env = dashboardEnv();
    const config = env.kafka();
    what = `redrive ${config.dlqTopic} → ${config.topic}`;
    const kafka = dashboardKafka(env);
    admin = kafka.admin();
    await admin.connect();
    const producer = parsed.data.dryRun ? { send: async () => [] } : await openProducer(kafka, config, [config.topic]);
    try {
      const outcome = await redriveDeadLetters(kafka, admin, producer, { topic: config.topic, dlqTopic: config.dlqTopic, groupPrefix: config.groups.dashboardPrefix, request: parsed.data, who, now: Date.now() });
      const edited = outcome.redrive.filter((r) => r.edited).length;
      await appendAudit({ who, what, outcome: "ok", detail: `${outcome.dryRun ? "dry run: " : ""}${outcome.redrive.length} of ${outcome.selected} selected (${edited} edited, ${outcome.skipped.length} skipped): ${outcome.redrive.map((r) => r.of.slice(config.dlqTopic.length + 1)).join(" ")}` });
      return Response.json({ ...outcome, redrive: outcome.redrive.map(({ of, topic, partition, edited }) => ({ of, topic, partition: partition ?? null, edited })) }, { headers: { "cache-control": "no-store" } });
    } finally {
      if ("disconnect" in producer) await producer.disconnect().catch(() => undefined);
    }
  } catch (error) {
    await appendAudit({ who, what, outcome: "failed", detail: (error as Error).message });
    if (error instanceof SelectionTooLargeError) return errorResponse(400, "too_large", error.message);
    return respond(async () => { throw error; });
  } finally {
    await admin?.disconnect().catch(() => undefined);
  }
}
