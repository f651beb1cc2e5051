import { dashboardEnv, dashboardKafka } from "../../../workers/shared/dashboard-env.ts";
import { PipelineReader } from "../../../workers/shared/pipeline-reads.ts";
import { respond } from "../respond.ts";

export const dynamic = "force-dynamic";

// One reader per server process: it keeps the previous offsets (for rates) and the dead-letter tail.
let reader: PipelineReader | undefined;

/** GET /api/pipeline → PipelineSnapshot (workers/shared/pipeline-reads.ts): each panel `{ ok, data }` or `{ ok: false, reason }`. */
export function GET() {
  return respond(async () => {
    if (!reader) {
      const env = dashboardEnv();
      const kafka = env.kafka();
      reader = new PipelineReader(dashboardKafka(env), kafka, env.influx(), env.lake.lakeDir, env.dashboard.workerHealth);
    }
    return reader.read(Date.now());
  });
}
