/**
 * Byte sizes as people write them in configuration: `512MB`, `2GB`, `1.5GiB`,
 * or a bare number of bytes. Decimal units (kB, MB, GB = 1000^n) and binary
 * ones (KiB, MiB, GiB = 1024^n), as DuckDB's own `memory_limit` reads them
 * (https://duckdb.org/docs/configuration/overview).
 */
const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** `2GB` → 2 000 000 000. @throws Error naming the text when it is not a size. */
export function parseByteSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = UNIT_BYTES[(match?.[2] || "b").toLowerCase()];
  if (!match || unit === undefined) throw new Error(`not a byte size: "${text}" (use e.g. 512MB, 2GB, 1GiB)`);
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new Error(`byte size out of range: "${text}"`);
  return bytes;
}

/** 2 000 000 000 → `2 GB`, 536 870 912 → `512 MiB`: the shortest exact form, for messages. */
export function formatByteSize(bytes: number): string {
  for (const unit of ["TB", "TiB", "GB", "GiB", "MB", "MiB", "kB", "KiB"]) {
    const size = UNIT_BYTES[unit.toLowerCase()]!;
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${bytes} bytes`;
}
