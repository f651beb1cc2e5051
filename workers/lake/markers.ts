/**
 * Commit markers on disk: `_commits/partition=<p>.json`, the lake's checkpoint.
 * A marker is replaced atomically (temporary name, fsync, rename, directory
 * fsync), so a reader finds the old one or the new one, never a torn one, and
 * once writeMarker resolves the new one survives a crash.
 */
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { commitMarkerPath, parseCommitMarker, serializeCommitMarker, type CommitMarker } from "../../lib/lake/layout.ts";
import { replaceFiles } from "../shared/atomic-file.ts";

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
  try {
    await replaceFiles(async (staged) => writeFile(await staged.stage(path), serializeCommitMarker(marker)));
  } catch (error) {
    throw new MarkerWriteError(`cannot write commit marker ${path}: ${(error as Error).message}`, { path, partition, nextOffset: marker.nextOffset }, { cause: error });
  }
}
