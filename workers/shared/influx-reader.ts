import type { InfluxConfig } from "../../lib/config.ts";

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export class InfluxQueryError extends Error {
  override name = "InfluxQueryError";
  constructor(readonly url: string, readonly query: string, message: string) {
    super(`InfluxQL query failed at ${url}: ${message}\n  ${query}`);
  }
}

/**
 * Runs one InfluxQL statement over /query: the read path that works on InfluxDB
 * 1.x, 2.x (the bucket maps to a database) and 3.x. Times come back as epoch ms.
 */
export async function influxQuery(config: InfluxConfig, query: string, timeoutMs = 10_000): Promise<InfluxSeries[]> {
  const params = new URLSearchParams({ db: config.database, q: query, epoch: "ms" });
  const headers: Record<string, string> = config.version === 2 ? { Authorization: `Token ${config.token}` } : {};
  let response: Response;
  try {
    response = await fetch(`${config.url}/query?${params}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new InfluxQueryError(config.url, query, (error as Error).message);
  }
  const body = (await response.json().catch(() => ({}))) as { error?: string; results?: { error?: string; series?: InfluxSeries[] }[] };
  const error = body.error ?? body.results?.find((r) => r.error)?.error;
  if (!response.ok || error) throw new InfluxQueryError(config.url, query, error ?? `HTTP ${response.status}`);
  return body.results?.[0]?.series ?? [];
}

/** Rows of the series as objects keyed by column (and the series' tags). */
export function seriesRows(series: InfluxSeries[]): Record<string, unknown>[] {
  return series.flatMap((s) => s.values.map((row) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, row[i]])) })));
}
