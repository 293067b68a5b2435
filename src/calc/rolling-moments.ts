/**
 * Mean and variance of the last N values, for the OFI z-score (docs/indicators.md §5.3, ddof 1) and the
 * CVD level mode (§6.3, ddof 0).
 *
 * Running updates keep each push O(1): Welford for a growing window and the exact "replace oldest"
 * update once full. Running updates accumulate rounding error (and a Σx/Σx² scheme would cancel
 * catastrophically for a level series with a large mean), so the moments are recomputed two-pass from
 * the ring every `resumEvery` pushes — O(N) every N pushes, O(1) amortised, drift bounded to a
 * window's worth of updates.
 */
export class RollingMoments {
  readonly capacity: number;
  private readonly ring: Float64Array;
  private readonly resumEvery: number;
  private head = 0;
  private n = 0;
  private mu = 0;
  private m2 = 0;
  private sinceResum = 0;

  constructor(capacity: number, resumEvery: number = capacity) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`RollingMoments capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.ring = new Float64Array(capacity);
    this.resumEvery = Math.max(1, resumEvery);
  }

  get size(): number {
    return this.n;
  }

  clear(): void {
    this.head = 0;
    this.n = 0;
    this.mu = 0;
    this.m2 = 0;
    this.sinceResum = 0;
  }

  push(x: number): void {
    const cap = this.capacity;
    if (this.n < cap) {
      const tail = this.head + this.n;
      this.ring[tail < cap ? tail : tail - cap] = x;
      this.n++;
      const d = x - this.mu;
      this.mu += d / this.n;
      this.m2 += d * (x - this.mu);
    } else {
      const old = this.ring[this.head];
      this.ring[this.head] = x;
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
      const muOld = this.mu;
      const muNew = muOld + (x - old) / cap;
      this.m2 += (x - old) * (x - muNew + old - muOld);
      this.mu = muNew;
    }
    if (++this.sinceResum >= this.resumEvery) this.resum();
  }

  mean(): number {
    return this.n > 0 ? this.mu : Number.NaN;
  }

  /** Σ(x − μ)² / (n − ddof); NaN when n ≤ ddof. Never negative. */
  variance(ddof: 0 | 1): number {
    if (this.n <= ddof) return Number.NaN;
    return this.m2 > 0 ? this.m2 / (this.n - ddof) : 0;
  }

  /** Exact two-pass recomputation from the window. */
  resum(): void {
    this.sinceResum = 0;
    const n = this.n;
    if (n === 0) {
      this.mu = 0;
      this.m2 = 0;
      return;
    }
    const cap = this.capacity;
    const r = this.ring;
    let s = 0;
    for (let i = 0, j = this.head; i < n; i++, j = j + 1 === cap ? 0 : j + 1) s += r[j];
    const mu = s / n;
    let ss = 0;
    for (let i = 0, j = this.head; i < n; i++, j = j + 1 === cap ? 0 : j + 1) {
      const d = r[j] - mu;
      ss += d * d;
    }
    this.mu = mu;
    this.m2 = ss;
  }
}
