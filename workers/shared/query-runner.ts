/**
 * The query runner (design.md, "Lake": SQL over the lake): every ad-hoc query
 * runs in a separate query process (query-process.ts) whose time and memory
 * the operating system bounds, so no query can hurt the server whatever
 * DuckDB does inside a scalar function. The CLI and the web share it.
 *
 * - Memory: each process is started under `prlimit --data=<limit>` (RLIMIT_DATA:
 *   the kernel refuses private writable memory past the limit, so DuckDB gets a
 *   bad allocation and V8 aborts) and its resident set is read from
 *   /proc/<pid>/status every rssPollMs while a query runs; past the limit it is
 *   SIGKILLed. Either way the caller gets QueryLimitError ("stopped at the 2 GB
 *   memory limit").
 * - Time: the process interrupts the query at timeoutMs itself; a query that
 *   does not honour the interrupt (a busy scalar function) is SIGKILLed
 *   KILL_GRACE_MS later. Cancel (an AbortSignal) SIGKILLs at once.
 * - A killed process is replaced at once; a warm spare answers the next query
 *   meanwhile.
 * - Concurrency: at most `concurrency` queries run, `queueLimit` wait; past
 *   that QueryBusyError.
 * - Rows come back in pages (each acknowledged before the next), up to an
 *   explicit maxRows.
 * - Processes die with the runner (`setpriv --pdeathsig KILL`, and an IPC
 *   disconnect).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { formatByteSize } from "../../lib/contract/byte-size.ts";
import { QueryRejectedError } from "../../lib/lake/statement-gate.ts";
import { QueryFailedError, type QueryColumn } from "./lake-query.ts";
import type { ChildMessage, ParentMessage } from "./query-protocol.ts";

export interface QueryRunnerOptions {
  lakeDir: string;
  /** IANA zone of daily_kpis' day boundary (BUSINESS_TZ); default UTC. */
  businessTz?: string;
  /** QUERY_TIMEOUT, ms. */
  timeoutMs: number;
  /** QUERY_MEMORY_LIMIT, bytes, per query process. */
  memoryLimitBytes: number;
  /** Queries running at once; default 2. */
  concurrency?: number;
  /** Queries waiting for a process before QueryBusyError; default 8. */
  queueLimit?: number;
  /** Extra warm processes beyond `concurrency`, so a kill costs the next query nothing; default 1. */
  spares?: number;
  /** Rows per page between a query process and the runner; default 500. */
  pageRows?: number;
  /** How often a running query's resident memory is read; default 20 ms. */
  rssPollMs?: number;
}

export interface RunOptions {
  /** At most this many rows come back; `truncated` says there were more. */
  maxRows: number;
  /** Aborting kills the query's process at once (QueryCancelledError). */
  signal?: AbortSignal;
  /** After maxRows, count the rest for at most this long, for "1,000 of 48,112 rows"; default 0. */
  countForMs?: number;
  onColumns?: (columns: QueryColumn[]) => void | Promise<void>;
  /** One page of rows; the next page waits until this resolves. */
  onRows: (rows: unknown[][]) => void | Promise<void>;
}

export interface RunSummary {
  columns: QueryColumn[];
  /** The result's rows; a lower bound when !rowCountExact. */
  rowCount: number;
  rowCountExact: boolean;
  truncated: boolean;
  /** From the query reaching its process to its last row, ms. */
  elapsedMs: number;
}

export interface QueryAnswer extends RunSummary {
  rows: unknown[][];
}

/** The query was stopped at its time or memory limit; its process was killed or interrupted. */
export class QueryLimitError extends Error {
  constructor(
    readonly limit: "time" | "memory",
    /** ms for time, bytes for memory. */
    readonly value: number,
    readonly sql: string,
  ) {
    super(`query stopped at the ${limit === "time" ? `${formatSeconds(value)} time` : `${formatByteSize(value)} memory`} limit`);
    this.name = "QueryLimitError";
  }
}

/** Every query process is busy and the queue is full: try again shortly. */
export class QueryBusyError extends Error {
  constructor(
    readonly running: number,
    readonly waiting: number,
  ) {
    super(`busy: ${running} queries running and ${waiting} waiting, the most allowed; try again in a moment`);
    this.name = "QueryBusyError";
  }
}

/** The caller cancelled the query; its process was killed. */
export class QueryCancelledError extends Error {
  constructor(readonly sql: string) {
    super("query cancelled");
    this.name = "QueryCancelledError";
  }
}

/** The query process could not start or died for a reason that is not a limit. */
export class QueryProcessError extends Error {
  constructor(message: string, readonly pid?: number) {
    super(message);
    this.name = "QueryProcessError";
  }
}

/** Every error a run can end with. */
export type QueryError = QueryRejectedError | QueryFailedError | QueryLimitError | QueryBusyError | QueryCancelledError | QueryProcessError;

const formatSeconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`);

/** How long past its time limit a query that ignores DuckDB's interrupt may run before SIGKILL. */
const KILL_GRACE_MS = 250;

/** Where query-process.ts sits: beside this file when run from source, else under the working directory (Next.js bundles). */
function processEntry(): string {
  const here = typeof import.meta.dirname === "string" ? join(import.meta.dirname, "query-process.ts") : undefined;
  if (here && existsSync(here)) return here;
  return resolve(process.cwd(), "workers/shared/query-process.ts");
}

const hasTool = (tool: string) => spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0;
let tools: { prlimit: boolean; setpriv: boolean } | undefined;

/** Resident set size of a process, bytes; undefined once it is gone. */
export function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

type KillReason = "time" | "memory" | "cancel" | "close";

interface Running {
  id: number;
  sql: string;
  options: RunOptions;
  columns: QueryColumn[];
  startedAt: number;
  settle: (error: Error | undefined, summary?: RunSummary) => void;
  /** Pages handed to onRows one at a time, in order. */
  delivery: Promise<void>;
}

/** One query process, warm (lake snapshot open) once `ready` resolves. */
class QueryProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  exited = false;
  /** Being killed on purpose: never offered a query again. */
  retired = false;
  /** It said it was ready: only such a process is replaced when it dies (a broken lake would otherwise spawn forever). */
  becameReady = false;
  killReason: KillReason | undefined;
  running: Running | undefined;
  private stderrTail = "";
  private rssTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly runner: { options: Required<QueryRunnerOptions>; onExit: (p: QueryProcess) => void },
  ) {
    const { options } = runner;
    const entry = processEntry();
    const root = resolve(dirname(entry), "../..");
    tools ??= { prlimit: hasTool("prlimit"), setpriv: hasTool("setpriv") };
    const node = [process.execPath, "--import", "tsx", entry];
    const limited = tools.prlimit ? ["prlimit", `--data=${options.memoryLimitBytes}:${options.memoryLimitBytes}`, "--", ...node] : node;
    const command = tools.setpriv ? ["setpriv", "--pdeathsig", "KILL", "--", ...limited] : limited;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      QUERY_LAKE_DIR: resolve(options.lakeDir),
      QUERY_BUSINESS_TZ: options.businessTz,
      QUERY_TIMEOUT_MS: String(options.timeoutMs),
      // DuckDB's own limit, below the process's: its buffer-managed operators fail cleanly first.
      QUERY_DUCKDB_MEMORY: `${Math.max(64, Math.floor((options.memoryLimitBytes * 0.6) / 1e6))}MB`,
    };
    delete env.NODE_OPTIONS; // an inherited --inspect or heap flag is not ours to pass on
    this.child = spawn(command[0]!, command.slice(1), { cwd: root, env, stdio: ["ignore", "ignore", "pipe", "ipc"], serialization: "advanced" });
    this.child.stderr!.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-4_000);
    });
    this.ready = new Promise<void>((ready, failed) => {
      this.child.on("message", (message: ChildMessage) => {
        if (message.type === "ready") {
          this.becameReady = true;
          ready();
        }
        else if (message.type === "fatal") failed(new QueryProcessError(message.message, this.child.pid));
        else this.onMessage(message);
      });
      this.child.on("error", (error) => failed(new QueryProcessError(`cannot start a query process: ${error.message}`)));
      this.child.on("exit", (code, signal) => {
        this.exited = true;
        this.stopWatching();
        failed(new QueryProcessError(`the query process exited before it was ready (${signal ?? `code ${code}`}): ${this.stderrTail.trim().slice(-500)}`));
        this.finish(code, signal);
        runner.onExit(this);
      });
    });
    this.ready.catch(() => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  kill(reason: KillReason): void {
    this.retired = true;
    if (this.exited) return;
    this.killReason ??= reason;
    this.child.kill("SIGKILL");
  }

  run(id: number, sql: string, options: RunOptions, settle: Running["settle"]): void {
    const { options: limits } = this.runner;
    this.running = { id, sql, options, columns: [], startedAt: Date.now(), settle, delivery: Promise.resolve() };
    const message: ParentMessage = { type: "run", id, sql, maxRows: options.maxRows, pageRows: limits.pageRows, countForMs: options.countForMs ?? 0 };
    this.child.send(message, (error) => error && this.kill("close"));
    this.rssTimer = setInterval(() => {
      const rss = this.child.pid === undefined ? undefined : residentBytes(this.child.pid);
      if (rss !== undefined && rss > limits.memoryLimitBytes) this.kill("memory");
    }, limits.rssPollMs);
  }

  private stopWatching(): void {
    clearInterval(this.rssTimer);
    this.rssTimer = undefined;
  }

  private onMessage(message: ChildMessage): void {
    const running = this.running;
    if (!running || !("id" in message) || message.id !== running.id) return;
    const elapsed = () => Date.now() - running.startedAt;
    switch (message.type) {
      case "columns":
        running.columns = message.columns;
        running.delivery = running.delivery.then(() => running.options.onColumns?.(message.columns));
        break;
      case "rows":
        running.delivery = running.delivery.then(async () => {
          await running.options.onRows(message.rows);
          if (!this.exited && this.running === running) this.child.send({ type: "ack", id: running.id } satisfies ParentMessage, () => undefined);
        });
        break;
      case "done":
        this.end(running, async () => {
          await running.delivery;
          return { columns: running.columns, rowCount: message.rowCount, rowCountExact: message.rowCountExact, truncated: message.truncated, elapsedMs: elapsed() };
        });
        break;
      case "error":
        // After an allocation failure at the data limit the allocator may keep what it got:
        // the process is replaced rather than trusted with the next query.
        if (message.kind === "memory") this.kill("memory");
        this.end(running, async () => {
          await running.delivery;
          throw this.errorOf(message.kind, message.message, running.sql);
        });
        break;
    }
  }

  private errorOf(kind: Extract<ChildMessage, { type: "error" }>["kind"], message: string, sql: string): Error {
    const { options } = this.runner;
    switch (kind) {
      case "refused":
        return new QueryRejectedError(message, sql);
      case "failed":
        return new QueryFailedError(message, sql);
      case "time":
        return new QueryLimitError("time", options.timeoutMs, sql);
      case "memory":
        return new QueryLimitError("memory", options.memoryLimitBytes, sql);
      default:
        return new QueryProcessError(`the query process failed: ${message}`, this.child.pid);
    }
  }

  /** Settles the running query with `outcome`, unless the process died first. */
  private end(running: Running, outcome: () => Promise<RunSummary>): void {
    this.stopWatching();
    outcome().then(
      (summary) => this.settle(running, undefined, summary),
      (error: Error) => this.settle(running, error),
    );
  }

  private settle(running: Running, error: Error | undefined, summary?: RunSummary): void {
    if (this.running !== running) return;
    this.running = undefined;
    running.settle(error, summary);
  }

  /** The process is gone: the running query, if any, ends with why. */
  private finish(code: number | null, signal: NodeJS.Signals | null): void {
    const running = this.running;
    if (!running) return;
    const { options } = this.runner;
    const crashedOnMemory =
      /out of memory|allocation failed|bad_alloc|cannot allocate/i.test(this.stderrTail) || signal === "SIGABRT" || code === 134;
    const error =
      this.killReason === "time"
        ? new QueryLimitError("time", options.timeoutMs, running.sql)
        : this.killReason === "memory" || (this.killReason === undefined && crashedOnMemory)
          ? new QueryLimitError("memory", options.memoryLimitBytes, running.sql)
          : this.killReason === "cancel"
            ? new QueryCancelledError(running.sql)
            : this.killReason === "close"
              ? new QueryProcessError("the query runner was closed", this.child.pid)
              : new QueryProcessError(`the query process ended unexpectedly (${signal ?? `code ${code}`})`, this.child.pid);
    // Pages already handed out finish first, so the caller never sees rows after the error.
    running.delivery.finally(() => this.settle(running, error));
  }
}

/** Runs lake queries in bounded processes; see the module comment. */
export class QueryRunner {
  readonly options: Required<QueryRunnerOptions>;
  private readonly processes = new Set<QueryProcess>();
  private readonly idle: QueryProcess[] = [];
  private readonly waiting: { take: (p: QueryProcess) => void; fail: (e: Error) => void }[] = [];
  private running = 0;
  private nextId = 0;
  private closed = false;

  constructor(options: QueryRunnerOptions) {
    this.options = {
      businessTz: "UTC",
      concurrency: 2,
      queueLimit: 8,
      spares: 1,
      pageRows: 500,
      rssPollMs: 20,
      ...options,
    };
    if (!(this.options.timeoutMs > 0) || !(this.options.memoryLimitBytes > 0))
      throw new RangeError(`timeoutMs and memoryLimitBytes must be positive (got ${this.options.timeoutMs}, ${this.options.memoryLimitBytes})`);
    this.topUp();
  }

  /** Process ids of the query processes, for tests and health output. */
  pids(): number[] {
    return [...this.processes].flatMap((p) => (p.pid === undefined || p.exited ? [] : [p.pid]));
  }

  /** Starts processes until `concurrency + spares` exist. */
  private topUp(): void {
    while (!this.closed && this.processes.size < this.options.concurrency + this.options.spares) {
      const process = new QueryProcess({
        options: this.options,
        onExit: (p) => {
          this.processes.delete(p);
          const at = this.idle.indexOf(p);
          if (at >= 0) this.idle.splice(at, 1);
          // Replace a lost process at once. One that could not start is replaced only when a query
          // waits (it fails that query if the lake is still broken): never a spawn loop.
          if (p.becameReady || this.waiting.length > 0) this.topUp();
        },
      });
      this.processes.add(process);
      process.ready.then(
        () => this.offer(process),
        (error: Error) => {
          // A process that cannot open the lake: tell whoever waits (the lake is as broken for
          // them), and kill it; the next query tries a new process.
          for (const waiter of this.waiting.splice(0)) waiter.fail(error);
          process.kill("close");
        },
      );
    }
  }

  /** A ready process goes to the first waiting query, or idles. */
  private offer(process: QueryProcess): void {
    if (process.exited || process.retired) return;
    const next = this.waiting.shift();
    if (next) next.take(process);
    else this.idle.push(process);
  }

  private take(): Promise<QueryProcess> {
    const ready = this.idle.pop();
    if (ready) return Promise.resolve(ready);
    this.topUp();
    return new Promise((take, fail) => this.waiting.push({ take, fail }));
  }

  /**
   * Runs one query, delivering its rows in pages to options.onRows.
   * @throws QueryRejectedError (the gate refused it), QueryFailedError (DuckDB could not run it),
   *   QueryLimitError (time or memory), QueryBusyError, QueryCancelledError, QueryProcessError.
   */
  async stream(sql: string, options: RunOptions): Promise<RunSummary> {
    if (this.closed) throw new QueryProcessError("the query runner is closed");
    if (!Number.isInteger(options.maxRows) || options.maxRows < 0) throw new RangeError(`maxRows must be a non-negative integer (got ${options.maxRows})`);
    if (options.signal?.aborted) throw new QueryCancelledError(sql);
    if (this.running >= this.options.concurrency + this.options.queueLimit) throw new QueryBusyError(this.options.concurrency, this.options.queueLimit);
    this.running++;
    try {
      return await this.runOnProcess(sql, options);
    } finally {
      this.running--;
    }
  }

  private async runOnProcess(sql: string, options: RunOptions): Promise<RunSummary> {
    // A slot first: at most `concurrency` queries hold a process.
    await this.slot(options.signal, sql);
    let process: QueryProcess | undefined;
    try {
      const taking = this.take();
      process = await abortable(taking, options.signal, () => {
        // Nobody will use what this query was waiting for: give it to the next one.
        void taking.then((p) => this.offer(p), () => undefined);
        return new QueryCancelledError(sql);
      });
      const chosen = process;
      return await new Promise<RunSummary>((resolveRun, rejectRun) => {
        const id = ++this.nextId;
        const onAbort = () => chosen.kill("cancel");
        options.signal?.addEventListener("abort", onAbort, { once: true });
        const timer = setTimeout(() => chosen.kill("time"), this.options.timeoutMs + KILL_GRACE_MS);
        chosen.run(id, sql, options, (error, summary) => {
          clearTimeout(timer);
          options.signal?.removeEventListener("abort", onAbort);
          if (error) rejectRun(error);
          else resolveRun(summary!);
        });
      });
    } finally {
      if (process) this.offer(process);
      this.releaseSlot();
    }
  }

  private slotsInUse = 0;
  private readonly slotWaiters: (() => void)[] = [];

  private slot(signal: AbortSignal | undefined, sql: string): Promise<void> {
    if (this.slotsInUse < this.options.concurrency) {
      this.slotsInUse++;
      return Promise.resolve();
    }
    return new Promise((granted, cancelled) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        this.slotsInUse++;
        granted();
      };
      const onAbort = () => {
        const at = this.slotWaiters.indexOf(grant);
        if (at >= 0) this.slotWaiters.splice(at, 1);
        cancelled(new QueryCancelledError(sql));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.slotWaiters.push(grant);
    });
  }

  private releaseSlot(): void {
    this.slotsInUse--;
    this.slotWaiters.shift()?.();
  }

  /** Runs one query and collects its rows (at most maxRows). Errors as stream(). */
  async query(sql: string, options: Omit<RunOptions, "onRows" | "onColumns">): Promise<QueryAnswer> {
    const rows: unknown[][] = [];
    const summary = await this.stream(sql, { ...options, onRows: (page) => void rows.push(...page) });
    return { ...summary, rows };
  }

  /** Kills every query process; running and waiting queries fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.fail(new QueryProcessError("the query runner was closed"));
    for (const process of this.processes) process.kill("close");
  }
}

/** `promise`, or the error `cancelled()` makes when `signal` aborts first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, cancelled: () => Error): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((done, fail) => {
    const onAbort = () => fail(cancelled());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        if (!signal.aborted) done(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        fail(error);
      },
    );
  });
}
