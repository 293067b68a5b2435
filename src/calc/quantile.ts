/**
 * Quantiles for the volatility reference (docs/indicators.md §9.2): Hyndman–Fan type 7 (NumPy's default
 * `linear` method), plus a sorted multiset kept in a Float64Array so the reference buffer is not
 * re-sorted on every query.
 */

/**
 * NumPy's `_lerp`: interpolates from the nearer end so that t = 1 gives exactly `b` and results agree
 * with `numpy.quantile` to the last bit.
 */
export function lerpNumpy(a: number, b: number, t: number): number {
  const d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/**
 * Type-7 quantile of the order statistics given by `kth(i)` (0-based, ascending) of `n ≥ 1` values:
 * h = (n−1)p, x_⌊h⌋ + (h − ⌊h⌋)(x_⌊h⌋+1 − x_⌊h⌋).
 */
export function quantileType7By(n: number, p: number, kth: (i: number) => number): number {
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const frac = h - lo;
  const a = kth(lo);
  if (lo + 1 >= n) return a;
  return lerpNumpy(a, kth(lo + 1), frac);
}

/** Type-7 quantile of the first `n` values of an ascending array (n ≥ 1). */
export function quantileType7Sorted(sorted: ArrayLike<number>, n: number, p: number): number {
  return quantileType7By(n, p, (i) => sorted[i]);
}

/** Type-7 quantile of unsorted values (copies and sorts; for tests and cold paths). */
export function quantileType7(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError("quantile of an empty set");
  const s = Float64Array.from(values).sort();
  return quantileType7Sorted(s, s.length, p);
}

/**
 * k-th smallest (0-based) of the union of two ascending arrays `a[0..na)` and `b[0..nb)`, where `b`
 * is small (a handful of provisional values): scans the split point over `b`.
 */
export function kthOfUnion(a: ArrayLike<number>, na: number, b: ArrayLike<number>, nb: number, k: number): number {
  // Take j values from b and i = k+1−j from a; the split is right when both prefixes fit under the
  // other side's next value. The answer is the larger of the two prefix maxima.
  const jMin = Math.max(0, k + 1 - na);
  const jMax = Math.min(k + 1, nb);
  for (let j = jMin; j <= jMax; j++) {
    const i = k + 1 - j;
    if (i > 0 && j < nb && a[i - 1] > b[j]) continue;
    if (j > 0 && i < na && b[j - 1] > a[i]) continue;
    if (i === 0) return b[j - 1];
    if (j === 0) return a[i - 1];
    return a[i - 1] > b[j - 1] ? a[i - 1] : b[j - 1];
  }
  throw new RangeError(`kthOfUnion: k=${k} out of range (${na}+${nb})`);
}

/** A multiset of numbers kept ascending in a growable Float64Array (insert/remove O(n) memmove). */
export class SortedMultiset {
  private buf: Float64Array;
  private n = 0;

  constructor(initialCapacity = 64) {
    this.buf = new Float64Array(Math.max(8, initialCapacity));
  }

  get size(): number {
    return this.n;
  }
  /** The backing array; valid entries are [0, size). */
  get values(): Float64Array {
    return this.buf;
  }

  clear(): void {
    this.n = 0;
  }

  insert(v: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    const at = this.lowerBound(v);
    this.buf.copyWithin(at + 1, at, this.n);
    this.buf[at] = v;
    this.n++;
  }

  /** Removes one occurrence of `v`; returns false if absent. */
  remove(v: number): boolean {
    const at = this.lowerBound(v);
    if (at >= this.n || this.buf[at] !== v) return false;
    this.buf.copyWithin(at, at + 1, this.n);
    this.n--;
    return true;
  }

  /** Replaces the content with `count` values from `src` (any order). */
  rebuild(src: (i: number) => number, count: number): void {
    if (count > this.buf.length) {
      let cap = this.buf.length;
      while (cap < count) cap *= 2;
      this.buf = new Float64Array(cap);
    }
    for (let i = 0; i < count; i++) this.buf[i] = src(i);
    this.buf.subarray(0, count).sort();
    this.n = count;
  }

  private lowerBound(v: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.buf[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
