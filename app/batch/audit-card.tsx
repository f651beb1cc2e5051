"use client";
import type { AuditEntry } from "../../workers/shared/audit-log.ts";
import { useJson } from "../use-json.ts";

/** The audit log (newest first): every query, run now, backfill, cancel and repair, who asked and how it went (its own reads left out). */
export function AuditCard() {
  const { data, error, loading } = useJson<{ entries: AuditEntry[] }>("/api/audit?limit=40&reads=false", 10_000);
  return (
    <div className="card" data-testid="audit">
      <h2>Audit log</h2>
      {error && <div className="refused-reason" role="status">Unavailable: {error}</div>}
      {!data ? (
        <div className="muted">{loading ? "loading…" : ""}</div>
      ) : data.entries.length === 0 ? (
        <div className="muted">Nothing audited yet: queries and actions appear here.</div>
      ) : (
        <div className="scroll audit-scroll">
          <table className="data">
            <thead>
              <tr>
                <th>When (UTC)</th>
                <th className="text">Who</th>
                <th className="text">What</th>
                <th>Outcome</th>
                <th className="text">Detail</th>
              </tr>
            </thead>
            <tbody>
              {data.entries.map((e, i) => (
                <tr key={`${e.at}-${i}`} data-testid="audit-row">
                  <td>{e.at.replace("T", " ").slice(0, 19)}</td>
                  <td className="text">{e.who}</td>
                  <td className="text">{e.what}</td>
                  <td>
                    <span className={`tag outcome-${e.outcome}`}>{e.outcome}</span>
                  </td>
                  <td className="text muted">{e.detail ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
