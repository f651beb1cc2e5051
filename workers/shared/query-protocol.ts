/** The messages between the query runner and its query processes (IPC, JSON). */
import type { QueryColumn } from "./lake-query.ts";

export type ParentMessage =
  | { type: "run"; id: number; sql: string; maxRows: number; pageRows: number; countForMs: number }
  /** The page of rows for query `id` was taken: send the next. */
  | { type: "ack"; id: number };

/** Why a query did not finish, as the query process saw it. */
export type ChildErrorKind = "refused" | "failed" | "time" | "memory" | "internal";

export type ChildMessage =
  | { type: "ready" }
  | { type: "fatal"; message: string }
  | { type: "columns"; id: number; columns: QueryColumn[] }
  | { type: "rows"; id: number; rows: unknown[][] }
  | { type: "done"; id: number; rowCount: number; rowCountExact: boolean; truncated: boolean }
  | { type: "error"; id: number; kind: ChildErrorKind; message: string };
