/**
 * The order ids a partition's {@link WindowEngine} remembers for de-duplication
 * (design.md "Windows (hot path)": the de-duplication horizon), in the order they
 * were remembered, with what a commit point needs of the oldest: its offset and the
 * partition's maxEventTime just before it.
 *
 * At a steady rate the set holds rate × horizon ids (5,000/s × 3 min = 900,000), so its
 * layout is the worker's memory: one Map entry (id → position) and the id string per
 * order, the numbers in typed-array rings. An object per id in a Map plus a FIFO of them
 * took 220–320 bytes an id (swinging with the FIFO's compaction); this takes about 150
 * (eight engines fed 5,000 orders/s of event time for 10 simulated minutes: heap after
 * GC 197–285 MiB before, 119 MiB flat after, plus 25 MiB of rings; README "Benchmarks").
 */
export class OrderIdHorizon {
  /** Order id → its sequence number modulo 2^30 (a small integer, stored unboxed). */
  private readonly positions = new Map<string, number>();
  private ids: (string | undefined)[];
  private offsets: Float64Array;
  private seenAt: Float64Array;
  private maxEventTimeBefore: Float64Array;
  /** Sequence number of the oldest entry and of the next one; an entry lives at `seq & mask`. */
  private head = 0;
  private tail = 0;
  private mask: number;
  /** The rings never shrink below their initial capacity. */
  private readonly minCapacity: number;

  constructor(initialCapacity = 1024) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity)));
    if (!(capacity <= SEQUENCE_MODULUS)) throw new RangeError(`initial capacity ${initialCapacity} is above ${SEQUENCE_MODULUS}`);
    this.mask = capacity - 1;
    this.minCapacity = capacity;
    this.ids = new Array<string | undefined>(capacity);
    this.offsets = new Float64Array(capacity);
    this.seenAt = new Float64Array(capacity);
    this.maxEventTimeBefore = new Float64Array(capacity);
  }

  get size(): number {
    return this.tail - this.head;
  }

  /** The offset of the record that made `orderId` remembered, or undefined when it is not remembered. */
  offsetOf(orderId: string): number | undefined {
    const position = this.positions.get(orderId);
    return position === undefined ? undefined : this.offsets[position & this.mask];
  }

  /**
   * Remembers an id that is not remembered now (the engine asks {@link offsetOf} first).
   * @param seenAt maxEventTime right after the record, epoch ms: the id is forgotten once maxEventTime passes seenAt + horizon
   * @param maxEventTimeBefore maxEventTime just before the record (a commit point at its offset replays from that clock)
   * @throws Error when the id is remembered already (a caller bug: it would be remembered twice)
   */
  remember(orderId: string, offset: number, seenAt: number, maxEventTimeBefore: number): void {
    if (this.positions.has(orderId)) throw new Error(`order id ${JSON.stringify(orderId.slice(0, 80))} is remembered already`);
    if (this.size > this.mask) this.grow();
    const i = this.tail & this.mask;
    this.ids[i] = orderId;
    this.offsets[i] = offset;
    this.seenAt[i] = seenAt;
    this.maxEventTimeBefore[i] = maxEventTimeBefore;
    this.positions.set(orderId, this.tail % SEQUENCE_MODULUS);
    this.tail++;
  }

  /** The oldest remembered id's offset and the maxEventTime just before it; undefined when none is remembered. */
  oldest(): { offset: number; maxEventTimeBefore: number } | undefined {
    if (this.size === 0) return undefined;
    const i = this.head & this.mask;
    return { offset: this.offsets[i]!, maxEventTimeBefore: this.maxEventTimeBefore[i]! };
  }

  /** Forgets, oldest first, every id whose seenAt is before `time` (epoch ms); ids are remembered in seenAt order. */
  forgetSeenBefore(time: number): void {
    while (this.head < this.tail) {
      const i = this.head & this.mask;
      if (!(this.seenAt[i]! < time)) break;
      this.positions.delete(this.ids[i]!);
      this.ids[i] = undefined;
      this.head++;
    }
    this.shrink();
  }

  /** Ring slots allocated (a power of two): at least the size, at most 8 × the size once above the initial capacity. */
  get capacity(): number {
    return this.mask + 1;
  }

  /** Doubles the rings when full. */
  private grow(): void {
    const capacity = this.capacity * 2;
    if (capacity > SEQUENCE_MODULUS) throw new RangeError(`more than ${SEQUENCE_MODULUS} order ids remembered at once`);
    this.resize(capacity);
  }

  /** Halves the rings while at most an eighth is used: after a burst they return to what the rate needs (32 bytes a slot). */
  private shrink(): void {
    while (this.capacity > this.minCapacity && this.size <= this.capacity / 8) this.resize(this.capacity / 2);
  }

  /** Moves every entry from `seq & oldMask` to `seq & newMask` (capacity ≥ size), so the Map's values stay valid. */
  private resize(capacity: number): void {
    const ids = new Array<string | undefined>(capacity);
    const offsets = new Float64Array(capacity);
    const seenAt = new Float64Array(capacity);
    const before = new Float64Array(capacity);
    const mask = capacity - 1;
    for (let seq = this.head; seq < this.tail; seq++) {
      const from = seq & this.mask;
      const to = seq & mask;
      ids[to] = this.ids[from];
      offsets[to] = this.offsets[from]!;
      seenAt[to] = this.seenAt[from]!;
      before[to] = this.maxEventTimeBefore[from]!;
    }
    this.ids = ids;
    this.offsets = offsets;
    this.seenAt = seenAt;
    this.maxEventTimeBefore = before;
    this.mask = mask;
  }
}

/** 2^30: sequence numbers are stored modulo this (V8 keeps such integers unboxed); capacity never exceeds it. */
const SEQUENCE_MODULUS = 2 ** 30;
