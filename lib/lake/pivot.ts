/**
 * Dynamic PIVOT under the statement gate. `PIVOT orders ON country USING
 * sum(amount)` takes its columns from the data, so DuckDB's parser turns it
 * into two statements (a CREATE TYPE … AS ENUM over the distinct values, then
 * the SELECT), and json_serialize_sql, which serializes only SELECTs, cannot
 * show its tree. The probe is the same text with ` IN (1)` after each ON column
 * that has no IN list: a static PIVOT, one SELECT whose tree holds every table
 * ref, function and expression of the original, for the gate to check.
 *
 * Why the probe is safe to judge the original by: it differs only by inserted
 * text without quotes or comment marks, so every string, comment and token of
 * the original stays what it was; an insertion that lands somewhere the lexer
 * here misjudged leaves the PIVOT dynamic (or breaks the syntax), and the
 * probe then fails to serialize as one SELECT: refused, never waved through.
 * Pure.
 */

interface Token {
  kind: "word" | "punct" | "other";
  text: string;
  start: number;
  end: number;
}

/**
 * DuckDB's lexical structure (PostgreSQL's): `--` and nested `/* *\/` comments,
 * '…' strings (E'…' with backslash escapes), $tag$…$tag$ strings, "…" identifiers.
 * Whitespace and comments are dropped.
 */
function tokens(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const start = i;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      while (i < n && sql[i] !== "\n") i++;
    } else if (c === "/" && sql[i + 1] === "*") {
      let depth = 0;
      while (i < n) {
        if (sql[i] === "/" && sql[i + 1] === "*") {
          depth++;
          i += 2;
        } else if (sql[i] === "*" && sql[i + 1] === "/") {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
    } else if (c === "'" || ((c === "e" || c === "E") && sql[i + 1] === "'")) {
      const backslash = c !== "'";
      i += backslash ? 2 : 1;
      while (i < n) {
        if (backslash && sql[i] === "\\") i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") {
          i++;
          break;
        } else i++;
      }
      out.push({ kind: "other", text: sql.slice(start, i), start, end: i });
    } else if (c === '"') {
      i++;
      while (i < n) {
        if (sql[i] === '"' && sql[i + 1] === '"') i += 2;
        else if (sql[i] === '"') {
          i++;
          break;
        } else i++;
      }
      out.push({ kind: "other", text: sql.slice(start, i), start, end: i });
    } else if (c === "$" && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(sql.slice(i))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))![0];
      const close = sql.indexOf(tag, i + tag.length);
      i = close < 0 ? n : close + tag.length;
      out.push({ kind: "other", text: sql.slice(start, i), start, end: i });
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      while (i < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[i]!)) i++;
      out.push({ kind: "word", text: sql.slice(start, i).toLowerCase(), start, end: i });
    } else if ("(),;".includes(c)) {
      i++;
      out.push({ kind: "punct", text: c, start, end: i });
    } else {
      i++;
      out.push({ kind: "other", text: c, start, end: i });
    }
  }
  return out;
}

/** Words that end a PIVOT's ON list. */
const AFTER_ON = new Set(["using", "group", "order", "limit", "offset"]);

export interface PivotProbe {
  /** The original with ` IN (1)` after each dynamic ON column. */
  sql: string;
  /** How many ON columns were dynamic: DuckDB adds at most one CREATE TYPE statement for each. */
  dynamicColumns: number;
}

/**
 * The static probe of a statement that is a dynamic PIVOT (`PIVOT` or
 * `PIVOT_WIDER` first), or undefined when it is not one. A PIVOT whose
 * source has an `ON` of its own (a join) is not recognised: wrap the source in
 * parentheses.
 */
export function pivotProbe(sql: string): PivotProbe | undefined {
  const all = tokens(sql);
  const first = all[0];
  if (!first || first.kind !== "word" || (first.text !== "pivot" && first.text !== "pivot_wider")) return undefined;
  let depth = 0;
  let on = -1;
  for (let t = 1; t < all.length; t++) {
    const token = all[t]!;
    if (token.text === "(") depth++;
    else if (token.text === ")") depth--;
    else if (depth === 0 && token.kind === "word" && token.text === "on") {
      on = t;
      break;
    }
  }
  if (on < 0) return undefined;
  const insertAt: number[] = [];
  let itemStart = on + 1;
  let itemHasIn = false;
  depth = 0;
  for (let t = on + 1; t <= all.length; t++) {
    const token = all[t];
    const ends = !token || (depth === 0 && (token.text === "," || token.text === ";" || (token.kind === "word" && AFTER_ON.has(token.text))));
    if (ends) {
      if (t > itemStart && !itemHasIn) insertAt.push(all[t - 1]!.end);
      if (!token || token.text !== ",") break;
      itemStart = t + 1;
      itemHasIn = false;
      continue;
    }
    if (token.text === "(") depth++;
    else if (token.text === ")") depth--;
    else if (depth === 0 && token.kind === "word" && token.text === "in") itemHasIn = true;
  }
  if (insertAt.length === 0) return undefined;
  let probe = "";
  let from = 0;
  for (const at of insertAt) {
    probe += `${sql.slice(from, at)} IN (1)`;
    from = at;
  }
  return { sql: probe + sql.slice(from), dynamicColumns: insertAt.length };
}
