/**
 * The window engine's commit metadata (design.md, "Windows": recovery): what a
 * restarted engine needs to resume exactly from a Kafka commit, encoded in the
 * commit's metadata string. Pure.
 */
import { DIMS_VERSION_CHARS } from "../contract/dims.ts";

/** Kafka's default `offset.metadata.max.bytes`: a commit with longer metadata is rejected. */
export const KAFKA_COMMIT_METADATA_MAX_BYTES = 4096;


export class CommitMetadataError extends Error {
  constructor(
    readonly partition: number,
    readonly metadata: string,
    readonly reason: string,
  ) {
    super(`partition ${partition}: cannot resume from commit metadata ${JSON.stringify(metadata.slice(0, 120))}: ${reason}`);
    this.name = "CommitMetadataError";
  }
}

/** maxEventTime was raised to `maxEventTime` by idle time right after the record at `afterOffset`. */
export interface IdleAdvance {
  afterOffset: number;
  maxEventTime: number;
}

/**
 * The dim_customer version (null: none loaded) that windows still open at the commit
 * were opened with, so a resumed engine re-opens them with it (WindowEngine.resume).
 * One entry per version, its window starts (epoch ms) ascending.
 */
export interface PinnedDimsVersion {
  version: string | null;
  windowStarts: number[];
}

/** Everything commit metadata carries. */
export interface ResumeState {
  partition: number;
  windowSizeMs: number;
  watermarkDelayMs: number;
  dedupHorizonMs: number;
  offset: number;
  maxEventTimeBefore: number;
  finalThrough: number;
  maxEventTimeAtLastRecord: number;
  idleAdvances: IdleAdvance[];
  duplicateOffsets: number[];
  /** Absent from metadata written before versions were pinned (and when no window is open): then empty. */
  pinnedVersions: PinnedDimsVersion[];
  /**
   * The offset after the last record the engine had processed at commit time (≥ offset), or
   * undefined in metadata written before this field existed. Not needed to resume: it is what
   * monitoring reads as the processed position, since `offset` trails it by the de-duplication
   * horizon (log end − processedNext is the honest consumer lag; workers/ops/alert-inputs.ts).
   */
  processedNext?: number;
}


// ---------------------------------------------------------------------------------------
// Commit metadata: one line of space-separated `key=value` fields, ASCII only.
//   om1 p=<partition> w=<windowSizeMs>/<watermarkDelayMs>/<dedupHorizonMs> c=<offset>
//   m=<maxEventTime before c> f=<watermark at commit> b=<maxEventTime at last record>
//   i=<idle advances> d=<duplicate offsets> [n=<processed position>] [v=<pinned dim_customer versions>]
// Times are decimal epoch ms, `-` for "none yet". Lists are comma-separated base-36
// deltas: i entries `<afterOffset−previous>:<maxEventTime−previous>` (first offset
// relative to c, first time relative to m, or absolute when m is `-`); d entries
// `<offset−previous>` (first relative to c). n is base-36 relative to c, optional so
// metadata written before it existed still decodes. v (only while a window is open; older
// metadata has none) is `;`-separated `<version>:<starts>` entries, version `-` for
// "none loaded", starts in window-size units, base 36, the first absolute, then deltas:
// 16 hex digits and a few characters per version. A typical commit is ~100–130 bytes.
// ---------------------------------------------------------------------------------------

const METADATA_VERSION = "om1";

function encodeTime(ms: number): string {
  return Number.isFinite(ms) ? String(ms) : "-";
}

export function encodeCommitMetadata(state: ResumeState): string {
  let previousOffset = state.offset;
  let previousTime = Number.isFinite(state.maxEventTimeBefore) ? state.maxEventTimeBefore : 0;
  const idle = state.idleAdvances
    .map(({ afterOffset, maxEventTime }) => {
      const entry = `${(afterOffset - previousOffset).toString(36)}:${(maxEventTime - previousTime).toString(36)}`;
      previousOffset = afterOffset;
      previousTime = maxEventTime;
      return entry;
    })
    .join(",");
  previousOffset = state.offset;
  const duplicates = state.duplicateOffsets
    .map((offset) => {
      const entry = (offset - previousOffset).toString(36);
      previousOffset = offset;
      return entry;
    })
    .join(",");
  return [
    METADATA_VERSION,
    `p=${state.partition}`,
    `w=${state.windowSizeMs}/${state.watermarkDelayMs}/${state.dedupHorizonMs}`,
    `c=${state.offset}`,
    `m=${encodeTime(state.maxEventTimeBefore)}`,
    `f=${encodeTime(state.finalThrough)}`,
    `b=${encodeTime(state.maxEventTimeAtLastRecord)}`,
    `i=${idle}`,
    `d=${duplicates}`,
    ...(state.processedNext === undefined ? [] : [`n=${(state.processedNext - state.offset).toString(36)}`]),
    ...(state.pinnedVersions.length > 0 ? [`v=${encodePinnedVersions(state.pinnedVersions, state.windowSizeMs)}`] : []),
  ].join(" ");
}

/** CustomerSegments guarantees each version matches DIMS_VERSION_CHARS (no separator of this format). */
function encodePinnedVersions(pinned: readonly PinnedDimsVersion[], windowSizeMs: number): string {
  return pinned
    .map(({ version, windowStarts }) => {
      let previous = 0;
      const starts = windowStarts.map((start, i) => {
        const index = start / windowSizeMs;
        const entry = (i === 0 ? index : index - previous).toString(36);
        previous = index;
        return entry;
      });
      return `${version ?? "-"}:${starts.join(",")}`;
    })
    .join(";");
}

const PINNED_ENTRY = `(?:-|${DIMS_VERSION_CHARS}):-?[0-9a-z]+(?:,[0-9a-z]+)*`;
const METADATA_PATTERN = new RegExp(
  "^om1 p=(\\d+) w=(\\d+)/(\\d+)/(\\d+) c=(\\d+) m=(-|-?\\d+) f=(-|-?\\d+) b=(-|-?\\d+) " +
    "i=((?:-?[0-9a-z]+:-?[0-9a-z]+)(?:,-?[0-9a-z]+:-?[0-9a-z]+)*)? d=((?:-?[0-9a-z]+)(?:,-?[0-9a-z]+)*)?" +
    `(?: n=([0-9a-z]+))?(?: v=(${PINNED_ENTRY}(?:;${PINNED_ENTRY})*))?$`,
);

export function decodeCommitMetadata(partition: number, metadata: string): ResumeState {
  const fail = (reason: string): never => {
    throw new CommitMetadataError(partition, metadata, reason);
  };
  if (!metadata.startsWith(`${METADATA_VERSION} `)) fail(`not ${METADATA_VERSION} window engine metadata`);
  const match = METADATA_PATTERN.exec(metadata);
  if (!match) return fail("malformed");
  const integer = (text: string, radix = 10): number => {
    const value = parseInt(text, radix);
    return Number.isSafeInteger(value) ? value : fail(`number ${text} out of range`);
  };
  const time = (text: string) => (text === "-" ? -Infinity : integer(text));
  const offset = integer(match[5]!);
  const maxEventTimeBefore = time(match[6]!);

  let previousOffset = offset;
  let previousTime = Number.isFinite(maxEventTimeBefore) ? maxEventTimeBefore : 0;
  const idleAdvances = (match[9] ? match[9].split(",") : []).map((entry) => {
    const [offsetDelta, timeDelta] = entry.split(":") as [string, string];
    previousOffset += integer(offsetDelta, 36);
    previousTime += integer(timeDelta, 36);
    return { afterOffset: previousOffset, maxEventTime: previousTime };
  });
  previousOffset = offset;
  const duplicateOffsets = (match[10] ? match[10].split(",") : []).map((delta) => (previousOffset += integer(delta, 36)));
  const sorted = (values: number[]) => values.every((value, i) => i === 0 || value > values[i - 1]!);
  if (!sorted(idleAdvances.map((a) => a.afterOffset)) || !sorted(duplicateOffsets)) fail("lists out of order");
  if (idleAdvances.some((a) => a.afterOffset < offset) || duplicateOffsets.some((d) => d < offset)) fail("list entry before the commit offset");

  const windowSizeMs = integer(match[2]!);
  const pinnedStarts = new Set<number>();
  const pinnedVersions = (match[12] ? match[12].split(";") : []).map((entry): PinnedDimsVersion => {
    const [version, starts] = entry.split(":") as [string, string];
    let index = 0;
    const windowStarts = starts.split(",").map((delta, i) => {
      index = i === 0 ? integer(delta, 36) : index + integer(delta, 36);
      const start = index * windowSizeMs;
      if (!Number.isSafeInteger(start)) fail(`window start ${start} out of range`);
      if (pinnedStarts.has(start)) fail(`window ${start} pinned twice`);
      pinnedStarts.add(start);
      return start;
    });
    return { version: version === "-" ? null : version, windowStarts };
  });

  return {
    partition: integer(match[1]!),
    windowSizeMs,
    watermarkDelayMs: integer(match[3]!),
    dedupHorizonMs: integer(match[4]!),
    offset,
    maxEventTimeBefore,
    finalThrough: time(match[7]!),
    maxEventTimeAtLastRecord: time(match[8]!),
    idleAdvances,
    duplicateOffsets,
    pinnedVersions,
    ...(match[11] === undefined ? {} : { processedNext: offset + integer(match[11], 36) }),
  };
}
