import { existsSync } from "node:fs";
import { ensureTestTools, servicesDown, servicesUp } from "../../scripts/services.ts";
import { SERVICES_ENV_FILE } from "../../workers/shared/env.ts";

/**
 * Starts the local services once for the integration run, and stops them after
 * only if this run started them: another run (or a developer) may be using them.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const external = Boolean(process.env.KAFKA_BROKERS && process.env.INFLUX_URL);
  const alreadyUp = existsSync(SERVICES_ENV_FILE);
  ensureTestTools();
  await servicesUp({ topic: process.env.KAFKA_TOPIC || "orders", partitions: 8 });
  return async () => {
    if (!external && !alreadyUp && !process.env.ORDERPULSE_KEEP_SERVICES) await servicesDown();
  };
}
