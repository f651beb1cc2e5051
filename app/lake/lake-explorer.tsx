"use client";
/**
 * The Lake SQL explorer: editor, schema browser, saved examples, results
 * (table, chart, CSV download), history. Every query goes through /api/query,
 * i.e. the bounded query runner; Cancel names the query's id to
 * /api/query/cancel, which kills its process.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { EXAMPLE_QUERIES } from "./examples.ts";
import { ResultChart } from "./result-chart.tsx";
import { ResultTable, type ResultColumn } from "./result-table.tsx";
import { SqlEditor } from "./sql-editor.tsx";

interface Answer {
  columns: ResultColumn[];
  rows: unknown[][];
  rowCount: number;
  rowCountExact: boolean;
  truncated: boolean;
  elapsedMs: number;
}

interface SchemaView {
  name: string;
  rows: number | null;
  columns: ResultColumn[];
}

interface HistoryEntry {
  sql: string;
  status: string;
  at: number;
  durationMs: number;
  rows: number | null;
  kind: string;
}

const LIMIT = 1_000;
const number = (n: number) => n.toLocaleString("en-US");

/** The heading above an error of the query API (workers/shared/query-service.ts errorResponse codes). */
const ERROR_TITLES: Record<string, string> = {
  refused: "Query refused",
  failed: "Query failed",
  bad_request: "Bad request",
  time_limit: "Time limit reached",
  memory_limit: "Memory limit reached",
  busy: "The query runner is busy",
  cancelled: "Cancelled",
  unavailable: "The query runner is unavailable",
  network: "No answer from the server",
};

/** "1,000 of 48,112 rows · 84 ms". */
export function summaryLine(answer: Answer): string {
  const shown = answer.rows.length;
  const total = answer.truncated ? `${number(shown)} of ${answer.rowCountExact ? "" : "at least "}${number(answer.rowCount)} rows` : `${number(shown)} row${shown === 1 ? "" : "s"}`;
  return `${total} · ${number(answer.elapsedMs)} ms`;
}

export function LakeExplorer() {
  const [sql, setSql] = useState(EXAMPLE_QUERIES[0]!.sql);
  const [answer, setAnswer] = useState<Answer | undefined>();
  const [error, setError] = useState<{ code: string; message: string } | undefined>();
  const [running, setRunning] = useState<string | undefined>();
  const [schema, setSchema] = useState<SchemaView[] | undefined>();
  const [history, setHistory] = useState<HistoryEntry[]>([]);
  const [tab, setTab] = useState<"table" | "chart">("table");
  const sqlRef = useRef(sql);
  sqlRef.current = sql;
  const runningRef = useRef(running);
  runningRef.current = running;

  const loadHistory = useCallback(async () => {
    const response = await fetch("/api/query/history");
    if (response.ok) setHistory((await response.json()).entries);
  }, []);

  useEffect(() => {
    void (async () => {
      const response = await fetch("/api/query/schema");
      const body = await response.json();
      if (response.ok) setSchema(body.views);
      else setError(body.error);
    })();
    void loadHistory();
  }, [loadHistory]);

  const run = useCallback(async () => {
    if (runningRef.current) return;
    const id = `q${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    setRunning(id);
    setError(undefined);
    try {
      const response = await fetch("/api/query", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ sql: sqlRef.current, limit: LIMIT, id }) });
      const body = await response.json();
      if (response.ok) setAnswer(body);
      else setError(body.error);
    } catch (caught) {
      setError({ code: "network", message: `the server did not answer: ${(caught as Error).message}` });
    } finally {
      setRunning(undefined);
      void loadHistory();
    }
  }, [loadHistory]);

  const cancel = async () => {
    if (running) await fetch("/api/query/cancel", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id: running }) });
  };

  const completion = useMemo(() => Object.fromEntries((schema ?? []).map((v) => [v.name, v.columns.map((c) => c.name)])), [schema]);
  const csvHref = `/api/query.csv?${new URLSearchParams({ sql })}`;

  return (
    <main className="page">
      <div className="lake-layout">
        <aside className="card lake-aside">
          <h2>Views</h2>
          {!schema && !error && <p className="muted">Loading…</p>}
          <ul data-testid="schema" className="plain">
            {(schema ?? []).map((view) => (
              <li key={view.name}>
                <details>
                  <summary>
                    <code>{view.name}</code> <span className="muted">{view.rows === null ? "" : `${number(view.rows)} rows`}</span>
                  </summary>
                  <ul className="plain lake-columns">
                    {view.columns.map((c) => (
                      <li key={c.name}>
                        <code>{c.name}</code>
                        <span className="muted">{c.type}</span>
                      </li>
                    ))}
                  </ul>
                </details>
              </li>
            ))}
          </ul>
          <h2>Examples</h2>
          <ul className="plain">
            {EXAMPLE_QUERIES.map((example) => (
              <li key={example.title}>
                <button type="button" className="link" onClick={() => setSql(example.sql)}>
                  {example.title}
                </button>
              </li>
            ))}
          </ul>
        </aside>

        <section className="lake-main">
          <div className="page-head">
            <h1>Lake SQL</h1>
          </div>
          <SqlEditor value={sql} onChange={setSql} onRun={run} schema={completion} />
          <div className="toolbar">
            <button type="button" className="primary" onClick={run} disabled={Boolean(running)}>
              {running ? "Running…" : "Run"} <span className="key-hint">Ctrl+Enter</span>
            </button>
            <button type="button" onClick={cancel} disabled={!running}>
              Cancel
            </button>
            <a href={csvHref} download="query.csv" className="button">
              Download CSV
            </a>
            {answer && !error && (
              <span data-testid="result-summary" className="muted">
                {summaryLine(answer)}
              </span>
            )}
          </div>
          {error && (
            <div role="alert" data-testid="query-error" className="banner query-error">
              <strong>{ERROR_TITLES[error.code] ?? error.code.replace("_", " ")}</strong>
              {/* Monospaced, so DuckDB's ^ under the error points at the right character. */}
              <pre className="query-error-message">{error.message.replace(/^query (refused|failed): /, "")}</pre>
            </div>
          )}
          {answer && (
            // A new set of columns starts unsorted (the sort is by column position).
            <div className={error ? "result stale" : "result"}>
              <div className="segmented">
                {(["table", "chart"] as const).map((t) => (
                  <button key={t} type="button" aria-pressed={tab === t} onClick={() => setTab(t)}>
                    {t === "table" ? "Table" : "Chart"}
                  </button>
                ))}
              </div>
              {tab === "table" ? <ResultTable key={answer.columns.map((c) => c.name).join("\u0000")} columns={answer.columns} rows={answer.rows} /> : <ResultChart columns={answer.columns} rows={answer.rows} />}
            </div>
          )}
          <div className="card lake-history">
            <h2>History</h2>
            <table data-testid="history" className="data">
              <thead>
                <tr>
                  <th>When</th>
                  <th className="left">Status</th>
                  <th>Duration</th>
                  <th>Rows</th>
                  <th className="left">SQL</th>
                </tr>
              </thead>
              <tbody>
                {/* By position: two identical queries can end in the same millisecond (ten concurrent ones
                    answered "busy"), and the rows hold no state of their own to keep across a reload. */}
                {history.slice(0, 20).map((entry, i) => (
                  <tr key={i} className="clickable" onClick={() => setSql(entry.sql)}>
                    <td>{new Date(entry.at).toISOString().slice(11, 19)}</td>
                    <td className={entry.status === "ok" ? "left good" : "left bad"}>{entry.status}</td>
                    <td>{number(entry.durationMs)} ms</td>
                    <td>{entry.rows === null ? "" : number(entry.rows)}</td>
                    <td className="left sql-cell">{entry.sql}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </div>
    </main>
  );
}
