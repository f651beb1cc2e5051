"use client";
/**
 * The SQL editor: CodeMirror 6 (through @uiw/react-codemirror) with DuckDB-ish
 * SQL highlighting and completion of the lake's view and column names;
 * Ctrl/Cmd+Enter runs.
 */
import CodeMirror, { keymap, Prec } from "@uiw/react-codemirror";
import { PostgreSQL, sql } from "@codemirror/lang-sql";
import { useMemo } from "react";
import { useShellTheme } from "../use-shell-theme.ts";

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
  const theme = useShellTheme();
  return (
    <div data-testid="sql-editor" className="sql-editor">
      <CodeMirror value={value} onChange={onChange} extensions={extensions} theme={theme} height="12rem" basicSetup={{ lineNumbers: true, foldGutter: false }} />
    </div>
  );
}
