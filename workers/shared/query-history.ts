/**
 * The Lake page's query history, kept on the server across restarts: one JSON line per
 * query appended to `<state dir>/query-history.ndjson` (ORDERPULSE_STATE_DIR, beside the
 * audit log), the newest `size` also in memory. The file is rewritten (atomically) down to
 * the newest `size` once it holds `4 × size` lines, so it stays small.
 */
import { readFileSync } from "node:fs";
import { appendFile, mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { SERVICES_DIR } from "./env.ts";
import { replaceFiles } from "./atomic-file.ts";

export const QUERY_HISTORY_FILE = resolve(SERVICES_DIR, "query-history.ndjson");

const historyEntrySchema = z.object({
  sql: z.string(),
  /** `ok`, or the error code. */
  status: z.string(),
  /** Epoch ms when the query was asked for. */
  at: z.number(),
  durationMs: z.number(),
  /** Rows of the result (a lower bound when it was counted only partly); null when it failed. */
  rows: z.number().nullable(),
  kind: z.enum(["json", "csv"]),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

export class QueryHistory {
  /** Newest first. */
  readonly entries: HistoryEntry[];
  private linesInFile: number;
  private writing: Promise<void> = Promise.resolve();

  /** Reads what the file holds (a missing file is an empty history; a damaged line is skipped). */
  constructor(
    private readonly file = QUERY_HISTORY_FILE,
    private readonly size = 200,
    private readonly onError: (error: Error) => void = () => undefined,
  ) {
    let text = "";
    try {
      // A runtime file in the state directory: not for next build's file tracing (workers/shared/env.ts).
      text = readFileSync(/* turbopackIgnore: true */ file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") onError(error as Error);
    }
    const lines = text.split("\n").filter(Boolean);
    this.linesInFile = lines.length;
    this.entries = lines
      .slice(-size)
      .flatMap((line) => {
        try {
          const parsed = historyEntrySchema.safeParse(JSON.parse(line));
          return parsed.success ? [parsed.data] : [];
        } catch {
          return [];
        }
      })
      .reverse();
  }

  /** Adds an entry in memory at once and to the file in the background (writes are serialised; a failure goes to onError). */
  record(entry: HistoryEntry): void {
    this.entries.unshift(entry);
    this.entries.length = Math.min(this.entries.length, this.size);
    // Decided now, in record order: a rewrite writes the history as of this entry, and later appends follow it.
    const rewrite = this.linesInFile + 1 >= 4 * this.size ? [...this.entries].reverse() : undefined;
    this.linesInFile = rewrite ? rewrite.length : this.linesInFile + 1;
    this.writing = this.writing.then(() => this.write(entry, rewrite)).catch((error: Error) => this.onError(error));
  }

  /** Resolves once every recorded entry is on disk (tests, shutdown). */
  flushed(): Promise<void> {
    return this.writing;
  }

  private async write(entry: HistoryEntry, rewrite: HistoryEntry[] | undefined): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    if (rewrite) {
      const text = rewrite.map((e) => `${JSON.stringify(e)}\n`).join("");
      await replaceFiles(async (staged) => writeFile(await staged.stage(this.file), text));
    } else {
      await appendFile(this.file, `${JSON.stringify(entry)}\n`);
    }
  }
}
