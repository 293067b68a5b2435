/**
 * Exact rolling median and MAD over the last N values (docs/indicators.md §6.2: the CVD hybrid floor uses
 * `MAD = median |x − median(x)|` over the last MAD_WINDOW_TRADES deltas; an even count takes the mean
 * of the two middle values, for the median and for the MAD alike).
 *
 * Design: the window lives twice, in arrival order (a ring, to know what to evict) and sorted (a
 * Float64Array kept sorted by binary search). Once full, evict-and-insert is two O(log N) searches
 * plus one `copyWithin` of the values between the evicted and the new position — a memmove of at
 * most N·8 bytes (1.6 kB for N = 200), cheaper in practice than a balanced tree's pointer chasing.
 * The median is then O(1).
 *
 * The MAD needs no second sorted structure: with the sorted window S and median m split at
 * p = first index with S[p] ≥ m, the deviations m − S[p−1], m − S[p−2], … and S[p] − m, S[p+1] − m, …
 * are two ascending sequences, so the k-th smallest deviation is a "k-th of two sorted arrays"
 * selection in O(log N). `m − S[i]` is the same correctly rounded value as `|S[i] − m|`, so results
 * equal a brute-force sort bit for bit.
 *
 * Nothing is allocated after construction. Values must not be NaN (callers validate inputs first).
 */
export class RollingMedian {
  readonly capacity: number;
  private readonly ring: Float64Array;
  private readonly sorted: Float64Array;
  private head = 0;
  private n = 0;
  /** Set by `kthDeviation`: the deviation after the one it returned. */
  private nextDeviation = Number.NaN;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`RollingMedian capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.ring = new Float64Array(capacity);
    this.sorted = new Float64Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  clear(): void {
    this.head = 0;
    this.n = 0;
  }

  /** Appends `x`, evicting the oldest value once the window holds `capacity` values. */
  push(x: number): void {
    if (this.n === this.capacity) {
      this.replaceSorted(this.ring[this.head], x);
      this.ring[this.head] = x;
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    } else {
      const tail = this.head + this.n;
      this.ring[tail < this.capacity ? tail : tail - this.capacity] = x;
      this.insertSorted(x);
      this.n++;
    }
  }

  /** Median of the window; NaN when empty. */
  median(): number {
    const n = this.n;
    if (n === 0) return Number.NaN;
    const s = this.sorted;
    const h = n >> 1;
    return (n & 1) === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
  }

  /** Median absolute deviation from the median (unscaled); NaN when empty. */
  mad(): number {
    const n = this.n;
    if (n === 0) return Number.NaN;
    const m = this.median();
    const p = this.lowerBound(m);
    const h = n >> 1;
    const kth = this.kthDeviation(m, p, (n & 1) === 1 ? h : h - 1);
    if ((n & 1) === 1) return kth;
    // The next deviation in order is the smaller of the two sequences' next elements after the
    // split the search ended on: one search for both middle values instead of two.
    return (kth + this.nextDeviation) / 2;
  }

  private lowerBound(x: number): number {
    const s = this.sorted;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Inserts into `sorted[0..n)`; the caller then counts it. */
  private insertSorted(x: number): void {
    const s = this.sorted;
    const p = this.upperBound(x);
    if (p < this.n) s.copyWithin(p + 1, p, this.n);
    s[p] = x;
  }

  /**
   * Removes one instance of `old` and inserts `x` in one move: only the values between the two
   * positions shift (by one), instead of a remove and an insert each moving up to half the window.
   */
  private replaceSorted(old: number, x: number): void {
    const s = this.sorted;
    const i = this.lowerBound(old);
    const p = this.upperBound(x);
    if (p > i) {
      if (p - 1 > i) s.copyWithin(i, i + 1, p);
      s[p - 1] = x;
    } else {
      if (i > p) s.copyWithin(p + 1, p, i);
      s[p] = x;
    }
  }

  /** First index with sorted[i] > x. */
  private upperBound(x: number): number {
    const s = this.sorted;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * k-th smallest (0-based) of the deviations, given the median m and split p. Left sequence
   * A[i] = m − S[p−1−i] (i < p), right sequence B[j] = S[p+j] − m (j < n−p), both ascending.
   * Binary search on how many elements come from A. Leaves the (k+1)-th in `nextDeviation`
   * (+∞ when k is the last).
   */
  private kthDeviation(m: number, p: number, k: number): number {
    const s = this.sorted;
    const a = p;
    const b = this.n - p;
    const want = k + 1;
    let lo = Math.max(0, want - b);
    let hi = Math.min(a, want);
    while (lo <= hi) {
      const i = (lo + hi) >>> 1; // taken from A
      const j = want - i; // taken from B
      const aPrev = i > 0 ? m - s[p - i] : Number.NEGATIVE_INFINITY; // A[i−1]
      const aNext = i < a ? m - s[p - 1 - i] : Number.POSITIVE_INFINITY; // A[i]
      const bPrev = j > 0 ? s[p + j - 1] - m : Number.NEGATIVE_INFINITY; // B[j−1]
      const bNext = j < b ? s[p + j] - m : Number.POSITIVE_INFINITY; // B[j]
      if (aPrev > bNext) hi = i - 1;
      else if (bPrev > aNext) lo = i + 1;
      else {
        this.nextDeviation = aNext < bNext ? aNext : bNext;
        return aPrev > bPrev ? aPrev : bPrev;
      }
    }
    // Unreachable for 0 ≤ k < n; kept total so a logic error surfaces as NaN rather than a hang.
    return Number.NaN;
  }
}
