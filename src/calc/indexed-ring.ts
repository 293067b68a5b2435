/**
 * A growable Float64Array ring addressed by absolute integer index (a trade counter, a bar number
 * k with τ_k = k·bar_ms, a reference-sample number). Holds the contiguous range [start, end).
 *
 * Absolute indices can be large (epoch seconds); only offsets from `start` are masked, so indices
 * up to 2^53 are fine. Capacity doubles when full and never shrinks: windows here are bounded by time,
 * not by count (docs/indicators.md §13 D17), so the ring must not drop data just because it is full.
 */
export class IndexedRing {
  private buf: Float64Array;
  private mask: number;
  /** Physical slot of `start`. */
  private head = 0;
  private _start = 0;
  private _end = 0;

  constructor(initialCapacity = 64) {
    let cap = 8;
    while (cap < initialCapacity) cap *= 2;
    this.buf = new Float64Array(cap);
    this.mask = cap - 1;
  }

  get start(): number {
    return this._start;
  }
  get end(): number {
    return this._end;
  }
  get length(): number {
    return this._end - this._start;
  }

  /** Empties the ring; the next `push` gets index `index`. */
  resetAt(index: number): void {
    this.head = 0;
    this._start = index;
    this._end = index;
  }

  push(v: number): void {
    if (this._end - this._start === this.buf.length) this.grow();
    this.buf[(this.head + this._end - this._start) & this.mask] = v;
    this._end++;
  }

  /** Caller guarantees start ≤ i < end. */
  get(i: number): number {
    return this.buf[(this.head + i - this._start) & this.mask];
  }

  /** Caller guarantees start ≤ i < end. */
  set(i: number, v: number): void {
    this.buf[(this.head + i - this._start) & this.mask] = v;
  }

  /** Drops every index < i (clamped to the stored range). */
  dropBefore(i: number): void {
    if (i <= this._start) return;
    if (i > this._end) i = this._end;
    this.head = (this.head + i - this._start) & this.mask;
    this._start = i;
  }

  /** First index in [start, end) whose value is > x, for rings holding non-decreasing values. */
  upperBound(x: number): number {
    let lo = this._start;
    let hi = this._end;
    while (lo < hi) {
      const mid = lo + ((hi - lo) >> 1);
      if (this.get(mid) > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private grow(): void {
    const n = this._end - this._start;
    const next = new Float64Array(this.buf.length * 2);
    for (let i = 0; i < n; i++) next[i] = this.buf[(this.head + i) & this.mask];
    this.buf = next;
    this.mask = next.length - 1;
    this.head = 0;
  }
}
