import { z } from "zod";
import { parseCursor } from "../../../../lib/web/dead-letters.ts";
import { dashboardEnv, dashboardKafka } from "../../../../workers/shared/dashboard-env.ts";
import { browseDeadLetters } from "../../../../workers/shared/dead-letters.ts";
import { respond } from "../../respond.ts";

export const dynamic = "force-dynamic";

const query = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.string().max(2_000).optional().transform((text, ctx) => {
    if (text === undefined || text === "") return undefined;
    try {
      return parseCursor(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  }),
  code: z.string().min(1).max(64).optional(),
});

/**
 * GET /api/pipeline/dead-letters?limit=50&before=<cursor>&code=<reason code> → `{ topic, total,
 * items: [{ id, partition, offset, at, code, reason, source: { topic, partition, offset, timestamp },
 * redriveOf, preview, text, bytes, key }], next }`: the dead-letter topic newest first; pass `next`
 * as `before` for the page after.
 */
export function GET(request: Request) {
  return respond(async () => {
    const { limit, before, code } = query.parse(Object.fromEntries(new URL(request.url).searchParams));
    const env = dashboardEnv();
    const kafka = dashboardKafka(env);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const config = env.kafka();
      return await browseDeadLetters(kafka, admin, config.dlqTopic, { cursor: before, limit, code, groupPrefix: config.groups.dashboardPrefix });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  });
}
