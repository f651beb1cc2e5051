"use client";
/**
 * A CodeMirror 6 editor (through @uiw/react-codemirror) whose text follows the `value` prop
 * and the shell's theme: the one wrapper the SQL editor and the dead-letter payload editor share.
 */
import CodeMirror, { ExternalChange, type EditorView, type Extension } from "@uiw/react-codemirror";
import { useEffect, useState } from "react";

/** The shell's theme (`data-theme` on <html>), followed as the user toggles it. */
function useShellTheme(): "dark" | "light" {
  const [theme, setTheme] = useState<"dark" | "light">("dark");
  useEffect(() => {
    const root = document.documentElement;
    const read = () => setTheme(root.dataset.theme === "light" ? "light" : "dark");
    read();
    const observer = new MutationObserver(read);
    observer.observe(root, { attributes: true, attributeFilter: ["data-theme"] });
    return () => observer.disconnect();
  }, []);
  return theme;
}

/**
 * Replaces the editor's whole text with `value` when they differ (a change made outside the
 * editor), marked as the library's external change: no echo through onChange, no typing timer.
 */
function showValue(view: EditorView | undefined, value: string): void {
  if (view && view.state.doc.toString() !== value)
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value }, annotations: [ExternalChange.of(true)] });
}

export interface CodeEditorProps {
  value: string;
  onChange: (value: string) => void;
  extensions: Extension[];
  /** CSS height of the editor, e.g. `12rem`. */
  height: string;
  lineNumbers?: boolean;
}

export function CodeEditor({ value, onChange, extensions, height, lineNumbers = false }: CodeEditorProps) {
  const theme = useShellTheme();
  const [view, setView] = useState<EditorView | undefined>();
  // The library gets the first value only; later ones are applied here. Its own `value` handling defers a
  // value that arrives within 200 ms of typing and later applies that deferred, by then stale, value: an
  // example picked right after typing, then more typing, left the editor showing the example while the
  // page held (and ran) what was typed. This effect runs after the library's (declared later), which
  // finds its unchanging first value already shown or typed over and does nothing.
  const [initial] = useState(value);
  useEffect(() => showValue(view, value), [value, view]);
  return (
    <CodeMirror
      value={initial}
      onChange={onChange}
      onCreateEditor={setView}
      extensions={extensions}
      theme={theme}
      height={height}
      basicSetup={{ lineNumbers, foldGutter: false }}
    />
  );
}
