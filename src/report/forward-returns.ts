/**
 * Forward mid returns, the labels of docs/indicators.md §12.1:
 * `r_H = 1e4 · ln(mH / m0)` bps, m0 = mid as-of t (latest valid book with ts_eff ≤ t), mH = mid
 * as-of t + H; undefined (NaN) when either mid is undefined, when t + H is beyond the data, or when
 * a reconnect or full OFI reset lies in (t, t + H].
 */

/** Mid prices of valid books in ts_eff order, for as-of lookups. */
export class MidSeries {
  /**
   * @param ts ts_eff of each valid book, non-decreasing
   * @param mid their mids
   * @param endTs ts_eff of the last book of any kind: the end of the data
   */
  constructor(
    readonly ts: Float64Array,
    readonly mid: Float64Array,
    readonly endTs: number,
  ) {}

  /**
   * From orderbook columns in arrival order. ts_eff is the running maximum of `ts_ms` (§15.2, a
   * dropped message has no row); a valid book (§15.4) has both sides (`mid` non-null) and is not
   * crossed (`spread_bps` > 0).
   */
  static fromBooks(tsMs: ArrayLike<number>, mid: ArrayLike<number>, spreadBps: ArrayLike<number>): MidSeries {
    const n = tsMs.length;
    const ts = new Float64Array(n);
    const m = new Float64Array(n);
    let k = 0;
    let eff = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      if (tsMs[i] > eff) eff = tsMs[i];
      if (mid[i] === mid[i] && spreadBps[i] > 0) {
        ts[k] = eff;
        m[k] = mid[i];
        k++;
      }
    }
    return new MidSeries(ts.subarray(0, k), m.subarray(0, k), eff);
  }

  /** Mid of the latest valid book with ts_eff ≤ t; NaN if none. */
  asOf(t: number): number {
    const i = lastAtOrBefore(this.ts, t);
    return i < 0 ? Number.NaN : this.mid[i];
  }
}

/** Index of the last element ≤ t in a non-decreasing array, −1 if none. */
export function lastAtOrBefore(sorted: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export class ForwardReturns {
  /**
   * @param mids the symbol's valid-book mids
   * @param breaks sorted times of reconnects and full OFI resets (events rows)
   */
  constructor(
    private readonly mids: MidSeries,
    private readonly breaks: Float64Array,
  ) {}

  get endTs(): number {
    return this.mids.endTs;
  }

  /** r_H in bps for a row at t, or NaN when §12.1 excludes it. */
  bps(t: number, hMs: number): number {
    const tH = t + hMs;
    if (tH > this.mids.endTs) return Number.NaN;
    // First break after t: excluded if it is at or before t + H.
    const j = lastAtOrBefore(this.breaks, t) + 1;
    if (j < this.breaks.length && this.breaks[j] <= tH) return Number.NaN;
    const m0 = this.mids.asOf(t);
    const mH = this.mids.asOf(tH);
    if (!(m0 > 0) || !(mH > 0)) return Number.NaN;
    return 1e4 * Math.log(mH / m0);
  }
}
