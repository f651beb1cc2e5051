"use client";
/**
 * The dead-letter topic, newest first and paged, with reason, source coordinates and a preview;
 * select dead letters (checkboxes, every one of a reason, or a time range), fix payloads in a
 * JSON editor (CodeMirror 6), and redrive them to the source topic: a dry run first shows what
 * will be sent and what is skipped, then "Redrive" sends (POST /api/actions/redrive, audited).
 */
import { EditorView } from "@uiw/react-codemirror";
import { json, jsonParseLinter } from "@codemirror/lang-json";
import { linter } from "@codemirror/lint";
import { useMemo, useState } from "react";
import type { DeadLetter } from "../../lib/web/dead-letters.ts";
import type { DeadLetterPage } from "../../workers/shared/dead-letters.ts";
import { useJson } from "../use-json.ts";
import { CodeEditor } from "../code-editor.tsx";

/** `2026-12-01 11:20:07` in the browser's zone. */
const time = (ms: number | null) => (ms === null ? "—" : new Date(ms).toLocaleString("sv-SE"));

type Selection = { kind: "ids"; ids: string[] } | { kind: "filter"; code?: string; from?: string; to?: string };

interface RedriveAnswer {
  redrive: { of: string; topic: string; partition: number | null; edited: boolean }[];
  skipped: { id: string; why: string }[];
  selected: number;
  dryRun: boolean;
  error?: { message: string };
}

function PayloadEditor({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  // Wrapped lines: an unwrapped payload widened the table, and its scroll box cut off the table's left edge.
  const extensions = useMemo(() => [json(), linter(jsonParseLinter()), EditorView.lineWrapping], []);
  return (
    <div data-testid="payload-editor" className="payload-editor">
      <CodeEditor value={value} onChange={onChange} extensions={extensions} height="7rem" />
    </div>
  );
}

/** The edits with `id`'s payload set to `text`; one equal to the original again is no edit (it is redriven as it was). */
function withEdit(edits: Record<string, string>, id: string, text: string, original: string | null): Record<string, string> {
  const { [id]: _, ...rest } = edits;
  void _;
  return text === original ? rest : { ...rest, [id]: text };
}

/** `topic`: the source topic redrives go to; `dlqTopic`: its dead-letter topic. */
export function DeadLetterBrowser({ topic, dlqTopic }: { topic: string; dlqTopic: string }) {
  const [code, setCode] = useState("");
  const [cursors, setCursors] = useState<string[]>([]);
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const [edits, setEdits] = useState<Record<string, string>>({});
  const [editing, setEditing] = useState<string | null>(null);
  const [range, setRange] = useState({ from: "", to: "" });
  const [pending, setPending] = useState<{ selection: Selection; label: string; answer: RedriveAnswer } | null>(null);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const before = cursors.at(-1);
  const url = `/api/pipeline/dead-letters?${new URLSearchParams({ limit: "25", ...(before ? { before } : {}), ...(code ? { code } : {}) })}`;
  // Not while a payload is being edited: newer dead letters would move its row away under the editor.
  const { data, error, loading, refresh } = useJson<DeadLetterPage>(url, editing === null ? 10_000 : null);
  const codes = useMemo(() => [...new Set([...(data?.items.map((d) => d.code) ?? []), ...(code ? [code] : [])])].sort(), [data, code]);

  const post = async (selection: Selection, dryRun: boolean): Promise<RedriveAnswer> => {
    const ids = selection.kind === "ids" ? new Set(selection.ids) : undefined;
    const chosenEdits = Object.fromEntries(Object.entries(edits).filter(([id]) => !ids || ids.has(id)));
    const response = await fetch("/api/actions/redrive", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ select: selection, edits: chosenEdits, dryRun }) });
    const body = (await response.json().catch(() => ({ error: { message: `HTTP ${response.status}` } }))) as RedriveAnswer;
    if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
    return body;
  };
  const preview = async (selection: Selection, label: string) => {
    setBusy(true);
    setResult(null);
    try {
      setPending({ selection, label, answer: await post(selection, true) });
    } catch (e) {
      setResult({ ok: false, text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const confirm = async () => {
    if (!pending) return;
    setBusy(true);
    try {
      const answer = await post(pending.selection, false);
      setResult({ ok: true, text: `Redrove ${answer.redrive.length} dead letter${answer.redrive.length === 1 ? "" : "s"} to ${topic} (${answer.redrive.filter((r) => r.edited).length} edited)${answer.skipped.length ? `; skipped ${answer.skipped.length}` : ""}.` });
      setPending(null);
      setChecked(new Set());
      refresh();
    } catch (e) {
      setResult({ ok: false, text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const toggle = (id: string) => setChecked((s) => { const n = new Set(s); if (n.has(id)) n.delete(id); else n.add(id); return n; });
  const items = data?.items ?? [];
  const rangeIso = (local: string) => (local ? new Date(local).toISOString() : undefined);

  return (
    <div data-testid="dlq-browser">
      <div className="dlq-toolbar">
        <label>
          Reason{" "}
          <select data-testid="dlq-reason" value={code} onChange={(e) => { setCode(e.target.value); setCursors([]); }}>
            <option value="">all</option>
            {codes.map((c) => <option key={c} value={c}>{c}</option>)}
          </select>
        </label>
        <button type="button" data-testid="redrive-selected" disabled={busy || checked.size === 0} onClick={() => void preview({ kind: "ids", ids: [...checked] }, `${checked.size} selected`)}>
          Redrive selected ({checked.size})
        </button>
        {code && <button type="button" data-testid="redrive-reason" disabled={busy} onClick={() => void preview({ kind: "filter", code }, `every ${code}`)}>Redrive every {code}</button>}
        <span className="spacer" />
        <span className="muted">{data ? `page ${cursors.length + 1}${code ? ` of ${code}` : ""}` : loading ? "loading…" : ""}</span>
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>Newer</button>
        <button type="button" data-testid="dlq-older" disabled={!data?.next} onClick={() => data?.next && setCursors([...cursors, data.next])}>Older</button>
      </div>
      <div className="dlq-toolbar">
        <span className="muted">Dead-lettered between</span>
        <span className="dlq-range">
          <input type="datetime-local" step="1" aria-label="from" value={range.from} onChange={(e) => setRange({ ...range, from: e.target.value })} />
          and
          <input type="datetime-local" step="1" aria-label="to" value={range.to} onChange={(e) => setRange({ ...range, to: e.target.value })} />
          <button type="button" data-testid="redrive-range" disabled={busy || (!range.from && !range.to)} onClick={() => void preview({ kind: "filter", ...(code ? { code } : {}), from: rangeIso(range.from), to: rangeIso(range.to) }, `${code || "all"} in the time range`)}>
            Redrive range
          </button>
        </span>
      </div>
      {pending && (
        <div className="dlq-confirm" role="dialog" aria-label="confirm redrive" data-testid="redrive-confirm">
          <div>
            Redrive {pending.label}: <strong data-testid="redrive-count">{pending.answer.redrive.length}</strong> to {topic}
            {" "}({pending.answer.redrive.filter((r) => r.edited).length} edited){pending.answer.skipped.length > 0 && `, ${pending.answer.skipped.length} skipped`}. Each goes to its source partition with a replay header; the metrics worker validates and de-duplicates it like any order.
          </div>
          {pending.answer.skipped.length > 0 && <ul className="muted">{pending.answer.skipped.slice(0, 5).map((s) => <li key={s.id}>{s.id}: {s.why}</li>)}</ul>}
          <button type="button" data-testid="redrive-go" disabled={busy || pending.answer.redrive.length === 0} onClick={() => void confirm()}>Redrive</button>{" "}
          <button type="button" onClick={() => setPending(null)}>Cancel</button>
        </div>
      )}
      {result && <div className={result.ok ? "dlq-result" : "banner"} role="status" data-testid="redrive-result">{result.text}</div>}
      {error && <div className="banner" role="alert">Could not read {dlqTopic}: {error}{data ? " (showing the last page read)" : ""}</div>}
      <div className="scroll">
        <table className="data dlq-table">
          <thead>
            <tr>
              <th aria-label="select" />
              <th>Dead-lettered</th>
              <th>Reason</th>
              <th>Source (topic/partition/offset)</th>
              <th>Bytes</th>
              <th aria-label="edit" />
            </tr>
          </thead>
          <tbody>
            {items.flatMap((d: DeadLetter) => [
              <tr key={d.id} data-testid="dlq-row" data-id={d.id} data-code={d.code}>
                <td><input type="checkbox" aria-label={`select ${d.id}`} checked={checked.has(d.id)} onChange={() => toggle(d.id)} /></td>
                <td>{time(d.at)}</td>
                <td className="text">
                  <span className="tag">{d.code}</span> {d.reason}
                  {d.redriveOf && <span className="tag idle" title={`a redrive of ${d.redriveOf}, invalid again`}> redrive</span>}
                </td>
                <td>{d.source.topic ?? "?"}/{d.source.partition ?? "?"}/{d.source.offset ?? "?"}</td>
                <td className="text">
                  <code>{d.id in edits ? edits[d.id] : d.preview}</code>
                  {d.id in edits && <span className="tag partial"> edited</span>}
                </td>
                <td>
                  {d.text !== null && (
                    <button type="button" data-testid="dlq-edit" onClick={() => setEditing(editing === d.id ? null : d.id)}>
                      {editing === d.id ? "Done" : "Edit"}
                    </button>
                  )}
                </td>
              </tr>,
              editing === d.id ? (
                <tr key={`${d.id}-edit`}>
                  <td />
                  <td colSpan={5}>
                    <PayloadEditor value={edits[d.id] ?? d.text ?? ""} onChange={(v) => setEdits((e) => withEdit(e, d.id, v, d.text))} />
                    <button type="button" onClick={() => { setEdits((e) => withEdit(e, d.id, d.text!, d.text)); setEditing(null); }}>Discard edit</button>
                  </td>
                </tr>
              ) : null,
            ])}
            {data && items.length === 0 && (
              <tr>
                <td className="muted" colSpan={6}>{code ? `no ${code} dead letters` : "no dead letters"}</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
