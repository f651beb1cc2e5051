"use client";
import { useEffect, useMemo, useRef, useState } from "react";
import { Bar, CartesianGrid, Cell, ComposedChart, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { WindowTotal } from "../lib/hot/feed-state.ts";
import { WINDOW_DIMENSIONS } from "../lib/contract/dimensions.ts";
import { RANGE_NAMES, type BreakdownDimension, type RangeName } from "../lib/web/live-queries.ts";
import { mergeRows, rowOfWindow, timeTicks, type ChartRow } from "../lib/web/live-series.ts";
import type { Tile } from "../lib/web/tiles.ts";
import type { BreakdownRow } from "../workers/shared/live-reads.ts";
import { useFeed } from "./feed-context.tsx";
import { useJson } from "./use-json.ts";
import { RefreshError } from "./refresh-error.tsx";
import { compactTick } from "../lib/web/chart-axes.ts";

interface History {
  fromMs: number;
  toMs: number;
  bucketMs: number;
  windowSizeMs: number;
  rows: ChartRow[];
}

const money = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const whole = new Intl.NumberFormat("en-US");
const clock = (ms: number, withSeconds: boolean) => new Date(ms).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: withSeconds ? "2-digit" : undefined });
const dayClock = (ms: number) => new Date(ms).toLocaleString("en-GB", { weekday: "short", hour: "2-digit", minute: "2-digit" });

function formatTile(tile: Tile): string {
  if (tile.value === null) return "—";
  if (tile.unit === "money") return money.format(tile.value);
  if (tile.unit === "percent") return `${(tile.value * 100).toFixed(2)} %`;
  if (tile.unit === "rate") return tile.value.toFixed(1);
  return whole.format(tile.value);
}

function Tiles({ tiles }: { tiles: Tile[] | undefined }) {
  const shown: (Tile | undefined)[] = tiles ?? Array.from({ length: 6 }, () => undefined);
  return (
    <div className="grid tiles">
      {shown.map((t, i) => (
        <div className="card tile" key={t?.key ?? i} data-testid={t ? `tile-${t.key}` : undefined}>
          <div className="label">{t?.label ?? "\u00a0"}</div>
          <div className="value">{t ? formatTile(t) : "…"}</div>
          <div className={`change ${t?.changePct ? (t.changePct > 0 ? "up" : "down") : ""}`}>
            {t === undefined ? "\u00a0" : t.changePct === null ? "no data same time yesterday" : `${t.changePct > 0 ? "+" : ""}${t.changePct.toFixed(1)} % vs yesterday`}
          </div>
        </div>
      ))}
    </div>
  );
}

function Breakdown({ title, rows }: { title: string; rows: BreakdownRow[] | undefined }) {
  const top = (rows ?? []).slice(0, 10);
  const max = Math.max(1, ...top.map((r) => r.revenue));
  return (
    <div className="card" data-testid={`breakdown-${title}`}>
      <h2>By {title}</h2>
      {rows === undefined ? <div className="muted">loading…</div> : top.length === 0 ? <div className="muted">no orders in this range</div> : null}
      {top.map((r) => (
        <div className="bar-row" key={r.key}>
          <span title={r.key}>{r.key}</span>
          <div className="track">
            <div className="fill" style={{ width: `${(r.revenue / max) * 100}%` }} />
          </div>
          <span>
            {money.format(r.revenue)} <span className="muted">({whole.format(r.orders)})</span>
          </span>
        </div>
      ))}
    </div>
  );
}

export function LiveView() {
  const feed = useFeed();
  const [range, setRange] = useState<RangeName>("1h");
  const history = useJson<History>(`/api/live/history?range=${range}`, 15_000);
  const tiles = useJson<{ tiles: Tile[] }>("/api/live/tiles", 5_000);
  const breakdown = useJson<Record<BreakdownDimension, BreakdownRow[]>>(`/api/live/breakdown?range=${range}`, 5_000);

  // A reconnect may have missed windows: fetch the range again from InfluxDB.
  const seenConnections = useRef(0);
  const refreshHistory = history.refresh;
  useEffect(() => {
    if (feed.connections > 1 && feed.connections !== seenConnections.current) refreshHistory();
    seenConnections.current = feed.connections;
  }, [feed.connections, refreshHistory]);

  const [paused, setPaused] = useState<{ windows: ReadonlyMap<number, WindowTotal>; updates: number } | null>(null);
  const windows = paused?.windows ?? feed.windows;
  const newWhilePaused = paused ? feed.updates - paused.updates : 0;

  const h = history.data;
  const rows = useMemo(() => {
    if (!h) return [...windows.values()].map(rowOfWindow).sort((a, b) => a.start - b.start);
    // The feed's windows only match one-window buckets; coarser ranges come from InfluxDB alone.
    return h.bucketMs === h.windowSizeMs ? mergeRows(h.rows, windows.values(), h.fromMs) : h.rows;
  }, [h, windows]);
  const bucketMs = h?.bucketMs ?? feed.settings.windowSizeMs;
  const domain: [number, number] = h ? [h.fromMs, h.toMs] : [rows[0]?.start ?? 0, (rows.at(-1)?.start ?? 0) + bucketMs];
  const short = bucketMs < 60_000 || range === "15m" || range === "1h";
  const tick = (ms: number) => (range === "7d" ? dayClock(ms) : clock(ms, bucketMs < 60_000));
  const state = rows.length > 0 ? "data" : history.loading && !h ? "loading" : history.error && !h ? "error" : "empty";

  return (
    <main className="page">
      <div className="page-head">
        <h1>Live revenue</h1>
        <div className="segmented" role="group" aria-label="range">
          {RANGE_NAMES.map((r) => (
            <button key={r} type="button" aria-pressed={r === range} onClick={() => setRange(r)} data-testid={`range-${r}`}>
              {r}
            </button>
          ))}
        </div>
        <button type="button" aria-pressed={paused !== null} onClick={() => setPaused(paused ? null : { windows: feed.windows, updates: feed.updates })} data-testid="pause">
          {paused ? `Resume (${newWhilePaused} new)` : "Pause"}
        </button>
        <span className="muted" style={{ fontSize: "0.85rem" }}>
          {bucketMs === feed.settings.windowSizeMs ? `${bucketMs / 1000}s windows` : `${bucketMs / 60_000} min buckets`} · hatched = partial (window still open), solid = final
        </span>
      </div>
      {(h || rows.length > 0) && <RefreshError error={history.error} source="InfluxDB" stale />}
      {tiles.error && !history.error && <div className="banner warn">Tiles not refreshed: {tiles.error}</div>}
      <Tiles tiles={tiles.data?.tiles} />
      <div className="grid live-main">
        <div className="card">
          <h2>Revenue and orders per {bucketMs === feed.settings.windowSizeMs ? "window" : "bucket"}</h2>
          <div className="chart-box" data-testid="revenue-chart" data-state={state}>
            {state === "loading" && <div className="state">loading…</div>}
            {state === "error" && <div className="state" role="alert">Cannot read InfluxDB: {history.error}</div>}
            {state === "empty" && <div className="state">No orders in this range yet. Start the simulator (npm run simulate) or wait for traffic.</div>}
            {state === "data" && (
              <ResponsiveContainer width="100%" height="100%">
                <ComposedChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 8 }}>
                  <defs>
                    <pattern id="partial-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                      <rect width="6" height="6" fill="var(--accent)" opacity="0.18" />
                      <line x1="0" y1="0" x2="0" y2="6" stroke="var(--accent)" strokeWidth="3" />
                    </pattern>
                  </defs>
                  <CartesianGrid stroke="var(--grid)" vertical={false} />
                  <XAxis dataKey="start" type="number" scale="time" domain={domain} ticks={timeTicks(domain[0], domain[1])} tickFormatter={tick} stroke="var(--muted)" />
                  <YAxis yAxisId="revenue" stroke="var(--muted)" tickFormatter={compactTick} width={56} />
                  <YAxis yAxisId="orders" orientation="right" stroke="var(--accent-2)" width={50} />
                  <Tooltip
                    contentStyle={{ background: "var(--panel)", border: "1px solid var(--border)" }}
                    labelFormatter={(v) => `${tick(Number(v))}`}
                    formatter={(value, name) => [name === "revenue" ? money.format(Number(value)) : whole.format(Number(value)), String(name)]}
                  />
                  <Bar yAxisId="revenue" dataKey="revenue" isAnimationActive={false} maxBarSize={40}>
                    {rows.map((r) => (
                      <Cell key={r.start} fill={r.final ? "var(--accent)" : "url(#partial-hatch)"} stroke={r.final ? "none" : "var(--accent)"} strokeDasharray={r.final ? undefined : "4 3"} />
                    ))}
                  </Bar>
                  <Line yAxisId="orders" dataKey="orders" stroke="var(--accent-2)" dot={false} strokeWidth={2} isAnimationActive={false} />
                  <Line yAxisId="orders" dataKey="late" stroke="var(--warn)" dot={false} strokeWidth={1.5} isAnimationActive={false} />
                </ComposedChart>
              </ResponsiveContainer>
            )}
          </div>
        </div>
        <div className="card">
          <h2>Windows</h2>
          <div className="scroll">
            <table className="data" data-testid="windows">
              <thead>
                <tr>
                  <th>{short ? "Window" : "Bucket"}</th>
                  <th>Revenue</th>
                  <th>Orders</th>
                  <th>Late</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {[...rows].reverse().map((r) => (
                  <tr key={r.start} data-testid="window-row" data-start={r.start} data-final={String(r.final)}>
                    <td>{tick(r.start)}</td>
                    <td data-field="revenue">{money.format(r.revenue)}</td>
                    <td data-field="orders">{whole.format(r.orders)}</td>
                    <td data-field="late" data-late-revenue={r.lateRevenue} title={r.late > 0 ? `late revenue ${money.format(r.lateRevenue)}` : undefined}>
                      {whole.format(r.late)}
                    </td>
                    <td>
                      <span className={`tag ${r.final ? "final" : "partial"}`}>{r.final ? "final" : "partial"}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      </div>
      <div className="grid breakdowns">
        {WINDOW_DIMENSIONS.map(({ dimension }) => (
          <Breakdown key={dimension} title={dimension} rows={breakdown.data?.[dimension]} />
        ))}
      </div>
    </main>
  );
}
