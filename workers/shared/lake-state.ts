/**
 * Is there a lake at LAKE_DIR? A lake is a directory with at least one commit marker
 * (`_commits/partition=<p>.json`, lib/lake/layout.ts), written by the lake worker after its first flush. A
 * missing directory, a file, or a directory without markers read as an empty lake, and a command that deletes,
 * rewrites or exports from an empty lake does damage: `reconcile --repair` from a mistyped LAKE_DIR once deleted
 * InfluxDB's windows and exited 0. So those commands refuse (exit 3), and read-only ones say so plainly.
 */
import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { COMMITS_ROOT, parseCommitMarkerPath } from "../../lib/lake/layout.ts";
import { CommandError, EXIT } from "./entry-point.ts";

export type LakeState =
  | { kind: "missing"; lakeDir: string; path: string }
  | { kind: "not-a-directory"; lakeDir: string; path: string }
  | { kind: "no-markers"; lakeDir: string; path: string }
  | { kind: "committed"; lakeDir: string; path: string; markers: number };

/** What is at `lakeDir` (as given in LAKE_DIR; `path` is it resolved). */
export async function inspectLake(lakeDir: string): Promise<LakeState> {
  const path = resolve(lakeDir);
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT" || error.code === "ENOTDIR") return undefined;
    throw error;
  });
  if (!info) return { kind: "missing", lakeDir, path };
  if (!info.isDirectory()) return { kind: "not-a-directory", lakeDir, path };
  const names = await readdir(join(path, COMMITS_ROOT)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT" || error.code === "ENOTDIR") return [];
    throw error;
  });
  const markers = names.filter((name) => parseCommitMarkerPath(`${COMMITS_ROOT}/${name}`) !== undefined).length;
  return markers === 0 ? { kind: "no-markers", lakeDir, path } : { kind: "committed", lakeDir, path, markers };
}

/** `LAKE_DIR=lake (/abs/lake) does not exist`, and so on: what is wrong, naming the variable and the path. */
export function describeLake(state: LakeState): string {
  const where = state.lakeDir === state.path ? `LAKE_DIR=${state.path}` : `LAKE_DIR=${state.lakeDir} (${state.path})`;
  switch (state.kind) {
    case "missing":
      return `${where} does not exist`;
    case "not-a-directory":
      return `${where} is a file, not a directory`;
    case "no-markers":
      return `${where} has no commit markers (${COMMITS_ROOT}/partition=*.json): the lake worker has not written to it`;
    case "committed":
      return `${where} is a lake with ${state.markers} committed partition${state.markers === 1 ? "" : "s"}`;
  }
}

export class LakeRefusedError extends CommandError {
  override name = "LakeRefusedError";
  constructor(
    readonly state: LakeState,
    action: string,
  ) {
    super(`refusing to ${action}: ${describeLake(state)}; point LAKE_DIR at the lake that \`npm run worker:lake\` writes`, EXIT.refused);
  }
}

/** For commands that delete, rewrite or export: the lake, or LakeRefusedError (exit 3) when there is none. */
export async function requireCommittedLake(lakeDir: string, action: string): Promise<LakeState & { kind: "committed" }> {
  const state = await inspectLake(lakeDir);
  if (state.kind !== "committed") throw new LakeRefusedError(state, action);
  return state;
}

/**
 * For read-only commands: undefined for a lake; a note to print for a missing or empty one (the command goes on
 * and reads nothing); a file throws CommandError (exit 2), since nothing can be read from it.
 */
export async function noteOnLake(lakeDir: string): Promise<string | undefined> {
  const state = await inspectLake(lakeDir);
  if (state.kind === "committed") return undefined;
  if (state.kind === "not-a-directory") throw new CommandError(describeLake(state), EXIT.usage);
  return `note: ${describeLake(state)}, so the lake reads as empty`;
}

/** For the lake worker, which creates the lake: LAKE_DIR may be missing or empty, but not a file (exit 2). */
export async function requireLakeDirectory(lakeDir: string): Promise<void> {
  const state = await inspectLake(lakeDir);
  if (state.kind === "not-a-directory") throw new CommandError(`${describeLake(state)}: the lake worker needs a directory (it creates a missing one)`, EXIT.usage);
}
