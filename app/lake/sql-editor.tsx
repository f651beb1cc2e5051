"use client";
/**
 * The SQL editor: CodeMirror 6 (through @uiw/react-codemirror) with DuckDB-ish
 * SQL highlighting and completion of the lake's view and column names;
 * Ctrl/Cmd+Enter runs.
 */
import CodeMirror, { keymap, Prec } from "@uiw/react-codemirror";
import { PostgreSQL, sql } from "@codemirror/lang-sql";
import { useMemo } from "react";

export interface SqlEditorProps {
  value: string;
  onChange: (value: string) => void;
  onRun: () => void;
  /** View name → its column names, for completion. */
  schema: Record<string, string[]>;
}

export function SqlEditor({ value, onChange, onRun, schema }: SqlEditorProps) {
  const extensions = useMemo(
    () => [
      sql({ dialect: PostgreSQL, schema, upperCaseKeywords: true }),
      Prec.highest(keymap.of([{ key: "Mod-Enter", run: () => (onRun(), true) }])),
    ],
    [schema, onRun],
  );
  return (
    <div data-testid="sql-editor" style={{ border: "1px solid #334155", borderRadius: 6, overflow: "hidden" }}>
      <CodeMirror value={value} onChange={onChange} extensions={extensions} theme="dark" height="180px" basicSetup={{ lineNumbers: true, foldGutter: false }} />
    </div>
  );
}
