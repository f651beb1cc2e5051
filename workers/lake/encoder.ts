/**
 * Where Parquet files get encoded and written: inline (the calling thread; for
 * tests and tools with nothing else to do) or on a pool of worker threads (the
 * lake worker, whose consume loop must keep running meanwhile, and whose
 * partitions flush concurrently: one thread per core keeps them all busy).
 */
import { Worker } from "node:worker_threads";
import { transferablesOf } from "../../lib/lake/column-batch.ts";
import { LakeWriteError } from "./parquet-file.ts";
import { runEncodeJob, toColumnarJob, type EncodeJob, type EncodeReply, type EncodeResult, type LakeWriterKind } from "./encode-job.ts";

export type { EncodeJob, EncodeResult } from "./encode-job.ts";

export interface ParquetEncoder {
  /** Writes the file atomically and durably (see writeParquetFile); rejects with LakeWriteError. */
  write(job: EncodeJob): Promise<EncodeResult & { /** Time the calling thread spent handing the job over. */ handoffMs: number }>;
  close(): Promise<void>;
}

export class InlineEncoder implements ParquetEncoder {
  constructor(private readonly writer: LakeWriterKind = "parquetjs") {}

  async write(job: EncodeJob) {
    const result = await runEncodeJob(toColumnarJob(job, this.writer));
    return { ...result, handoffMs: result.writeMs };
  }

  async close(): Promise<void> {}
}

/** Starts encoder-thread.ts under tsx's loader: worker threads do not inherit it on Node 20. */
function startThread(): Worker {
  const thread = new URL("./encoder-thread.ts", import.meta.url).href;
  const loader = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(loader)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(thread)}); })`;
  return new Worker(bootstrap, { eval: true, name: "lake-parquet-encoder" });
}

const CLOSED_BEFORE_WRITE = "the Parquet encoder was closed before the write finished";

interface Pending {
  resolve: (result: EncodeResult) => void;
  reject: (error: Error) => void;
  path: string;
}

/** One encoder thread: jobs run one at a time, in arrival order (ThreadEncoder hands it one at a time). */
class EncoderThread implements ParquetEncoder {
  constructor(private readonly writer: LakeWriterKind) {}

  private thread: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /** Jobs handed over and not finished yet. */
  get queued(): number {
    return this.pending.size;
  }

  private ensureThread(): Worker {
    if (this.thread) return this.thread;
    const thread = startThread();
    thread.on("message", (reply: EncodeReply) => {
      const pending = this.pending.get(reply.id);
      if (!pending) return;
      this.pending.delete(reply.id);
      if (reply.ok) pending.resolve({ rows: reply.rows, writeMs: reply.writeMs });
      else pending.reject(new LakeWriteError(reply.message, reply.context ?? { path: pending.path }));
    });
    // A dead thread fails what it held; the next write starts a new one.
    const fail = (error: Error) => {
      if (this.thread !== thread) return;
      this.thread = undefined;
      this.failPending(`the Parquet encoder thread died: ${error.message}`, error);
    };
    thread.on("error", fail);
    thread.on("exit", (code) => fail(new Error(`exit code ${code}`)));
    this.thread = thread;
    return thread;
  }

  async write(job: EncodeJob) {
    const thread = this.ensureThread();
    const id = this.nextId++;
    const started = performance.now();
    const done = new Promise<EncodeResult>((resolve, reject) => this.pending.set(id, { resolve, reject, path: job.path }));
    const columnar = toColumnarJob(job, this.writer);
    // Columns, numeric ones moved rather than copied: the only cost left on this thread.
    thread.postMessage({ id, job: columnar }, transferablesOf(columnar.batch));
    const handoffMs = performance.now() - started;
    return { ...(await done), handoffMs };
  }

  private failPending(message: string, cause?: Error): void {
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(new LakeWriteError(message, { path: pending.path }, { cause }));
    }
  }

  /** Stops the thread; a write still running is abandoned (its temporary file is cleaned up on the next start). */
  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    this.failPending(CLOSED_BEFORE_WRITE);
    if (thread) await thread.terminate();
  }
}

interface Waiting {
  job: EncodeJob;
  resolve: (result: EncodeResult & { handoffMs: number }) => void;
  reject: (error: Error) => void;
}

/**
 * `threads` encoder threads (LAKE_ENCODER_THREADS; default one per core) running
 * `writer` (LAKE_WRITER), each started on its first job. Each thread holds one
 * job at a time; the rest wait here, as the rows the LakeWriter keeps anyway,
 * and the next goes to whichever thread frees first. Handing every job over at
 * once put a column copy of each into a thread: when all partitions reached
 * LAKE_ROTATE_AGE together, that was most of the lake worker's peak memory.
 * Flushes of different partitions encode in parallel; one partition's flushes
 * never overlap anyway (LakeWriter).
 */
export class ThreadEncoder implements ParquetEncoder {
  private readonly threads: EncoderThread[];
  private readonly waiting: Waiting[] = [];

  constructor(threads = 1, writer: LakeWriterKind = "parquetjs") {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`encoder threads must be a whole number, at least 1 (got ${threads})`);
    this.threads = Array.from({ length: threads }, () => new EncoderThread(writer));
  }

  /** Jobs not finished yet: waiting here or on a thread. */
  get queued(): number {
    return this.waiting.length + this.threads.reduce((sum, t) => sum + t.queued, 0);
  }

  write(job: EncodeJob) {
    return new Promise<EncodeResult & { handoffMs: number }>((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const thread of this.threads) {
      if (thread.queued > 0) continue;
      const next = this.waiting.shift();
      if (!next) return;
      thread.write(next.job).then(next.resolve, next.reject).finally(() => this.dispatch());
    }
  }

  async close(): Promise<void> {
    for (const waiting of this.waiting.splice(0)) waiting.reject(new LakeWriteError(CLOSED_BEFORE_WRITE, { path: waiting.job.path }));
    await Promise.all(this.threads.map((t) => t.close()));
  }
}
