/**
 * Which dim_customer version a replay (reconcile, repair) gives each window:
 * the one the live run recorded with the window (`dims_version` on its
 * `order_window` point), so a repair never rewrites history with today's
 * segments. A window InfluxDB has no version for (lost, or never written)
 * gets the version that was current at its start by the manifest's load
 * times (lib/lake/dims-layout.ts versionAt) — what the live run would most
 * likely have used; a recorded version no longer in the manifest gets the
 * same fallback, and is reported.
 */
import { CustomerSegments, DIM_CUSTOMER_TABLE } from "../../lib/contract/dims.ts";
import { versionAt, type DimensionVersion } from "../../lib/lake/dims-layout.ts";
import { readCustomerSegments, readManifest } from "./dims-store.ts";

export interface ReplaySegments {
  segmentsFor: (partition: number, windowStart: number) => CustomerSegments;
  /** Recorded versions the lake no longer has (their windows use the fallback). */
  missing: string[];
}

/** @param recorded version per `${windowStart}/${partition}` (workers/batch/influx-windows.ts readRecordedDimsVersions) */
export async function replaySegments(lakeDir: string, recorded: ReadonlyMap<string, string>): Promise<ReplaySegments> {
  const manifest = await readManifest(lakeDir, DIM_CUSTOMER_TABLE.name);
  const versions = new Map<string, CustomerSegments>();
  const load = async (entry: DimensionVersion) => {
    if (!versions.has(entry.version)) versions.set(entry.version, await readCustomerSegments(lakeDir, entry));
  };
  const missing = new Set<string>();
  for (const version of new Set(recorded.values())) {
    const entry = manifest?.versions.find((v) => v.version === version);
    if (entry) await load(entry);
    else missing.add(version);
  }
  for (const entry of manifest?.versions ?? []) await load(entry);
  return {
    missing: [...missing].sort(),
    segmentsFor(partition, windowStart) {
      const version = recorded.get(`${windowStart}/${partition}`);
      const chosen = (version !== undefined ? versions.get(version) : undefined) ?? versions.get(versionAt(manifest, windowStart)?.version ?? "");
      return chosen ?? CustomerSegments.NONE;
    },
  };
}
