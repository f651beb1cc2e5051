/**
 * The metrics worker's dim_customer: the current version loaded at start and
 * again whenever `$LAKE_DIR/dims/dim_customer/_versions.json` changes (a
 * dims:load replaces it atomically), without a restart. The file is polled
 * (fs.watchFile) rather than watched by inode, since each load renames a new
 * file over it. A version that cannot be read is logged and the previous one
 * kept: a bad load never takes the live segments away. {@link CustomerDimensionWatch.at}
 * loads an exact older version (a resumed window's), since versions are never deleted.
 */
import { unwatchFile, watchFile } from "node:fs";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import { CustomerSegments, DIM_CUSTOMER_TABLE } from "../../lib/contract/dims.ts";
import { manifestPath } from "../../lib/lake/dims-layout.ts";
import { readCustomerSegments, readCustomerSegmentsAt } from "./dims-store.ts";

/** Older versions kept in memory: a restart asks for the few that windows open at the crash were pinned to. */
const OLDER_VERSIONS_KEPT = 4;

export class CustomerDimensionWatch {
  private segments: CustomerSegments = CustomerSegments.NONE;
  private readonly file: string;
  private reloading: Promise<void> = Promise.resolve();
  /** Exact versions asked for through at(), most recent last (one read per version when several partitions resume at once). */
  private readonly older = new Map<string, Promise<CustomerSegments | undefined>>();

  private constructor(
    private readonly lakeDir: string,
    private readonly log: Logger,
  ) {
    this.file = join(resolve(lakeDir), manifestPath(DIM_CUSTOMER_TABLE.name));
  }

  /** Loads the current version, then follows changes every `intervalMs` (default 1 s). */
  static async start(lakeDir: string, log: Logger, intervalMs = 1_000): Promise<CustomerDimensionWatch> {
    const watch = new CustomerDimensionWatch(lakeDir, log);
    await watch.reload();
    watchFile(watch.file, { interval: intervalMs }, () => {
      watch.reloading = watch.reloading.then(() => watch.reload());
    });
    return watch;
  }

  /** The version in force now (CustomerSegments.NONE before any load). */
  get current(): CustomerSegments {
    return this.segments;
  }

  /**
   * dim_customer at exactly `version`, read from the lake (undefined: the lake has no
   * such version). Rejects when the manifest or the version's file cannot be read.
   */
  at(version: string): Promise<CustomerSegments | undefined> {
    if (version === this.segments.version) return Promise.resolve(this.segments);
    let loading = this.older.get(version);
    if (!loading) {
      loading = readCustomerSegmentsAt(this.lakeDir, version);
      // A failed or missing read is not kept: the next resume reads again (the file may be back).
      const forget = () => void this.older.delete(version);
      loading.then((found) => (found ? undefined : forget()), forget).catch(() => undefined);
      this.older.set(version, loading);
      for (const oldest of this.older.keys()) if (this.older.size > OLDER_VERSIONS_KEPT) this.older.delete(oldest);
    }
    return loading;
  }

  private async reload(): Promise<void> {
    try {
      const next = await readCustomerSegments(this.lakeDir);
      if (next.version === this.segments.version) return;
      this.segments = next;
      this.log.info({ version: next.version, customers: next.size }, next.version === null ? "no dim_customer loaded: segments are UNKNOWN" : "dim_customer loaded: new windows use its segments");
    } catch (error) {
      this.log.error({ file: this.file, err: (error as Error).message }, "cannot read dim_customer; keeping the version loaded before");
    }
  }

  stop(): void {
    unwatchFile(this.file);
  }
}
