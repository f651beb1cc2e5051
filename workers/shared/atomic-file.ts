/**
 * Atomic file replacement, defined once (design.md, "Code layout"): the lake's
 * Parquet files and commit markers, gold tables and exports all go through it.
 *
 * Replacing a set of output files so that a reader never sees a partial file
 * or a missing one: every file is first written whole under a temporary name
 * in its final directory (lib/lake/layout.ts temporaryPath: hidden, `.tmp`), then
 * all are fsynced, then renamed over their final names back to back, and the
 * directories fsynced. A failure before the renames leaves the old files
 * untouched and no temporary file behind.
 *
 * Each file is replaced atomically; the set is not (POSIX has no multi-file
 * rename): in the microseconds between two renames a reader may pair a new
 * file with an old one. Files of one batch run are consistent with each other
 * once commit() returns.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { temporaryPath } from "../../lib/lake/layout.ts";

/** fsync a file (r+) or a directory (r): a rename is durable only once its directory is synced. */
export async function fsyncPath(path: string, flags: "r" | "r+"): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface StagedFile {
  finalPath: string;
  tempPath: string;
}

export class StagedFiles {
  readonly files: StagedFile[] = [];
  private readonly token = `${process.pid}-${randomBytes(6).toString("hex")}`;

  /** Where to write the new content of `finalPath`; creates its directory. */
  async stage(finalPath: string): Promise<string> {
    await mkdir(dirname(finalPath), { recursive: true });
    const tempPath = temporaryPath(finalPath, this.token);
    this.files.push({ finalPath, tempPath });
    return tempPath;
  }

  /** Makes every staged file durable, then renames them all into place. */
  async commit(): Promise<string[]> {
    for (const file of this.files) await fsyncPath(file.tempPath, "r+");
    for (const file of this.files) await rename(file.tempPath, file.finalPath);
    for (const dir of new Set(this.files.map((f) => dirname(f.finalPath)))) await fsyncPath(dir, "r");
    return this.files.map((f) => f.finalPath);
  }

  /** Removes every temporary file (after a failure). */
  async discard(): Promise<void> {
    for (const file of this.files) await rm(file.tempPath, { force: true }).catch(() => undefined);
  }
}

/** Stages files with `write`, then commits them; on any failure discards them and rethrows. */
export async function replaceFiles(write: (staged: StagedFiles) => Promise<void>): Promise<string[]> {
  const staged = new StagedFiles();
  try {
    await write(staged);
    return await staged.commit();
  } catch (error) {
    await staged.discard();
    throw error;
  }
}
