/**
 * One side of a full-depth order book in two typed arrays, sorted so that the best level is LAST:
 * almost every update lands near the touch, so inserting or removing there moves only the few levels
 * above it (a best-first layout would move the whole side on every touch update).
 *
 * Prices are stored as sort keys: the price itself for bids, its negation for asks, so both sides are
 * ascending arrays with the best level at the end (negation is exact in floating point).
 *
 * The ladder knows the book exactly only down to `floorKey`: the worst level of the REST snapshot it
 * was loaded from when that snapshot was cut at its limit (deeper levels exist but were not sent),
 * or the worst level kept after trimming. Updates beyond it are ignored, since applying them would
 * show a level whose neighbours are unknown; the ladder therefore never holds a level it cannot vouch
 * for. A side the snapshot showed completely has no floor.
 */

export class Ladder {
  /** Sort keys (bid price, or −ask price), ascending; [0, n) is used. */
  private k: Float64Array;
  private q: Float64Array;
  /** Number of levels held. */
  n = 0;
  /** Keys below this are outside the exactly known window (−∞: the whole side is known). */
  floorKey = Number.NEGATIVE_INFINITY;
  /** Updates ignored because they fell beyond the known window. */
  outsideWindow = 0;
  /** Levels removed by trimming. */
  trimmed = 0;

  constructor(
    readonly isBid: boolean,
    /** Most levels kept; past it the levels farthest from the touch are trimmed (see `trim`). */
    private readonly maxLevels: number,
    initialCapacity = 1024,
  ) {
    const cap = Math.max(16, Math.min(initialCapacity, maxLevels + 1));
    this.k = new Float64Array(cap);
    this.q = new Float64Array(cap);
  }

  clear(): void {
    this.n = 0;
    this.floorKey = Number.NEGATIVE_INFINITY;
  }

  private key(price: number): number {
    return this.isBid ? price : -price;
  }

  private priceOf(key: number): number {
    return this.isBid ? key : -key;
  }

  /** Index of the first key ≥ `key` (binary search; near the end for touch updates). */
  private lowerBound(key: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.k[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Sets a level from a snapshot or diff: absolute quantity, 0 removes (a removal of an absent level
   * is normal). Returns false only when the level lies beyond the known window and was ignored.
   */
  set(price: number, qty: number): boolean {
    const key = this.key(price);
    if (key < this.floorKey) {
      this.outsideWindow++;
      return false;
    }
    const n = this.n;
    const i = this.lowerBound(key);
    const present = i < n && this.k[i] === key;
    if (qty === 0) {
      if (present) {
        this.k.copyWithin(i, i + 1, n);
        this.q.copyWithin(i, i + 1, n);
        this.n = n - 1;
      }
      return true;
    }
    if (present) {
      this.q[i] = qty;
      return true;
    }
    if (n === this.k.length) this.grow();
    this.k.copyWithin(i + 1, i, n);
    this.q.copyWithin(i + 1, i, n);
    this.k[i] = key;
    this.q[i] = qty;
    this.n = n + 1;
    if (this.n > this.maxLevels) this.trim();
    return true;
  }

  /**
   * Drops the levels farthest from the touch once the side holds more than `maxLevels`, down to 15/16
   * of it (so a busy side does not trim on every insert), and moves the floor up to the worst level
   * kept: from then on the side is exact only down to there.
   */
  private trim(): void {
    const keep = Math.max(1, this.maxLevels - (this.maxLevels >>> 4));
    const drop = this.n - keep;
    this.k.copyWithin(0, drop, this.n);
    this.q.copyWithin(0, drop, this.n);
    this.n = keep;
    this.trimmed += drop;
    this.floorKey = this.k[0]!;
  }

  private grow(): void {
    const cap = Math.min(this.k.length * 2, this.maxLevels + 1);
    const k = new Float64Array(Math.max(cap, this.k.length + 1));
    const q = new Float64Array(k.length);
    k.set(this.k.subarray(0, this.n));
    q.set(this.q.subarray(0, this.n));
    this.k = k;
    this.q = q;
  }

  /**
   * Loads a snapshot side. Binance sends it best first; another order is sorted here (the levels are
   * the same). `complete` = the snapshot held fewer levels than its limit, so nothing lies beyond;
   * otherwise the worst level becomes the floor. Returns false when a price repeats or a quantity is
   * not positive (the snapshot is unusable).
   */
  load(px: Float64Array, qty: Float64Array, count: number, complete: boolean): boolean {
    this.clear();
    if (count > this.k.length) {
      const cap = Math.max(count, Math.min(this.maxLevels + 1, count * 2));
      this.k = new Float64Array(cap);
      this.q = new Float64Array(cap);
    }
    let ordered = true;
    let prev = Number.POSITIVE_INFINITY;
    for (let j = 0; j < count; j++) {
      const key = this.key(px[j]!);
      const q = qty[j]!;
      if (!(q > 0) || q === Number.POSITIVE_INFINITY || key !== key) return false;
      if (!(key < prev)) ordered = false;
      prev = key;
      // Best first in the input, best last here.
      this.k[count - 1 - j] = key;
      this.q[count - 1 - j] = q;
    }
    if (!ordered && !this.sortLoaded(count)) return false;
    this.n = count;
    this.floorKey = complete || count === 0 ? Number.NEGATIVE_INFINITY : this.k[0]!;
    if (this.n > this.maxLevels) this.trim();
    return true;
  }

  /** Sorts the first `count` loaded levels by key; false when a key repeats. */
  private sortLoaded(count: number): boolean {
    const idx = Array.from({ length: count }, (_, i) => i).sort((a, b) => this.k[a]! - this.k[b]!);
    const k = Float64Array.from(idx, (i) => this.k[i]!);
    const q = Float64Array.from(idx, (i) => this.q[i]!);
    for (let i = 1; i < count; i++) if (k[i] === k[i - 1]) return false;
    this.k.set(k);
    this.q.set(q);
    return true;
  }

  /** Best price, NaN when empty. */
  best(): number {
    return this.n === 0 ? Number.NaN : this.priceOf(this.k[this.n - 1]!);
  }

  /** Price of level `m` counted from the touch (0 = best); caller keeps m < n. */
  priceAt(m: number): number {
    return this.priceOf(this.k[this.n - 1 - m]!);
  }

  /** Sort key of level `m` from the touch (bid price, or −ask price). */
  keyAt(m: number): number {
    return this.k[this.n - 1 - m]!;
  }

  qtyAt(m: number): number {
    return this.q[this.n - 1 - m]!;
  }

  /** The exactly known window's worst price (null: the whole side is known). */
  floorPrice(): number | null {
    return this.floorKey === Number.NEGATIVE_INFINITY ? null : this.priceOf(this.floorKey);
  }

  /** Bytes held by the arrays. */
  bytes(): number {
    return this.k.byteLength + this.q.byteLength;
  }
}
