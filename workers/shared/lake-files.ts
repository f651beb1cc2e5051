/**
 * The lake on disk, read and changed through one set of filesystem steps: the
 * directory walk the layout defines (data files, temporary files, commit
 * markers), durable deletes, and file stats for the compaction planner.
 */
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import {
  COMMITS_ROOT,
  INVALID_ROOT,
  isTemporaryPath,
  ORDERS_ROOT,
  committedFiles,
  parseCommitMarker,
  parseCommitMarkerPath,
  parseLakeFilePath,
  selectLiveFiles,
  type CommitMarker,
  type LakeFile,
} from "../../lib/lake/layout.ts";
import type { SizedLakeFile } from "../../lib/lake/compaction.ts";
import { fsyncPath } from "./atomic-file.ts";

const errno = (error: unknown) => (error as NodeJS.ErrnoException).code;

/** Makes a directory's entries (creates, renames, deletes) durable. */
export const fsyncDir = (dir: string): Promise<void> => fsyncPath(dir, "r");

/**
 * Deletes lake-relative `paths` (already missing is fine) and fsyncs each
 * directory touched, so the deletes survive a crash before anything that
 * depends on them. Returns how many files were actually there.
 */
export async function removeDurably(lakeDir: string, paths: readonly string[]): Promise<number> {
  const dirs = new Set<string>();
  let removed = 0;
  for (const path of paths) {
    const absolute = resolve(lakeDir, path);
    try {
      await stat(absolute);
      removed++;
    } catch (error) {
      if (errno(error) === "ENOENT") continue;
      throw error;
    }
    await rm(absolute, { force: true });
    dirs.add(dirname(absolute));
  }
  for (const dir of dirs) await fsyncDir(dir).catch((error: unknown) => {
    if (errno(error) !== "ENOENT") throw error;
  });
  return removed;
}

/** A directory's entries; a missing directory has none. @throws LakeScanError when it cannot be read. */
async function entries(dir: string): Promise<{ name: string; isDirectory: boolean }[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).map((e) => ({ name: e.name, isDirectory: e.isDirectory() }));
  } catch (error) {
    if (errno(error) === "ENOENT") return [];
    throw new LakeScanError(`cannot list ${dir}: ${(error as Error).message}`, dir, { cause: error });
  }
}

/** Lake-relative paths of the layout's leaf directories: `orders/<day>/<hour>` and `orders_invalid/<day>`. */
async function dataDirectories(lakeDir: string): Promise<string[]> {
  const subdirs = async (relativeDir: string) =>
    (await entries(resolve(lakeDir, relativeDir))).filter((e) => e.isDirectory).map((e) => `${relativeDir}/${e.name}`);
  const dirs: string[] = [];
  for (const day of await subdirs(ORDERS_ROOT)) dirs.push(...(await subdirs(day)));
  dirs.push(...(await subdirs(INVALID_ROOT)));
  return dirs;
}

/** Lake-relative paths of the files (not directories) directly in `relativeDir`. */
async function filesIn(lakeDir: string, relativeDir: string): Promise<string[]> {
  return (await entries(resolve(lakeDir, relativeDir))).filter((e) => !e.isDirectory).map((e) => `${relativeDir}/${e.name}`);
}

/** The lake on disk cannot be read as a lake (e.g. a corrupt commit marker). */
export class LakeScanError extends Error {
  constructor(
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "LakeScanError";
  }
}

export interface LakeListing {
  /** Every canonical data file on disk, committed or not. */
  files: LakeFile[];
  markers: Map<number, CommitMarker>;
}


/** Lists the lake's data files and commit markers (only the directories the layout defines). */
export async function listLakeFiles(lakeDir: string): Promise<LakeListing> {
  const files: LakeFile[] = [];
  for (const dir of await dataDirectories(lakeDir))
    for (const path of await filesIn(lakeDir, dir)) {
      const file = parseLakeFilePath(path);
      if (file) files.push(file);
    }

  const markers = new Map<number, CommitMarker>();
  for (const entry of await entries(resolve(lakeDir, COMMITS_ROOT))) {
    const path = `${COMMITS_ROOT}/${entry.name}`;
    const partition = parseCommitMarkerPath(path);
    if (partition === undefined || entry.isDirectory) continue;
    const absolute = resolve(lakeDir, path);
    try {
      markers.set(partition, parseCommitMarker(await readFile(absolute, "utf8"), absolute));
    } catch (error) {
      throw new LakeScanError(`cannot read commit marker ${absolute}: ${(error as Error).message}`, absolute, { cause: error });
    }
  }
  return { files, markers };
}

/** The files a reader should see: committed, and not superseded by a compaction. */
export function liveLakeFiles(listing: LakeListing): LakeFile[] {
  const next = new Map([...listing.markers].map(([partition, marker]) => [partition, marker.nextOffset]));
  return selectLiveFiles(committedFiles(listing.files, next));
}


/** Lake-relative paths of every temporary file where the layout puts files: data directories and `_commits/`. */
export async function listTemporaryFiles(lakeDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of [...(await dataDirectories(lakeDir)), COMMITS_ROOT]) found.push(...(await filesIn(lakeDir, dir)).filter(isTemporaryPath));
  return found.sort();
}

/** Size and modification time of each file; files deleted meanwhile (a concurrent compaction) are left out. */
export async function statLakeFiles(lakeDir: string, files: readonly LakeFile[]): Promise<SizedLakeFile[]> {
  const sized: SizedLakeFile[] = [];
  for (const file of files) {
    try {
      const info = await stat(resolve(lakeDir, file.path));
      sized.push({ ...file, bytes: info.size, mtimeMs: info.mtimeMs });
    } catch (error) {
      if (errno(error) !== "ENOENT") throw error;
    }
  }
  return sized;
}

/** Whether a process with this id runs on this host (a zombie or another user's process counts as running). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === "EPERM";
  }
}
