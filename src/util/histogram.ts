/**
 * Fixed-bucket latency histogram in milliseconds: O(1) record, no allocation, directly exportable in
 * Prometheus histogram form. Quantiles are estimated by linear interpolation inside the bucket.
 * Values below the first bound (including negative latencies from clock skew) fall in the first bucket.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

export class Histogram {
  readonly bounds: readonly number[];
  /** counts[i] = values in (bounds[i-1], bounds[i]]; the last slot is (last bound, +inf). */
  readonly counts: Float64Array;
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  constructor(bounds: readonly number[] = LATENCY_BOUNDS_MS) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  record(v: number): void {
    this.add(v);
  }

  /** Counts `v`; returns its bucket, or -1 for a value that is not finite (not counted). */
  protected add(v: number): number {
    if (!Number.isFinite(v)) return -1;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    return i;
  }

  /** Estimated q-quantile (0..1), or null when empty. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const target = q * this.count;
    let acc = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (acc + c >= target && c > 0) {
        const lo = i === 0 ? Math.min(this.min, this.bounds[0]!) : this.bounds[i - 1]!;
        const hi = i < this.bounds.length ? this.bounds[i]! : this.max;
        const est = lo + ((hi - lo) * (target - acc)) / c;
        return Math.min(Math.max(est, this.min), this.max);
      }
      acc += c;
    }
    return this.max;
  }
}
