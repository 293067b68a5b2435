/**
 * Per-stream id bookkeeping for duplicate drops (docs/feed.md, docs/indicators.md §2 and D23).
 *
 * The monotone last id decides: a frame whose id (`a` for trades, `u` for books) is not above the
 * last accepted id of its stream is dropped. That rule is O(1), needs no memory per id and can never
 * let an id through twice, however long ago it was seen. A ring of the ids accepted in the last
 * `RECENT_IDS_MAX_AGE_MS` (at most `DEDUP_LRU` of them) is used only to say *why* a frame was dropped:
 * - `duplicate`: the id was accepted before and the same socket delivers it again (an exchange resend);
 * - `overlap`: the id was accepted before from another socket (the two sockets of a make-before-break
 *   rotation both deliver every frame during the overlap; one copy is expected to be dropped);
 * - `stale`: the id was never accepted (older than the ring remembers, or it arrived out of order
 *   after a later id: it cannot be applied in order any more and is lost to the engine).
 */

export type DropReason = "duplicate" | "overlap" | "stale";

/**
 * How long an accepted id is remembered for the drop reason. A rotation's two sockets overlap for
 * seconds and an exchange resends within seconds; a count alone (DEDUP_LRU, 8,192) kept 13 minutes
 * of a book stream at 10 frames/s, 64 KiB per stream for good: 6.4 MiB at 50 symbols, 50 MiB at 400.
 */
export const RECENT_IDS_MAX_AGE_MS = 60_000;
/** Spacing of the time marks that tell which ids have grown too old. */
const MARK_EVERY_MS = 1_000;

/**
 * Recently accepted ids, oldest first: the last `capacity` ids, of which those accepted more than
 * `maxAgeMs` ago are forgotten. Ids are accepted in strictly increasing order, so the ring is sorted
 * and membership is a binary search. Starts small and grows on demand, so its size follows the
 * stream's rate times the age limit.
 */
export class RecentIds {
  private buf: Float64Array;
  private start = 0;
  private size = 0;
  /** Ids ever pushed: the sequence number of the next one. */
  private pushed = 0;
  /** Marks, oldest first: the id numbered `markSeq[i]` was the first pushed at or after `markAt[i]`, the next mark's first one the first pushed MARK_EVERY_MS or more later. */
  private readonly markAt: number[] = [];
  private readonly markSeq: number[] = [];

  constructor(
    readonly capacity: number,
    readonly maxAgeMs = RECENT_IDS_MAX_AGE_MS,
  ) {
    if (!(capacity >= 1)) throw new Error(`RecentIds capacity must be >= 1, got ${capacity}`);
    this.buf = new Float64Array(Math.min(capacity, 64));
  }

  get length(): number {
    return this.size;
  }

  /** Appends an id larger than every id held, accepted at `atMs`. */
  push(id: number, atMs: number): void {
    this.forgetBefore(atMs - this.maxAgeMs);
    const last = this.markAt.length - 1;
    if (last < 0 || atMs >= this.markAt[last]! + MARK_EVERY_MS) {
      this.markAt.push(atMs);
      this.markSeq.push(this.pushed);
    }
    this.pushed++;
    const len = this.buf.length;
    if (this.size < len) {
      this.buf[(this.start + this.size) % len] = id;
      this.size++;
      return;
    }
    if (len < this.capacity) {
      const next = new Float64Array(Math.min(this.capacity, len * 2));
      for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.start + i) % len];
      this.buf = next;
      this.start = 0;
      this.buf[this.size++] = id;
      return;
    }
    this.buf[this.start] = id;
    this.start = (this.start + 1) % len;
  }

  /**
   * Drops the ids accepted before `cutoffMs`. A mark's ids were all pushed within MARK_EVERY_MS of
   * its time (a later push would have made a new mark), so a mark that old goes with all its ids.
   */
  private forgetBefore(cutoffMs: number): void {
    const at = this.markAt;
    while (at.length > 0 && at[0]! + MARK_EVERY_MS <= cutoffMs) {
      at.shift();
      this.markSeq.shift();
      const end = this.markSeq.length > 0 ? this.markSeq[0]! : this.pushed;
      const drop = end - (this.pushed - this.size);
      if (drop > 0) {
        this.start = (this.start + drop) % this.buf.length;
        this.size -= drop;
      }
    }
  }

  has(id: number): boolean {
    const len = this.buf.length;
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.buf[(this.start + mid) % len];
      if (v === id) return true;
      if (v < id) lo = mid + 1;
      else hi = mid;
    }
    return false;
  }
}

/**
 * The id state of one stream: last accepted id, recent ids, and the highest id each of the (at most
 * two: active and replacement) sockets currently delivering the stream has shown, to attribute drops.
 */
export class StreamIds {
  /** Last accepted id; NaN before the first. */
  last = Number.NaN;
  private readonly recent: RecentIds;
  private sockA = -1;
  private highA = Number.NEGATIVE_INFINITY;
  private sockB = -1;
  private highB = Number.NEGATIVE_INFINITY;

  constructor(recentCapacity: number) {
    this.recent = new RecentIds(recentCapacity);
  }

  get hasLast(): boolean {
    return this.last === this.last;
  }

  /** True when `id` must be dropped (not above the last accepted id). */
  isOld(id: number): boolean {
    return id <= this.last;
  }

  /** Why an old id is dropped; also records that `socket` delivered it. */
  dropReason(id: number, socket: number): DropReason {
    const prevHigh = this.noteSocket(socket, id);
    if (!this.recent.has(id)) return "stale";
    return prevHigh >= id ? "duplicate" : "overlap";
  }

  /** Accepts a new id from a socket, or from REST (socket < 0), at `atMs` (wall clock). */
  accept(id: number, socket: number, atMs: number): void {
    this.last = id;
    this.recent.push(id, atMs);
    if (socket >= 0) this.noteSocket(socket, id);
  }

  /**
   * Declares every id up to `id` settled without accepting them (they were recorded as a gap): a
   * late arrival of one of them is dropped as stale, and the next id above is not a gap again.
   */
  skipTo(id: number): void {
    if (!(id <= this.last)) this.last = id;
  }

  /** Records the highest id `socket` delivered; returns the previous high of that socket. */
  private noteSocket(socket: number, id: number): number {
    if (socket === this.sockA) {
      const prev = this.highA;
      if (id > prev) this.highA = id;
      return prev;
    }
    if (socket === this.sockB) {
      const prev = this.highB;
      if (id > prev) this.highB = id;
      return prev;
    }
    // A socket not seen yet replaces the older of the two (socket numbers only grow).
    if (this.sockA <= this.sockB) {
      this.sockA = socket;
      this.highA = id;
    } else {
      this.sockB = socket;
      this.highB = id;
    }
    return Number.NEGATIVE_INFINITY;
  }
}
