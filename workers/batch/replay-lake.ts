/**
 * Streams every valid lake row, partition by partition in offset order, through
 * a LakeReplay (lib/lake-replay.ts: the hot path's WindowEngine, and why idle
 * advances cannot be replayed), with a progress bar on stderr.
 */
import { LakeReplay, type ReplayObserver } from "../../lib/batch/replay.ts";
import { InvalidOffsetError, type WindowEngineConfig } from "../../lib/hot/window-engine.ts";
import { LakeReadError, type LakeReader } from "./lake-reader.ts";
import { Progress, type ProgressStream } from "./progress.ts";

export async function replayLake(
  reader: LakeReader,
  config: WindowEngineConfig,
  observer: ReplayObserver,
  progressStream?: ProgressStream,
): Promise<LakeReplay> {
  const replay = new LakeReplay(config, observer);
  const total = await reader.number("SELECT count(*) FROM orders_raw");
  const progress = new Progress("replaying lake rows through the window engine", total, progressStream);
  for (const partition of reader.partitions) {
    for await (const records of reader.partitionRecords(partition)) {
      for (const record of records) {
        try {
          replay.ingest(record);
        } catch (error) {
          if (!(error instanceof InvalidOffsetError)) throw error;
          throw new LakeReadError(
            `the lake holds partition ${partition} offset ${record.offset} twice (two live files overlap without one covering the other): ${error.message}`,
            { lakeDir: reader.lakeDir, partition, offset: record.offset },
            { cause: error },
          );
        }
      }
      progress.advance(records.length);
    }
  }
  replay.finish();
  progress.finish();
  return replay;
}
