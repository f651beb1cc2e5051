import { ensureTestTools, servicesDown, servicesUp } from "../../scripts/services.ts";

/** Starts the local services once for the integration run; stops them after if this run started them. */
export default async function setup(): Promise<() => Promise<void>> {
  const external = Boolean(process.env.KAFKA_BROKERS && process.env.INFLUX_URL);
  ensureTestTools();
  await servicesUp({ topic: process.env.KAFKA_TOPIC || "orders", partitions: 8 });
  return async () => {
    if (!external && !process.env.ORDERPULSE_KEEP_SERVICES) await servicesDown();
  };
}
