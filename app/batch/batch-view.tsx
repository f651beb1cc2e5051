"use client";
import { useEffect, useState } from "react";
import { addDays, JOBS, type BackfillDay, type Job, type Run, type RunStatus } from "../../lib/ops/schedule.ts";
import { agoText, durationText } from "../../lib/web/batch-view.ts";
import { runNowBasisText, type RunNowDefault } from "../../lib/web/run-now-day.ts";
import { RefreshError } from "../refresh-error.tsx";
import type { GoldDay } from "../../workers/batch/gold-reads.ts";
import type { BatchOverview, RunSummary } from "../../workers/shared/batch-service.ts";
import { useJson } from "../use-json.ts";
import { postJson } from "./post-json.ts";

const JOB_LABEL: Record<string, string> = { batch_daily: "Daily KPIs", reconcile: "Reconcile", reconcile_repair: "Repair" };
const STATUSES: readonly (RunStatus | "missing")[] = ["success", "failed", "running", "queued", "skipped", "missing"];
const whole = new Intl.NumberFormat("en-US");
const utc = (ms: number | null) => (ms === null ? "—" : new Date(ms).toISOString().replace("T", " ").slice(0, 19));

export function StatusLegend() {
  return (
    <div className="legend" data-testid="status-legend">
      {STATUSES.map((s) => (
        <span key={s} className="legend-item">
          <span className={`swatch status-${s}`} /> {s}
        </span>
      ))}
    </div>
  );
}

function RunCell({ date, job, run, selected, onSelect }: { date: string; job: Job; run: RunSummary | null; selected: boolean; onSelect: (run: RunSummary) => void }) {
  const status = run?.status ?? "missing";
  const title = run ? `${JOB_LABEL[job]} ${date}: ${status}${run.error ? ` — ${run.error}` : ""}` : `${JOB_LABEL[job]} ${date}: no run`;
  return (
    <td className="grid-td">
      <button
        type="button"
        className={`run-cell status-${status}`}
        data-testid="grid-cell"
        data-date={date}
        data-job={job}
        data-status={status}
        aria-pressed={selected}
        title={title}
        disabled={!run}
        onClick={() => run && onSelect(run)}
      >
        <span className="run-status">{status === "missing" ? "—" : status}</span>
        {run?.rows != null && <span className="run-meta">{whole.format(run.rows)} rows</span>}
        {run?.quality && <span className="run-meta">{run.quality}</span>}
      </button>
    </td>
  );
}

function RunDetails({ id }: { id: number }) {
  const { data, error } = useJson<{ run: Run }>(`/api/batch/runs/${id}`, 2_000);
  const run = data?.run;
  if (error && !run) return <div className="refused-reason">Unavailable: {error}</div>;
  if (!run) return <div className="muted">loading…</div>;
  const took = run.startedAt !== null ? (run.endedAt ?? Date.now()) - run.startedAt : null;
  return (
    <div data-testid="run-details" data-run={run.id} data-status={run.status}>
      <dl className="facts">
        <dt>Run</dt>
        <dd>
          #{run.id} · {JOB_LABEL[run.job]} · {run.date}
        </dd>
        <dt>Status</dt>
        <dd>
          <span className={`tag status-tag status-${run.status}`} data-testid="run-status">
            {run.status}
          </span>
        </dd>
        <dt>Trigger</dt>
        <dd>{run.trigger}</dd>
        {run.range && (
          <>
            <dt>Range</dt>
            <dd>
              {utc(run.range.fromMs)} – {utc(run.range.toMs)}
            </dd>
          </>
        )}
        <dt>Queued</dt>
        <dd>{utc(run.queuedAt)}</dd>
        <dt>Started</dt>
        <dd>{utc(run.startedAt)}</dd>
        <dt>Ended</dt>
        <dd>
          {utc(run.endedAt)}
          {took !== null && <span className="muted"> ({durationText(took)})</span>}
        </dd>
        <dt>Rows</dt>
        <dd data-testid="run-rows">{run.rows ?? "—"}</dd>
        <dt>Quality</dt>
        <dd>{run.quality ?? "—"}</dd>
        <dt>Exit code</dt>
        <dd>{run.exitCode ?? "—"}</dd>
        {run.error && (
          <>
            <dt>Error</dt>
            <dd className="bad-text">{run.error}</dd>
          </>
        )}
      </dl>
      <h3>Log</h3>
      <pre className="log" data-testid="run-log">
        {run.log || (run.status === "queued" ? "waiting for the scheduler…" : "no output")}
      </pre>
    </div>
  );
}

function KpisCard({ date, now }: { date: string; now: number }) {
  const { data, error, loading } = useJson<GoldDay>(`/api/batch/kpis?date=${date}`, 5_000);
  return (
    <div className="card" data-testid="kpis">
      <h2>Gold daily_kpis</h2>
      <div className="freshness" data-testid="kpis-freshness">
        {data?.computedAt != null ? (
          <>
            KPIs for <b>{date}</b> computed <span title={utc(data.computedAt)}>{agoText(data.computedAt, now)}</span>
          </>
        ) : data ? (
          <>
            KPIs for <b>{date}</b> not computed yet
          </>
        ) : (
          <span className="muted">{loading ? "loading…" : ""}</span>
        )}
      </div>
      {error && <div className="refused-reason">Unavailable: {error}</div>}
      {data && data.rows.length > 0 && (
        <table className="data kpi-table">
          <tbody>
            {data.columns.map((c, i) => (
              <tr key={c.name}>
                <th>{c.name}</th>
                <td data-testid={`kpi-${c.name}`}>{typeof data.rows[0]![i] === "number" ? whole.format(data.rows[0]![i] as number) : String(data.rows[0]![i] ?? "")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/**
 * `onChanged`: after every action, so the grid and the queued count show its effect at once, not at the next poll.
 * `firstRunDay`: the day Run now offers first, read from the lake by the server (workers/shared/batch-service.ts).
 */
function ActionsCard({ overview, firstRunDay, onQueued, onChanged }: { overview: BatchOverview; firstRunDay: RunNowDefault; onQueued: (run: Run | undefined) => void; onChanged: () => void }) {
  const yesterday = addDays(overview.today, -1);
  const [date, setDate] = useState(firstRunDay.date);
  const [job, setJob] = useState<Job | "all">("all");
  const [from, setFrom] = useState(addDays(overview.today, -7));
  const [to, setTo] = useState(yesterday);
  const [plan, setPlan] = useState<BackfillDay[] | undefined>(undefined);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const run = async (what: () => Promise<string>) => {
    setBusy(true);
    try {
      setMessage({ ok: true, text: await what() });
    } catch (error) {
      setMessage({ ok: false, text: (error as Error).message });
    } finally {
      setBusy(false);
      onChanged();
    }
  };
  const preview = () =>
    run(async () => {
      const response = await fetch(`/api/batch/backfill?${new URLSearchParams({ from, to })}`, { cache: "no-store" });
      const body = (await response.json()) as { plan?: BackfillDay[]; error?: { message: string } };
      if (!response.ok || !body.plan) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
      setPlan(body.plan);
      const days = body.plan.filter((d) => d.action === "run").length;
      return `${days} of ${body.plan.length} day(s) are missing or failed and will run`;
    });
  const toRun = plan?.filter((d) => d.action === "run").length ?? 0;

  return (
    <div className="card" data-testid="batch-actions">
      <h2>Run</h2>
      <form
        className="action-row"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const { queued } = await postJson<{ queued: Run[] }>("/api/actions/batch/run", { date, job });
            onQueued(queued[0]);
            return `queued ${queued.map((r) => `${JOB_LABEL[r.job]} ${r.date}`).join(", ")}`;
          });
        }}
      >
        <label>
          Day <input type="date" value={date} onChange={(e) => setDate(e.target.value)} data-testid="run-date" required />
        </label>
        <select value={job} onChange={(e) => setJob(e.target.value as Job | "all")} aria-label="job" data-testid="run-job">
          <option value="all">KPIs then reconcile</option>
          {JOBS.map((j) => (
            <option key={j} value={j}>
              {JOB_LABEL[j]} only
            </option>
          ))}
        </select>
        <button type="submit" disabled={busy} data-testid="run-now">
          Run now
        </button>
      </form>
      {date === firstRunDay.date && (
        <div className="muted" style={{ fontSize: "0.85rem", marginTop: "-0.25rem" }} data-testid="run-date-basis" data-basis={firstRunDay.basis}>
          {firstRunDay.date}: {runNowBasisText(firstRunDay.basis)}
        </div>
      )}

      <h3>Backfill</h3>
      <div className="action-row">
        <label>
          From <input type="date" value={from} onChange={(e) => (setFrom(e.target.value), setPlan(undefined))} data-testid="backfill-from" />
        </label>
        <label>
          to <input type="date" value={to} onChange={(e) => (setTo(e.target.value), setPlan(undefined))} data-testid="backfill-to" />
        </label>
        <button type="button" disabled={busy} onClick={() => void preview()} data-testid="backfill-preview">
          Preview
        </button>
        <button
          type="button"
          disabled={busy || !plan || toRun === 0}
          data-testid="backfill-run"
          onClick={() =>
            void run(async () => {
              const { queued } = await postJson<{ queued: Run[] }>("/api/actions/batch/backfill", { from, to });
              setPlan(undefined);
              onQueued(queued[0]);
              return `backfill queued ${queued.length} run(s)`;
            })
          }
        >
          Backfill {plan ? `${toRun} day${toRun === 1 ? "" : "s"}` : ""}
        </button>
      </div>
      {plan && (
        <div className="scroll plan-scroll">
          <table className="data" data-testid="backfill-plan">
            <thead>
              <tr>
                <th>Day</th>
                {JOBS.map((j) => (
                  <th key={j}>{JOB_LABEL[j]}</th>
                ))}
                <th>Will run</th>
              </tr>
            </thead>
            <tbody>
              {plan.map((d) => (
                <tr key={d.date} data-action={d.action} className={d.action === "run" ? "plan-run" : "plan-skip"}>
                  <td>{d.date}</td>
                  {JOBS.map((j) => (
                    <td key={j}>
                      <span className={`tag status-tag status-${d.state[j]}`}>{d.state[j]}</span>
                    </td>
                  ))}
                  <td>{d.action === "run" ? d.jobs.map((j) => JOB_LABEL[j]).join(", ") : <span className="muted">skip: done</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="action-row">
        <button
          type="button"
          disabled={busy || overview.queued === 0}
          data-testid="cancel-queued"
          onClick={() =>
            void run(async () => {
              const { skipped, finishing } = await postJson<{ skipped: number; finishing: string | null }>("/api/actions/batch/cancel", {});
              return `skipped ${skipped} queued run(s)${finishing ? `; ${finishing} finishes first` : ""}`;
            })
          }
        >
          Cancel after the current day
        </button>
        <span className="muted">{overview.queued} queued</span>
      </div>
      {message && (
        <div className={message.ok ? "note" : "refused-reason"} role="status" data-testid="action-message">
          {message.text}
        </div>
      )}
    </div>
  );
}

/** The run history grid, a run's details, run now / backfill / cancel, and the gold KPIs of a day; `firstRunDay` is the day Run now offers first. */
export function BatchView({ firstRunDay }: { firstRunDay: RunNowDefault }) {
  const { data, error, loading, refresh } = useJson<BatchOverview>("/api/batch?days=14", 2_000);
  const [selected, setSelected] = useState<number | undefined>(undefined);
  const [kpiDate, setKpiDate] = useState<string | undefined>(undefined);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 10_000);
    return () => clearInterval(timer);
  }, []);
  const select = (run: RunSummary | Run | undefined) => {
    if (!run) return;
    setSelected(run.id);
    if (run.job === "batch_daily") setKpiDate(run.date);
  };
  // The KPIs shown by default: the newest day whose daily KPIs succeeded, else the day Run now offers.
  const shownKpiDate = kpiDate ?? (data ? (data.grid.find((d) => d.jobs.batch_daily?.status === "success")?.date ?? firstRunDay.date) : undefined);

  return (
    <>
      <div className="page-head">
        <h1>Batch</h1>
        {data && (
          <span className={`pill ${data.scheduler.running ? "pill-good" : "pill-bad"}`} data-testid="scheduler-state" data-running={String(data.scheduler.running)}>
            {data.scheduler.running ? `scheduler running` : "scheduler not running"}
          </span>
        )}
        <span className="muted" style={{ fontSize: "0.85rem" }}>
          {data ? `business days in ${data.businessTz} · today ${data.today}${data.current ? ` · running ${JOB_LABEL[data.current.job]} ${data.current.date}` : ""}` : loading ? "loading…" : ""}
        </span>
      </div>
      <RefreshError error={error} stale={Boolean(data)} />
      {data && !data.scheduler.running && (
        <div className="banner" role="status" data-testid="scheduler-banner">
          No scheduler holds the run history{data.scheduler.renewedAt ? ` (last seen ${agoText(data.scheduler.renewedAt, now)})` : ""}: queued runs wait until <code>npm run worker:scheduler</code> runs.
        </div>
      )}
      {data && (
        <div className="grid batch-grid">
          <div className="card" data-testid="run-history">
            <div className="card-head">
              <h2>Run history</h2>
              <StatusLegend />
            </div>
            <div className="scroll history-scroll">
              <table className="data history">
                <thead>
                  <tr>
                    <th>Day</th>
                    {JOBS.map((j) => (
                      <th key={j}>{JOB_LABEL[j]}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {data.grid.map((day) => (
                    <tr key={day.date} data-testid="grid-row" data-date={day.date}>
                      <td>
                        <button type="button" className="link" onClick={() => setKpiDate(day.date)} title="show this day's KPIs">
                          {day.date}
                        </button>
                      </td>
                      {JOBS.map((j) => (
                        <RunCell key={j} date={day.date} job={j} run={day.jobs[j]} selected={day.jobs[j]?.id === selected} onSelect={select} />
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
          <div className="stack">
            <ActionsCard overview={data} firstRunDay={firstRunDay} onQueued={select} onChanged={refresh} />
            {shownKpiDate && <KpisCard date={shownKpiDate} now={now} />}
          </div>
          <div className="card" data-testid="run-panel">
            <h2>Run details</h2>
            {selected !== undefined ? <RunDetails id={selected} /> : <div className="muted">Pick a cell of the grid or a recent run.</div>}
            <h3>Recent runs</h3>
            {data.recent.length === 0 ? (
              <div className="muted">No runs yet.</div>
            ) : (
              <div className="scroll recent-scroll">
                <table className="data">
                  <tbody>
                    {data.recent.map((r) => (
                      <tr key={r.id} data-testid="recent-run" className={r.id === selected ? "selected" : ""} onClick={() => select(r)}>
                        <td>#{r.id}</td>
                        <td className="text">
                          {JOB_LABEL[r.job]} {r.date}
                        </td>
                        <td>{r.trigger}</td>
                        <td>
                          <span className={`tag status-tag status-${r.status}`}>{r.status}</span>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </div>
        </div>
      )}
    </>
  );
}
