"use client";
import { useCallback, useEffect, useState } from "react";
import { formatMeasure, type ComparisonCell, type Mismatch, type ReconcileSummary, type TimeRange, type ViewMeasure } from "../../lib/batch/reconcile.ts";
import type { Run } from "../../lib/ops/schedule.ts";
import { differenceText, progressLine } from "../../lib/web/batch-view.ts";
import { postJson } from "./post-json.ts";

interface Comparison {
  range: TimeRange;
  windowSizeMs: number;
  summary: ReconcileSummary;
  cells: ComparisonCell[];
  offsetGaps: number;
  openPartitions: { partition: number; watermark: number | null }[];
  missingDimsVersions: string[];
}

const COLUMNS: { measure: ViewMeasure; label: string }[] = [
  { measure: "revenue", label: "Revenue" },
  { measure: "orders", label: "Orders" },
  { measure: "late_orders", label: "Late" },
  { measure: "late_revenue", label: "Late rev." },
  { measure: "duplicate_orders", label: "Dups" },
  { measure: "duplicate_revenue", label: "Dup rev." },
];
/** Most cells drawn at once; the summary counts all of them. */
const MAX_ROWS = 500;

const isoMinute = (ms: number) => new Date(ms).toISOString().slice(0, 16) + "Z";
const utcTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");

function Value({ cell, measure }: { cell: ComparisonCell; measure: ViewMeasure }) {
  const miss = cell.mismatches.find((m) => m.measure === measure);
  const lake = formatMeasure(measure, cell.expected[measure]);
  // No order_window point on either side (a window with late or duplicate events only).
  if (!miss) return <td data-field={measure}>{cell.expected[measure] === null ? "—" : lake}</td>;
  return (
    <td data-field={measure} className="mismatch" data-mismatch="true" title={`lake ${lake} · InfluxDB ${formatMeasure(measure, cell.actual[measure])}`}>
      <div>
        {lake} <span className="muted">lake</span>
      </div>
      <div>
        {formatMeasure(measure, cell.actual[measure])} <span className="muted">InfluxDB</span>
      </div>
      <div className="diff" data-testid="difference">
        {differenceText(measure, cell.expected[measure], cell.actual[measure])}
      </div>
    </td>
  );
}

/** Mismatches of measures the columns do not show (items, customers, each dimension key). */
const otherMismatches = (cell: ComparisonCell): Mismatch[] => cell.mismatches.filter((m) => !COLUMNS.some((c) => c.measure === m.measure));

/** InfluxDB against the lake replay for a range, per window and partition; "repair this range" runs reconcile --repair through the scheduler. */
export function ReconcileView() {
  const [from, setFrom] = useState(() => isoMinute(Date.now() - 3_600_000));
  const [to, setTo] = useState(() => isoMinute(Date.now() + 60_000));
  const [comparison, setComparison] = useState<Comparison | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [comparing, setComparing] = useState(false);
  const [onlyMismatches, setOnlyMismatches] = useState(false);
  const [repair, setRepair] = useState<Run | undefined>(undefined);

  // Always fresh: a click asks about InfluxDB and the lake now, and a kept result from seconds ago could hide a window
  // corrupted (or repaired) since. The server still runs one compare at a time and answers another one busy.
  const compare = useCallback(async (range: { from: string; to: string }) => {
    setComparing(true);
    try {
      const response = await fetch(`/api/reconcile?${new URLSearchParams({ ...range, fresh: "1" })}`, { cache: "no-store" });
      const body = (await response.json().catch(() => ({}))) as Comparison & { error?: { message: string } };
      if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
      setComparison(body);
      setError(undefined);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setComparing(false);
    }
  }, []);

  // Follow a queued repair until it ends, then compare the range again: it should read equal.
  useEffect(() => {
    if (!repair || repair.status === "success" || repair.status === "failed" || repair.status === "skipped") return;
    const timer = setTimeout(async () => {
      const response = await fetch(`/api/batch/runs/${repair.id}`, { cache: "no-store" }).catch(() => undefined);
      const body = (await response?.json().catch(() => undefined)) as { run?: Run } | undefined;
      if (!body?.run) return setRepair({ ...repair });
      setRepair(body.run);
      if (body.run.status === "success" || body.run.status === "failed") void compare({ from, to });
    }, 1_000);
    return () => clearTimeout(timer);
  }, [repair, compare, from, to]);

  const cells = comparison ? (onlyMismatches ? comparison.cells.filter((c) => c.mismatches.length > 0) : comparison.cells) : [];
  const repairing = repair !== undefined && (repair.status === "queued" || repair.status === "running");
  const summary = comparison?.summary;

  return (
    <div className="card reconcile" data-testid="reconcile">
      <div className="card-head">
        <h2>Reconciliation: InfluxDB against the lake</h2>
        <span className="muted">per window and partition; the lake replayed through the hot path</span>
      </div>
      <form
        className="action-row"
        onSubmit={(e) => {
          e.preventDefault();
          void compare({ from, to });
        }}
      >
        <label>
          From (UTC) <input value={from} onChange={(e) => setFrom(e.target.value)} data-testid="reconcile-from" size={20} />
        </label>
        <label>
          to <input value={to} onChange={(e) => setTo(e.target.value)} data-testid="reconcile-to" size={20} />
        </label>
        <button type="submit" disabled={comparing} data-testid="reconcile-compare">
          {comparing ? "Comparing…" : "Compare"}
        </button>
        <label className="check">
          <input type="checkbox" checked={onlyMismatches} onChange={(e) => setOnlyMismatches(e.target.checked)} /> mismatches only
        </label>
        <span className="spacer" />
        <button
          type="button"
          className="danger"
          data-testid="reconcile-repair"
          disabled={!comparison || repairing || summary?.status === "equal"}
          title="delete the range's window points in InfluxDB and rewrite them from the lake (reconcile --repair), then check again"
          onClick={() =>
            void postJson<{ run: Run }>("/api/actions/reconcile/repair", { from, to }).then(
              ({ run }) => setRepair(run),
              (e: Error) => setError(e.message),
            )
          }
        >
          Repair this range
        </button>
      </form>
      {repair && (
        <div className={`repair-progress status-${repair.status}`} data-testid="repair-progress" data-status={repair.status}>
          Repair run #{repair.id}: <b>{repair.status}</b>
          {repair.status === "queued" && " (waiting for the scheduler)"}
          {progressLine(repair.log) && <span className="muted"> · {progressLine(repair.log)}</span>}
          {repair.error && <span className="bad-text"> · {repair.error}</span>}
        </div>
      )}
      {error && (
        <div className="refused-reason" role="status" data-testid="reconcile-error">
          {error}
        </div>
      )}
      {!comparison ? (
        <div className="muted empty-state">{comparing ? "Replaying the lake and reading InfluxDB…" : "Pick a range (ISO-8601, UTC) and compare."}</div>
      ) : (
        <>
          <div className="stats" data-testid="reconcile-summary" data-status={summary!.status}>
            <div className="stat">
              <div className={`v ${summary!.status === "equal" ? "good-text" : "bad-text"}`} data-testid="reconcile-status">
                {summary!.status}
              </div>
              <div className="k">
                {utcTime(comparison.range.fromMs)} – {utcTime(comparison.range.toMs)}
              </div>
            </div>
            <div className="stat">
              <div className="v">{summary!.expectedWindows}</div>
              <div className="k">windows in the lake</div>
            </div>
            <div className="stat">
              <div className="v">{summary!.actualWindows}</div>
              <div className="k">windows in InfluxDB</div>
            </div>
            <div className="stat">
              <div className="v" data-testid="mismatched-cells">
                {summary!.mismatchedCells}
              </div>
              <div className="k">mismatched windows × partitions</div>
            </div>
            <div className="stat">
              <div className="v">{summary!.mismatches}</div>
              <div className="k">differing measures</div>
            </div>
          </div>
          {comparison.offsetGaps > 0 && <div className="refused-reason">The lake records {comparison.offsetGaps} offset gap(s): windows around them may differ.</div>}
          {comparison.missingDimsVersions.length > 0 && (
            <div className="refused-reason">
              InfluxDB records dim_customer version(s) {comparison.missingDimsVersions.join(", ")} that the lake no longer has: those windows&apos; segments are replayed with the version current at their start.
            </div>
          )}
          {cells.length === 0 ? (
            <div className="muted empty-state">{onlyMismatches ? "No mismatches in the range." : "No windows in the range on either side."}</div>
          ) : (
            <div className="scroll reconcile-scroll">
              <table className="data reconcile-table">
                <thead>
                  <tr>
                    <th>Window (UTC)</th>
                    <th>Partition</th>
                    {COLUMNS.map((c) => (
                      <th key={c.measure}>{c.label}</th>
                    ))}
                    <th className="text">Other differences (items, customers, dimensions)</th>
                  </tr>
                </thead>
                <tbody>
                  {cells.slice(0, MAX_ROWS).map((cell) => (
                    <tr
                      key={`${cell.windowStart}/${cell.partition}`}
                      data-testid="reconcile-row"
                      data-start={cell.windowStart}
                      data-partition={cell.partition}
                      data-mismatch={String(cell.mismatches.length > 0)}
                      className={cell.mismatches.length > 0 ? "row-mismatch" : ""}
                    >
                      <td>{utcTime(cell.windowStart)}</td>
                      <td>{cell.partition}</td>
                      {COLUMNS.map((c) => (
                        <Value key={c.measure} cell={cell} measure={c.measure} />
                      ))}
                      <td className="text">
                        {otherMismatches(cell).map((m) => (
                          <div key={m.measure} className="other-diff">
                            {m.measure}: {formatMeasure(m.measure, m.expected)} → {formatMeasure(m.measure, m.actual)} ({differenceText(m.measure, m.expected, m.actual)})
                          </div>
                        ))}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {cells.length > MAX_ROWS && <div className="muted">… and {cells.length - MAX_ROWS} more; narrow the range or show mismatches only.</div>}
            </div>
          )}
        </>
      )}
    </div>
  );
}
