import { open } from "node:fs/promises";

/** fsync a file (r+) or a directory (r): a rename is durable only once its directory is synced. */
export async function fsyncPath(path: string, flags: "r" | "r+"): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
