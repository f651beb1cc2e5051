"use client";
import type { ReactNode } from "react";
import { Line, LineChart, YAxis } from "recharts";
import type { Panel } from "../../workers/shared/kafka-admin.ts";
import type { PipelineSnapshot } from "../../workers/shared/pipeline-reads.ts";
import { formatRetention } from "../../lib/web/topic-settings.ts";
import { deadLetterRateLabel } from "../../lib/web/dead-letter-rate.ts";
import { useJson } from "../use-json.ts";
import { RefreshError } from "../refresh-error.tsx";
import { DeadLetterBrowser } from "./dead-letter-browser.tsx";

const whole = new Intl.NumberFormat("en-US");
const time = (ms: number | null) => (ms === null ? "—" : new Date(ms).toLocaleTimeString("en-GB"));
const seconds = (ms: number | null) => (ms === null ? "—" : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`);

/** `orders/event_date=2026-12-01/event_hour=06/part-7-…` → `2026-12-01 06h · partition 7`. */
function lakeFileLabel(path: string, partition: number): string {
  const m = /event_date=([\d-]+)\/event_hour=(\d+)/.exec(path);
  return m ? `${m[1]} ${m[2]}h · partition ${partition}` : path;
}

/** A panel that greys out with the broker's reason when its read was refused; the rest of the page goes on. */
function PanelCard<T>({ title, panel, testId, children }: { title: string; panel: Panel<T> | undefined; testId: string; children: (data: T) => ReactNode }) {
  return (
    <div className="card" data-testid={testId} data-ok={panel ? String(panel.ok) : undefined}>
      <h2>{title}</h2>
      {panel === undefined ? <div className="muted">loading…</div> : panel.ok ? children(panel.data) : (
        <div className="panel-refused-wrap">
          <div className="refused-reason" role="status">Unavailable: {panel.reason}</div>
          <div className="panel-refused muted">This panel needs that call; the rest of the page still works.</div>
        </div>
      )}
    </div>
  );
}

function Sparkline({ points }: { points: [number, number][] }) {
  if (points.length === 0) return <span className="muted">no samples</span>;
  return (
    <LineChart width={120} height={24} data={points.map(([t, lag]) => ({ t, lag }))}>
      <YAxis hide domain={[0, "dataMax"]} />
      <Line dataKey="lag" stroke="var(--accent)" dot={false} strokeWidth={1.5} isAnimationActive={false} />
    </LineChart>
  );
}

export function PipelineView() {
  const { data, error, loading } = useJson<PipelineSnapshot>("/api/pipeline", 5_000);
  const groups = data?.groups.ok ? data.groups.data : [];
  return (
    <main className="page">
      <div className="page-head">
        <h1>Pipeline health</h1>
        <span className="muted" style={{ fontSize: "0.85rem" }}>
          {data ? `topic ${data.topic} · as of ${time(data.at)} · refreshes every 5 s` : loading ? "loading…" : ""}
        </span>
      </div>
      <RefreshError error={error} stale={Boolean(data)} />
      <div className="grid pipeline-grid">
        <div className="grid">
        <PanelCard title="Partitions" panel={data?.partitions} testId="partitions">
          {(rows) => (
            <div className="scroll">
              <table className="data">
                <thead>
                  <tr>
                    <th>Partition</th>
                    <th>Log start</th>
                    <th>Log end</th>
                    {groups.map((g) => (
                      <th key={g.groupId} colSpan={2}>
                        {g.groupId.replace(/^orderpulse-/, "")} commit / lag
                      </th>
                    ))}
                    <th>Watermark</th>
                    <th>Delay</th>
                    <th>Gaps</th>
                    <th>Lag, last hour</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((p) => (
                    <tr key={p.partition} data-testid="partition-row" data-partition={p.partition}>
                      <td>
                        {p.partition} {p.idle && <span className="tag idle">idle</span>}
                      </td>
                      <td>{whole.format(p.logStart)}</td>
                      <td>{whole.format(p.logEnd)}</td>
                      {groups.map((g) => {
                        const lag = g.partitions.find((x) => x.partition === p.partition);
                        return [
                          <td key={`${g.groupId}-c`}>{lag?.committed === null || lag === undefined ? "—" : whole.format(lag.committed)}</td>,
                          <td key={`${g.groupId}-l`} data-group={g.groupId} data-field="lag" data-lag={lag?.lag} title={lag?.processed != null ? `from the processed position ${whole.format(lag.processed)} its commit records (the commit trails by the de-duplication horizon)` : undefined}>
                            {lag ? whole.format(lag.lag) : "—"}
                            {lag && lag.lag > 0 && lag.secondsBehind !== null ? <span className="muted"> (~{lag.secondsBehind} s)</span> : null}
                          </td>,
                        ];
                      })}
                      <td>{time(p.watermark)}</td>
                      <td>{seconds(p.watermarkDelayMs)}</td>
                      <td data-field="gaps">{whole.format(p.offsetGaps)}</td>
                      <td>
                        <Sparkline points={p.sparkline} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </PanelCard>
        <PanelCard title="Dead letters" panel={data?.deadLetters} testId="dead-letters">
          {(d) => (
            <>
              <div className="stats" style={{ marginBottom: "0.5rem" }}>
                <div className="stat">
                  <div className="v" data-testid="dlq-count">{whole.format(d.count)}</div>
                  <div className="k">in {d.topic}</div>
                </div>
                <div className="stat">
                  <div className="v" data-testid="dlq-rate">{d.perMinute === null ? "—" : d.perMinute}</div>
                  <div className="k">{deadLetterRateLabel(d.rateWindowMs)}</div>
                </div>
              </div>
              <DeadLetterBrowser topic={data?.topic ?? ""} dlqTopic={d.topic} />
            </>
          )}
        </PanelCard>
        </div>
        <div className="grid">
          <PanelCard title="Throughput" panel={data?.rates} testId="rates">
            {(r) => (
              <div className="stats">
                <div className="stat">
                  <div className="v">{r.inPerSecond === null ? "—" : r.inPerSecond}</div>
                  <div className="k">events/s in (produced)</div>
                </div>
                <div className="stat">
                  <div className="v">{r.outPerSecond === null ? "—" : r.outPerSecond}</div>
                  <div className="k">events/s out (metrics worker)</div>
                </div>
              </div>
            )}
          </PanelCard>
          <PanelCard title="Consumer groups" panel={data?.groups} testId="groups">
            {(gs) => (
              <>
              {data?.groupListing.ok === false && <div className="refused-reason">Group state and members unavailable (ListGroups/DescribeGroups): {data.groupListing.reason}</div>}
              <table className="data">
                <thead>
                  <tr>
                    <th>Group</th>
                    <th>State</th>
                    <th>Members</th>
                    <th>Lag</th>
                  </tr>
                </thead>
                <tbody>
                  {gs.map((g) => (
                    <tr key={g.groupId} data-testid="group-row" data-group={g.groupId} data-lag={g.totalLag}>
                      <td>{g.groupId}</td>
                      <td className={g.state === null ? "panel-refused" : undefined}>{g.state ?? "—"}</td>
                      <td className={g.members === null ? "panel-refused" : undefined}>{g.members ?? "—"}</td>
                      <td>{whole.format(g.totalLag)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              </>
            )}
          </PanelCard>
          <PanelCard title="Workers" panel={data?.workers} testId="workers">
            {(ws) => (
              <table className="data">
                <thead>
                  <tr>
                    <th>Worker</th>
                    <th>/healthz</th>
                    <th>Offset gaps</th>
                  </tr>
                </thead>
                <tbody>
                  {ws.map((w) => (
                    <tr key={w.name} data-testid="worker-row" data-worker={w.name} data-status={w.status ?? "unreachable"} className={w.reachable ? undefined : "panel-refused"} title={w.url}>
                      <td>{w.name}</td>
                      <td className="text">
                        <span className={`tag health-${w.status ?? "unreachable"}`}>{w.status ?? "unreachable"}</span> <span className="muted">{w.reason}</span>
                      </td>
                      <td data-field="gaps">{w.offsetGaps === null ? "—" : whole.format(w.offsetGaps)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </PanelCard>
          <PanelCard title="Topics" panel={data?.topics} testId="topics">
            {(ts) => (
              <>
                <table className="data">
                  <thead>
                    <tr>
                      <th>Topic</th>
                      <th>Retention</th>
                      <th>Per partition</th>
                      <th>Cleanup</th>
                    </tr>
                  </thead>
                  <tbody>
                    {ts.map((t) => (
                      <tr key={t.topic} data-testid="topic-row" data-topic={t.topic} data-warnings={t.warnings.length}>
                        <td title={t.role}>{t.topic}</td>
                        <td>{t.retentionMs === null ? "no time limit" : formatRetention(t.retentionMs)}</td>
                        <td>{t.retentionBytes === null ? "no size limit" : `${whole.format(Math.round(t.retentionBytes / 1_048_576))} MiB`}</td>
                        <td>{t.cleanupPolicy}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                {ts.flatMap((t) => t.warnings.map((w) => (
                  <div key={`${t.topic}:${w}`} className="refused-reason" role="status" data-testid="topic-warning">
                    {t.topic}: {w}
                  </div>
                )))}
              </>
            )}
          </PanelCard>
          <PanelCard title="Lake" panel={data?.lake} testId="lake">
            {(l) => (
              <>
                <div className="stats" style={{ marginBottom: "0.5rem" }}>
                  <div className="stat">
                    <div className="v" data-testid="lake-lag">{whole.format(l.lagMessages)}</div>
                    <div className="k">messages not yet in the lake</div>
                  </div>
                </div>
                <table className="data">
                  <thead>
                    <tr>
                      <th>Latest files</th>
                      <th>Offsets</th>
                      <th>KiB</th>
                      <th>Written</th>
                    </tr>
                  </thead>
                  <tbody>
                    {l.files.map((f) => (
                      <tr key={f.path}>
                        <td title={f.path}>{lakeFileLabel(f.path, f.partition)}</td>
                        <td>{whole.format(f.offsets)}</td>
                        <td>{(f.bytes / 1024).toFixed(1)}</td>
                        <td>{time(f.mtimeMs)}</td>
                      </tr>
                    ))}
                    {l.files.length === 0 && (
                      <tr>
                        <td className="muted" colSpan={4}>
                          no committed files yet
                        </td>
                      </tr>
                    )}
                  </tbody>
                </table>
              </>
            )}
          </PanelCard>
        </div>
      </div>
    </main>
  );
}
