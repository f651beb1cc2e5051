import type { Logger } from "pino";
import { LakeAheadOfTopicError } from "../../lib/lake/recovery.ts";

/** Log-end offset (`high`) of each partition, as kafkajs's admin `fetchTopicOffsets` answers. */
export type ReadLogEnds = () => Promise<{ partition: number; high: string }[]>;

export interface TopicCheckOptions {
  lakeDir: string;
  topic: string;
  /** False once the assignment this check serves is over (a newer one, or a stop): then the check gives up. */
  stillWanted: () => boolean;
  log: Pick<Logger, "warn">;
  /** Waits `ms` between attempts; injectable so tests need not wait. */
  sleep: (ms: number) => Promise<void>;
}

/** Backoff between attempts to reach the broker, ms: 1 s doubling to 10 s. */
export const TOPIC_CHECK_RETRY_MS = { first: 1_000, max: 10_000 } as const;

/**
 * Refuses to resume a partition whose lake marker is past the partition's log end (the topic was recreated, same
 * cluster: its new offsets are not the lake's), throwing {@link LakeAheadOfTopicError}.
 *
 * A broker that does not answer (down, restarting) proves nothing either way, so reading the log ends is retried
 * with backoff for as long as the assignment stands: the fault suite (issue 13) killed the broker while a lake
 * worker recovered its partitions, and the one failed admin call ended the worker (exit 1) instead of waiting for
 * the broker like its consumer does. When the assignment is over, the last error is rethrown for the caller to drop.
 */
export async function checkMarkersWithinTopic(readLogEnds: ReadLogEnds, next: ReadonlyMap<number, number>, options: TopicCheckOptions): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let ends: { partition: number; high: string }[];
    try {
      ends = await readLogEnds();
    } catch (error) {
      if (!options.stillWanted()) throw error;
      const delayMs = Math.min(TOPIC_CHECK_RETRY_MS.max, TOPIC_CHECK_RETRY_MS.first * 2 ** attempt);
      options.log.warn({ topic: options.topic, err: (error as Error).message, attempt: attempt + 1, delayMs }, "cannot read the topic's log-end offsets to check the lake's markers against them; retrying");
      await options.sleep(delayMs);
      continue;
    }
    for (const { partition, high } of ends) {
      const nextOffset = next.get(partition);
      if (nextOffset !== undefined && nextOffset > Number(high)) {
        throw new LakeAheadOfTopicError({ lakeDir: options.lakeDir, topic: options.topic, partition, nextOffset, logEndOffset: Number(high) });
      }
    }
    return;
  }
}
