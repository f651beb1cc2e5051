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
import { ResultTable, smallButton, type ResultColumn } from "./result-table.tsx";
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
    <main style={{ display: "grid", gridTemplateColumns: "260px 1fr", gap: 16, padding: 16, minHeight: "100vh", boxSizing: "border-box" }}>
      <aside style={{ fontSize: 13, overflow: "auto" }}>
        <h2 style={h2}>Views</h2>
        {!schema && !error && <p style={{ color: "#64748b" }}>Loading…</p>}
        <ul data-testid="schema" style={{ listStyle: "none", padding: 0, margin: 0 }}>
          {(schema ?? []).map((view) => (
            <li key={view.name} style={{ marginBottom: 6 }}>
              <details>
                <summary style={{ cursor: "pointer" }}>
                  <code>{view.name}</code> <span style={{ color: "#64748b" }}>{view.rows === null ? "" : `${number(view.rows)} rows`}</span>
                </summary>
                <ul style={{ listStyle: "none", paddingLeft: 14, margin: "4px 0" }}>
                  {view.columns.map((c) => (
                    <li key={c.name} style={{ display: "flex", justifyContent: "space-between", gap: 8 }}>
                      <code>{c.name}</code>
                      <span style={{ color: "#64748b" }}>{c.type}</span>
                    </li>
                  ))}
                </ul>
              </details>
            </li>
          ))}
        </ul>
        <h2 style={h2}>Examples</h2>
        <ul style={{ listStyle: "none", padding: 0, margin: 0 }}>
          {EXAMPLE_QUERIES.map((example) => (
            <li key={example.title}>
              <button type="button" onClick={() => setSql(example.sql)} style={{ ...linkButton }}>
                {example.title}
              </button>
            </li>
          ))}
        </ul>
      </aside>

      <section style={{ minWidth: 0 }}>
        <h1 style={{ fontSize: 20, margin: "0 0 12px" }}>Lake SQL</h1>
        <SqlEditor value={sql} onChange={setSql} onRun={run} schema={completion} />
        <div style={{ display: "flex", gap: 8, alignItems: "center", margin: "8px 0" }}>
          <button type="button" onClick={run} disabled={Boolean(running)} style={primaryButton}>
            {running ? "Running…" : "Run"} <span style={{ opacity: 0.7, fontSize: 11 }}>Ctrl+Enter</span>
          </button>
          <button type="button" onClick={cancel} disabled={!running} style={{ ...smallButton, padding: "6px 12px", opacity: running ? 1 : 0.5 }}>
            Cancel
          </button>
          <a href={csvHref} download="query.csv" style={{ ...smallButton, padding: "6px 12px", textDecoration: "none" }}>
            Download CSV
          </a>
          {answer && !error && (
            <span data-testid="result-summary" style={{ color: "#94a3b8", fontSize: 13 }}>
              {summaryLine(answer)}
            </span>
          )}
        </div>
        {error && (
          <div role="alert" data-testid="query-error" style={{ background: "#450a0a", border: "1px solid #b91c1c", color: "#fecaca", borderRadius: 6, padding: "8px 12px", whiteSpace: "pre-wrap", fontSize: 13 }}>
            <strong>{error.code.replace("_", " ")}</strong>: {error.message}
          </div>
        )}
        {answer && (
          <div style={{ marginTop: 8, opacity: error ? 0.4 : 1 }}>
            <div style={{ display: "flex", gap: 4, marginBottom: 6 }}>
              {(["table", "chart"] as const).map((t) => (
                <button key={t} type="button" onClick={() => setTab(t)} style={{ ...smallButton, background: tab === t ? "#334155" : "#1e293b" }}>
                  {t === "table" ? "Table" : "Chart"}
                </button>
              ))}
            </div>
            {tab === "table" ? <ResultTable columns={answer.columns} rows={answer.rows} /> : <ResultChart columns={answer.columns} rows={answer.rows} />}
          </div>
        )}
        <h2 style={{ ...h2, marginTop: 20 }}>History</h2>
        <table data-testid="history" style={{ fontSize: 12, borderCollapse: "collapse", width: "100%" }}>
          <thead>
            <tr style={{ color: "#94a3b8", textAlign: "left" }}>
              <th style={cell}>When</th>
              <th style={cell}>Status</th>
              <th style={{ ...cell, textAlign: "right" }}>Duration</th>
              <th style={{ ...cell, textAlign: "right" }}>Rows</th>
              <th style={cell}>SQL</th>
            </tr>
          </thead>
          <tbody>
            {history.slice(0, 20).map((entry) => (
              <tr key={`${entry.at}-${entry.sql}`} style={{ borderTop: "1px solid #1e293b", cursor: "pointer" }} onClick={() => setSql(entry.sql)}>
                <td style={cell}>{new Date(entry.at).toISOString().slice(11, 19)}</td>
                <td style={{ ...cell, color: entry.status === "ok" ? "#86efac" : "#fca5a5" }}>{entry.status}</td>
                <td style={{ ...cell, textAlign: "right" }}>{number(entry.durationMs)} ms</td>
                <td style={{ ...cell, textAlign: "right" }}>{entry.rows === null ? "" : number(entry.rows)}</td>
                <td style={{ ...cell, fontFamily: "monospace", maxWidth: 520, overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>{entry.sql}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </main>
  );
}

const h2 = { fontSize: 13, textTransform: "uppercase", letterSpacing: 1, color: "#94a3b8", margin: "12px 0 6px" } as const;
const cell = { padding: "4px 8px" } as const;
const linkButton = { background: "none", border: "none", color: "#38bdf8", cursor: "pointer", padding: "2px 0", fontSize: 13, textAlign: "left" } as const;
const primaryButton = { background: "#0284c7", color: "white", border: "none", borderRadius: 4, padding: "6px 14px", cursor: "pointer", fontWeight: 600 } as const;
