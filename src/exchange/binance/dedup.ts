/**
 * Per-stream id bookkeeping for duplicate drops (docs/feed.md, docs/indicators.md §2 and D23).
 *
 * The monotone last id decides: a frame whose id (`a` for trades, `u` for books) is not above the
 * last accepted id of its stream is dropped. That rule is O(1), needs no memory per id and can never
 * let an id through twice, however long ago it was seen. `DEDUP_LRU` sizes a ring of the most recently
 * accepted ids, used only to say *why* a frame was dropped:
 * - `duplicate`: the id was accepted before and the same socket delivers it again (an exchange resend);
 * - `overlap`: the id was accepted before from another socket (the two sockets of a make-before-break
 *   rotation both deliver every frame during the overlap; one copy is expected to be dropped);
 * - `stale`: the id was never accepted (older than the ring remembers, or it arrived out of order
 *   after a later id: it cannot be applied in order any more and is lost to the engine).
 */

export type DropReason = "duplicate" | "overlap" | "stale";

/**
 * Recently accepted ids, oldest first. Ids are accepted in strictly increasing order, so the ring is
 * sorted and membership is a binary search. Starts small and grows on demand up to `capacity`.
 */
export class RecentIds {
  private buf: Float64Array;
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`RecentIds capacity must be >= 1, got ${capacity}`);
    this.buf = new Float64Array(Math.min(capacity, 64));
  }

  get length(): number {
    return this.size;
  }

  /** Appends an id larger than every id held. */
  push(id: number): void {
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

  /** Accepts a new id from a socket, or from REST (socket < 0). */
  accept(id: number, socket: number): void {
    this.last = id;
    this.recent.push(id);
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
