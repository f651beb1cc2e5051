import type { InfluxConfig } from "../../lib/contract/config.ts";

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

interface QueryResponse {
  error?: string;
  results?: { error?: string; series?: InfluxSeries[] }[];
}

/** InfluxQL over /query: the path that works on InfluxDB 1.x, 2.x (the bucket maps to a database) and 3.x. */
async function runInfluxQL(config: InfluxConfig, query: string, method: "GET" | "POST", timeoutMs: number): Promise<QueryResponse> {
  const params = new URLSearchParams({ db: config.database, q: query, epoch: "ms" });
  const headers: Record<string, string> = config.version === 2 ? { Authorization: `Token ${config.token}` } : {};
  let response: Response;
  try {
    response =
      method === "GET"
        ? await fetch(`${config.url}/query?${params}`, { headers, signal: AbortSignal.timeout(timeoutMs) })
        : await fetch(`${config.url}/query`, { method, headers, body: params, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new InfluxQueryError(config.url, query, (error as Error).message);
  }
  const body = (await response.json().catch(() => ({}))) as QueryResponse;
  const error = body.error ?? body.results?.find((r) => r.error)?.error;
  if (!response.ok || error) throw new InfluxQueryError(config.url, query, error ?? `HTTP ${response.status}`);
  return body;
}

/** Runs one InfluxQL query; times come back as epoch ms. */
export async function influxQuery(config: InfluxConfig, query: string, timeoutMs = 10_000): Promise<InfluxSeries[]> {
  return (await runInfluxQL(config, query, "GET", timeoutMs)).results?.[0]?.series ?? [];
}

/** Runs InfluxQL statements that change the server (CREATE DATABASE, DELETE): /query takes those only as POST. */
export async function influxCommand(config: InfluxConfig, statements: string, timeoutMs = 30_000): Promise<void> {
  await runInfluxQL(config, statements, "POST", timeoutMs);
}

/** Rows of the series as objects keyed by column (and the series' tags). */
export function seriesRows(series: InfluxSeries[]): Record<string, unknown>[] {
  return series.flatMap((s) => s.values.map((row) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, row[i]])) })));
}
