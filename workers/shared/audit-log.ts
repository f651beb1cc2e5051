/**
 * The dashboard's audit log: one JSON line per query, action or sign-in (who, when, what,
 * outcome), appended to `<state dir>/audit.log` (ORDERPULSE_STATE_DIR, default .orderpulse).
 * Appends of one line are atomic for lines under PIPE_BUF on Linux, so concurrent requests interleave whole lines.
 */
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { SERVICES_DIR } from "./env.ts";

export const AUDIT_LOG_FILE = resolve(SERVICES_DIR, "audit.log");

export interface AuditEntry {
  /** ISO-8601 UTC. */
  at: string;
  /** `session@addr`, `bearer@addr`, or the peer address without access control. */
  who: string;
  /** e.g. `POST /api/login`, `POST /api/query`. */
  what: string;
  outcome: "allowed" | "refused" | "ok" | "failed";
  detail?: string;
}

export async function appendAudit(entry: Omit<AuditEntry, "at">, now = Date.now(), file = AUDIT_LOG_FILE): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const line = JSON.stringify({ at: new Date(now).toISOString(), ...entry, detail: entry.detail?.slice(0, 500) });
  await appendFile(file, `${line}\n`);
}

/** The newest `limit` entries that `keep` accepts (default all), newest first; a missing log is empty. */
export async function readAudit(limit = 100, file = AUDIT_LOG_FILE, keep: (entry: AuditEntry) => boolean = () => true): Promise<AuditEntry[]> {
  // A runtime file in the state directory: not for next build's file tracing (workers/shared/env.ts).
  const text = await readFile(/* turbopackIgnore: true */ file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return "";
    throw error;
  });
  const entries = text.split("\n").filter(Boolean).flatMap((line) => {
    try {
      return [JSON.parse(line) as AuditEntry];
    } catch {
      return [];
    }
  });
  return entries.filter(keep).slice(-limit).reverse();
}
