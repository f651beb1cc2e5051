import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { INTERRUPTED, type Run, type RunJob, type RunRange, type RunStatus, type Trigger } from "../../lib/ops/schedule.ts";

/** Where the scheduler keeps its run history: beside the lake it computes from, outside the lake's data folders. */
export function runStorePath(lakeDir: string): string {
  // Runtime data beside the lake, not a source: next build's file tracing must not copy a local run history into the output.
  return join(/* turbopackIgnore: true */ lakeDir, "_runs", "runs.sqlite");
}

export class RunStoreError extends Error {
  override name = "RunStoreError";
  constructor(readonly file: string, message: string) {
    super(`run history ${file}: ${message}`);
  }
}

interface RunRow {
  id: number;
  job: RunJob;
  date: string;
  range_from: number | null;
  range_to: number | null;
  trigger: Trigger;
  status: RunStatus;
  queued_at: number;
  started_at: number | null;
  ended_at: number | null;
  exit_code: number | null;
  rows: number | null;
  quality: string | null;
  error: string | null;
  log: string;
}

const toRun = (r: RunRow): Run => ({
  id: r.id,
  job: r.job,
  date: r.date,
  range: r.range_from === null || r.range_to === null ? null : { fromMs: r.range_from, toMs: r.range_to },
  trigger: r.trigger,
  status: r.status,
  queuedAt: r.queued_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  exitCode: r.exit_code,
  rows: r.rows,
  quality: r.quality,
  error: r.error,
  log: r.log,
});

/**
 * The run history in SQLite (better-sqlite3, WAL): every change is one committed
 * statement, so a killed scheduler leaves at most a `running` row, which the next
 * one marks failed (`recoverInterrupted`). A lease row keeps a second scheduler
 * from running jobs at the same time (one job at a time across processes too).
 */
export class RunStore {
  private readonly db: Database.Database;

  constructor(readonly file: string) {
    try {
      if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
      this.db = new Database(file);
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("busy_timeout = 5000");
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS runs (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          job TEXT NOT NULL, date TEXT NOT NULL, "trigger" TEXT NOT NULL, status TEXT NOT NULL,
          queued_at INTEGER NOT NULL, started_at INTEGER, ended_at INTEGER, exit_code INTEGER,
          rows INTEGER, quality TEXT, error TEXT, log TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX IF NOT EXISTS runs_by_day ON runs (date, job);
        CREATE TABLE IF NOT EXISTS scheduler_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS scheduler_lease (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, renewed_at INTEGER NOT NULL);
      `);
      // A history written before repairs were runs has no range columns: add them (SQLite adds nullable columns in place).
      const columns = new Set((this.db.prepare("PRAGMA table_info(runs)").all() as { name: string }[]).map((c) => c.name));
      for (const column of ["range_from", "range_to"]) if (!columns.has(column)) this.db.exec(`ALTER TABLE runs ADD COLUMN ${column} INTEGER`);
    } catch (error) {
      throw new RunStoreError(file, (error as Error).message);
    }
  }

  all(): Run[] {
    return (this.db.prepare("SELECT * FROM runs ORDER BY id").all() as RunRow[]).map(toRun);
  }

  get(id: number): Run | undefined {
    const row = this.db.prepare("SELECT * FROM runs WHERE id = ?").get(id) as RunRow | undefined;
    return row && toRun(row);
  }

  /** The newest `limit` runs, newest first. */
  recent(limit: number): Run[] {
    return (this.db.prepare("SELECT * FROM runs ORDER BY id DESC LIMIT ?").all(limit) as RunRow[]).map(toRun);
  }

  enqueue(job: RunJob, date: string, trigger: Trigger, now: number, range: RunRange | null = null): Run {
    const info = this.db
      .prepare(`INSERT INTO runs (job, date, "trigger", status, queued_at, range_from, range_to) VALUES (?, ?, ?, 'queued', ?, ?, ?)`)
      .run(job, date, trigger, now, range?.fromMs ?? null, range?.toMs ?? null);
    return this.get(Number(info.lastInsertRowid))!;
  }

  /** The output so far of a run still running (its progress, shown while it runs). */
  updateLog(id: number, log: string): void {
    this.db.prepare("UPDATE runs SET log = ? WHERE id = ? AND status = 'running'").run(log, id);
  }

  /** Queued → running; false when it was not queued any more (cancelled, or taken). */
  start(id: number, now: number): boolean {
    return this.db.prepare("UPDATE runs SET status = 'running', started_at = ? WHERE id = ? AND status = 'queued'").run(now, id).changes === 1;
  }

  finish(id: number, now: number, outcome: { status: "success" | "failed"; exitCode: number | null; rows: number | null; quality: string | null; error: string | null; log: string }): void {
    this.db
      .prepare("UPDATE runs SET status = ?, ended_at = ?, exit_code = ?, rows = ?, quality = ?, error = ?, log = ? WHERE id = ? AND status = 'running'")
      .run(outcome.status, now, outcome.exitCode, outcome.rows, outcome.quality, outcome.error, outcome.log, id);
  }

  /**
   * Queued runs become `skipped` (cancel a backfill); returns how many. With `keepDate`,
   * that day's queued runs stay (cancel after the current day: its reconcile still follows its KPIs).
   */
  cancelQueued(now: number, keepDate?: string): number {
    return this.db
      .prepare("UPDATE runs SET status = 'skipped', ended_at = ?, error = 'cancelled before it started' WHERE status = 'queued' AND (? IS NULL OR date <> ? OR range_from IS NOT NULL)")
      .run(now, keepDate ?? null, keepDate ?? null).changes;
  }

  /** Runs left `running` by a scheduler that stopped become failed; returns them. */
  recoverInterrupted(now: number): Run[] {
    const running = (this.db.prepare("SELECT * FROM runs WHERE status = 'running'").all() as RunRow[]).map(toRun);
    this.db.prepare("UPDATE runs SET status = 'failed', ended_at = ?, error = ? WHERE status = 'running'").run(now, INTERRUPTED);
    return running;
  }

  getState(key: string): string | undefined {
    return (this.db.prepare("SELECT value FROM scheduler_state WHERE key = ?").get(key) as { value: string } | undefined)?.value;
  }

  setState(key: string, value: string): void {
    this.db.prepare("INSERT INTO scheduler_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(key, value);
  }

  /**
   * Takes or renews the scheduler lease for `owner`; returns the other live holder
   * when it cannot (its lease was renewed less than `ttlMs` ago).
   */
  acquireLease(owner: string, now: number, ttlMs: number): { ok: true } | { ok: false; holder: string; renewedAt: number } {
    return this.db.transaction(() => {
      const lease = this.db.prepare("SELECT owner, renewed_at FROM scheduler_lease WHERE id = 1").get() as { owner: string; renewed_at: number } | undefined;
      if (lease && lease.owner !== owner && now - lease.renewed_at < ttlMs) return { ok: false as const, holder: lease.owner, renewedAt: lease.renewed_at };
      this.db.prepare("INSERT INTO scheduler_lease (id, owner, renewed_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, renewed_at = excluded.renewed_at").run(owner, now);
      return { ok: true as const };
    }).immediate();
  }

  /** The scheduler lease as last renewed, if any (the Batch page says whether a scheduler is running). */
  lease(): { owner: string; renewedAt: number } | undefined {
    const row = this.db.prepare("SELECT owner, renewed_at FROM scheduler_lease WHERE id = 1").get() as { owner: string; renewed_at: number } | undefined;
    return row && { owner: row.owner, renewedAt: row.renewed_at };
  }

  releaseLease(owner: string): void {
    this.db.prepare("DELETE FROM scheduler_lease WHERE id = 1 AND owner = ?").run(owner);
  }

  close(): void {
    this.db.close();
  }
}
