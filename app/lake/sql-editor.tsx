"use client";
/**
 * The SQL editor: CodeMirror 6 (app/code-editor.tsx) with DuckDB-ish
 * SQL highlighting and completion of the lake's view and column names;
 * Ctrl/Cmd+Enter runs.
 */
import { keymap, Prec } from "@uiw/react-codemirror";
import { PostgreSQL, sql } from "@codemirror/lang-sql";
import { useMemo } from "react";
import { CodeEditor } from "../code-editor.tsx";

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
    <div data-testid="sql-editor" className="sql-editor">
      <CodeEditor value={value} onChange={onChange} extensions={extensions} height="12rem" lineNumbers />
    </div>
  );
}
