/**
 * Commit markers on disk: `_commits/partition=<p>.json`, the lake's checkpoint.
 * A marker is replaced atomically (temporary name, fsync, rename, directory
 * fsync), so a reader finds the old one or the new one, never a torn one, and
 * once writeMarker resolves the new one survives a crash.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { commitMarkerPath, parseCommitMarker, serializeCommitMarker, temporaryPath, type CommitMarker } from "../../lib/lake/layout.ts";
import { fsyncDir } from "../shared/lake-files.ts";

export class MarkerWriteError extends Error {
  constructor(
    message: string,
    readonly context: { path: string; partition: number; nextOffset: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "MarkerWriteError";
  }
}

/** The partition's marker, or undefined when it has none; a marker that does not parse throws. */
export async function readMarker(lakeDir: string, partition: number): Promise<CommitMarker | undefined> {
  const path = resolve(lakeDir, commitMarkerPath(partition));
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return parseCommitMarker(text, path);
}

export async function writeMarker(lakeDir: string, partition: number, marker: CommitMarker): Promise<void> {
  const path = resolve(lakeDir, commitMarkerPath(partition));
  const temp = temporaryPath(path, `${process.pid}-${randomBytes(6).toString("hex")}`);
  try {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(temp, "w");
    try {
      await handle.writeFile(serializeCommitMarker(marker));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await fsyncDir(dirname(path));
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new MarkerWriteError(`cannot write commit marker ${path}: ${(error as Error).message}`, { path, partition, nextOffset: marker.nextOffset }, { cause: error });
  }
}
