/**
 * Filesystem steps the lake's crash safety depends on: durable deletes,
 * finding temporary files, and file stats for the compaction planner.
 */
import { readdir, rm, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { COMMITS_ROOT, INVALID_ROOT, isTemporaryPath, ORDERS_ROOT, type LakeFile } from "../../lib/lake/layout.ts";
import type { SizedLakeFile } from "../../lib/lake/compaction.ts";
import { fsyncPath } from "../shared/atomic-file.ts";

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

async function names(dir: string): Promise<{ name: string; isDirectory: boolean }[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).map((e) => ({ name: e.name, isDirectory: e.isDirectory() }));
  } catch (error) {
    if (errno(error) === "ENOENT") return [];
    throw error;
  }
}

/** Lake-relative paths of every temporary file where the layout puts files: data directories and `_commits/`. */
export async function listTemporaryFiles(lakeDir: string): Promise<string[]> {
  const found: string[] = [];
  const collect = async (relativeDir: string) => {
    for (const entry of await names(resolve(lakeDir, relativeDir))) {
      const path = `${relativeDir}/${entry.name}`;
      if (!entry.isDirectory && isTemporaryPath(path)) found.push(path);
    }
  };
  const subdirs = async (relativeDir: string) =>
    (await names(resolve(lakeDir, relativeDir))).filter((e) => e.isDirectory).map((e) => `${relativeDir}/${e.name}`);
  for (const day of await subdirs(ORDERS_ROOT)) for (const hour of await subdirs(day)) await collect(hour);
  for (const day of await subdirs(INVALID_ROOT)) await collect(day);
  await collect(COMMITS_ROOT);
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
