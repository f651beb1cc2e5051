/**
 * Where the dimension tables sit in the lake, and how a version becomes
 * current (design.md, "Dimensions"). Pure.
 *
 *   $LAKE_DIR/dims/<table>/<version>.parquet   one file per version, never rewritten
 *   $LAKE_DIR/dims/<table>/_versions.json      every version loaded, oldest first; the last is current
 *
 * A load writes the new version's file whole (temporary name, fsync, rename),
 * then replaces `_versions.json` atomically: until that rename every reader
 * sees the previous version, after it the new one, and the previous file stays
 * (a query already running on it finishes; a replay of older windows reads the
 * version those windows recorded). The version id is the content's hash, so
 * loading the same rows again is no change.
 */
import type { DimensionTableName } from "../contract/dims.ts";

export const DIMS_ROOT = "dims";

export interface DimensionVersion {
  /** Content id: hex hash of the validated rows. */
  version: string;
  /** Lake-relative path of the version's Parquet file. */
  path: string;
  rows: number;
  /** When it became current (UTC ISO-8601). */
  loadedAt: string;
}

export interface DimensionManifest {
  table: DimensionTableName;
  versions: DimensionVersion[];
}

export const manifestPath = (table: DimensionTableName): string => `${DIMS_ROOT}/${table}/_versions.json`;
export const versionPath = (table: DimensionTableName, version: string): string => `${DIMS_ROOT}/${table}/${version}.parquet`;

export class DimensionManifestError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(`${path}: ${message}`);
    this.name = "DimensionManifestError";
  }
}

/** @throws DimensionManifestError when the text is not a manifest of `table` */
export function parseManifest(table: DimensionTableName, text: string, path: string): DimensionManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DimensionManifestError(`not JSON (${(error as Error).message})`, path);
  }
  const m = value as Partial<DimensionManifest>;
  if (m?.table !== table || !Array.isArray(m.versions)) throw new DimensionManifestError(`not a ${table} manifest`, path);
  for (const v of m.versions)
    if (typeof v?.version !== "string" || !/^[0-9a-f]{8,64}$/.test(v.version) || v.path !== versionPath(table, v.version) || !Number.isSafeInteger(v.rows) || typeof v.loadedAt !== "string")
      throw new DimensionManifestError(`bad version entry ${JSON.stringify(v)}`, path);
  return { table, versions: m.versions };
}

export const serializeManifest = (manifest: DimensionManifest): string => `${JSON.stringify(manifest, null, 2)}\n`;

export const currentVersion = (manifest: DimensionManifest | undefined): DimensionVersion | undefined => manifest?.versions.at(-1);

/**
 * The version that was current at `atMs` (by loadedAt), else the oldest one
 * (an order older than every load gets the first dimension loaded), else undefined.
 */
export function versionAt(manifest: DimensionManifest | undefined, atMs: number): DimensionVersion | undefined {
  if (!manifest || manifest.versions.length === 0) return undefined;
  let found = manifest.versions[0];
  for (const v of manifest.versions) if (Date.parse(v.loadedAt) <= atMs) found = v;
  return found;
}

/** The current version of each dimension table, as the views read them (absent: not loaded yet). */
export type CurrentDimensions = Partial<Record<DimensionTableName, DimensionVersion>>;
