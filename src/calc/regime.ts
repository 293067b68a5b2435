/**
 * 2x2 market regime (docs/indicators.md §9, §13 D17/D18, §15.11): activity A/Q from a true time window
 * of trades, volatility H/L from 1 s mid returns against a trailing reference quantile.
 *
 * Queries are as-of: `label(t)` uses only events with ts_eff ≤ t that have been processed, so the
 * engine may ask about a time behind the newest event (a divergence bar or a features second τ_k,
 * evaluated once both streams have passed it). Data are retained for every t at or after
 * min(ts_eff of the second-latest trade, of the second-latest valid book) − RETAIN_SLACK_MS —
 * the earliest time the engine can still ask about when it advances its bars after every event — and
 * never more than RETAIN_CAP_MS behind the newest event (a stream that never starts must not make
 * the others grow without bound).
 *
 * Mid boundaries. m_k = mid of the latest processed valid book with ts_eff ≤ k·VOL_BAR_MS. With the
 * latest valid book at ts_eff e, boundaries k < K0 = ⌈e/bar⌉ are final (every later book has
 * ts_eff ≥ e > k·bar) and their r_k² sit in a ring; boundaries ≥ K0 are pending and all equal the
 * latest mid, so only r_K0 can be non-zero among them. A second book at the same e replaces the
 * pending value — that is the "several events at the same ts_eff" case.
 *
 * Reference samples. One at every multiple s of VOL_REF_SAMPLE_SECS at or after the symbol's first
 * event, also through outages. The value of sample s is rv_s from the book data with ts_eff ≤ s; it
 * is final once a valid book with ts_eff > s has been processed and is then stored (sorted multiset
 * over the queried range). Before that it is provisional and computed at query time from the
 * current state — exactly rv_s as of what has been processed — which is 0 once its whole window lies
 * in the pending, constant part (long book outages cost O(1) per query, not one value per minute).
 * The buffer at t holds the samples s ∈ (t − VOL_REF_HORIZON_SECS·1000, t].
 */
import type { IndicatorParams, RegimeParams } from "./params.ts";
import type { Regime, Scenario } from "./contracts.ts";
import { IndexedRing } from "./indexed-ring.ts";
import { kthOfUnion, lerpNumpy, SortedMultiset } from "./quantile.ts";

/** Extra history kept below the earliest time the engine can still query. */
export const RETAIN_SLACK_MS = 60_000;
/** Hard bound on history kept behind the newest event. */
export const RETAIN_CAP_MS = 6 * 3_600_000;

/** §9: activity from tps (≥ inclusive), volatility from rv vs θ (≥ inclusive); θ null = warm-up ⇒ L. */
export function scenarioOf(tps: number, activeTps: number, rvBps: number, thetaBps: number | null): Scenario {
  const active = tps >= activeTps;
  const high = thetaBps !== null && rvBps >= thetaBps;
  return active ? (high ? "A_H" : "A_L") : high ? "Q_H" : "Q_L";
}

/** Number of rv-cache slots: the trade clock, the book clock and a bar clock τ_k, plus one spare. */
const RV_CACHE_SLOTS = 4;

export class RegimeTracker implements Regime {
  private readonly p: RegimeParams;
  private readonly winMs: number;
  private readonly barMs: number;
  private readonly sampleMs: number;
  private readonly horizonMs: number;
  private readonly absTheta: number | null;

  /** The symbol's first event (start of regime_ready and of the reference samples). */
  private tStart = Number.NaN;

  // Activity: ts_eff of accepted trades, ascending (trade ts_eff is monotone).
  private readonly trades = new IndexedRing(1024);
  /** Last answer of lowerCursor. */
  private cursor = 0;
  private lastTrade = Number.NEGATIVE_INFINITY;
  private prevTrade = Number.NEGATIVE_INFINITY;

  // Volatility: mids at boundaries.
  private lastBook = Number.NEGATIVE_INFINITY;
  private prevBook = Number.NEGATIVE_INFINITY;
  private lastMid = Number.NaN;
  /** m_{K0−1}: NaN while undefined. */
  private lastFinalMid = Number.NaN;
  /** First pending boundary; −∞ before the first valid book. */
  private k0 = Number.NEGATIVE_INFINITY;
  /** r_k² (0 when m_k or m_{k−1} is undefined) for final boundaries, index k. */
  private readonly r2 = new IndexedRing(1024);
  private readonly rvKeyA = new Float64Array(RV_CACHE_SLOTS).fill(Number.NaN);
  private readonly rvKeyB = new Float64Array(RV_CACHE_SLOTS).fill(Number.NaN);
  private readonly rvSum = new Float64Array(RV_CACHE_SLOTS);
  private rvNext = 0;

  // Reference samples: final values by sample index j (time j·sampleMs), [start, nextFinalJ).
  private firstSampleJ = Number.NaN;
  private nextFinalJ = Number.NaN;
  private readonly samples = new IndexedRing(2048);
  private readonly sorted = new SortedMultiset(2048);
  private cacheLo = 0;
  private cacheHi = 0;
  /** θ of the final-only range [thetaLo, thetaLo + thetaN). */
  private thetaLo = Number.NaN;
  private thetaN = -1;
  private thetaCached = 0;
  /** Provisional non-zero candidates of the current query, ascending. */
  private readonly prov: Float64Array;

  private lastTrimAt = Number.NEGATIVE_INFINITY;

  // Memo of the latest evaluation.
  private version = 0;
  private evVersion = -1;
  private evT = Number.NaN;
  private evTps = 0;
  private evRv = 0;
  private evTheta: number | null = null;
  private evSamples = 0;
  private evLabel: Scenario = "Q_L";

  constructor(params: IndicatorParams) {
    this.p = params.regime;
    this.winMs = this.p.win_secs * 1000;
    this.barMs = this.p.vol_bar_ms;
    this.sampleMs = this.p.vol_ref_sample_secs * 1000;
    this.horizonMs = this.p.vol_ref_horizon_secs * 1000;
    this.absTheta = this.p.vol_abs_threshold_bps ?? null;
    this.prov = new Float64Array(Math.ceil(this.winMs / this.sampleMs) + 2);
  }

  /**
   * Any kept message of either stream, valid or not (contracts.ts `Regime.onEvent`). Only the first
   * call matters; onTrade / onValidBook imply it.
   */
  onEvent(tsEff: number): void {
    if (this.tStart === this.tStart) return; // not NaN: already started
    this.tStart = tsEff;
    this.firstSampleJ = Math.ceil(tsEff / this.sampleMs);
    this.nextFinalJ = this.firstSampleJ;
    this.samples.resetAt(this.firstSampleJ);
    this.cacheLo = this.cacheHi = this.firstSampleJ;
    this.sorted.clear();
    this.version++;
  }

  onTrade(tsEff: number): void {
    this.onEvent(tsEff);
    this.trades.push(tsEff);
    this.prevTrade = this.lastTrade;
    this.lastTrade = tsEff;
    this.version++;
    this.maybeTrim();
  }

  onValidBook(tsEff: number, mid: number): void {
    this.onEvent(tsEff);
    const k = Math.ceil(tsEff / this.barMs);
    if (this.k0 === Number.NEGATIVE_INFINITY) {
      this.k0 = k;
      this.r2.resetAt(k);
    } else if (k > this.k0) {
      // Boundaries K0..k−1 become final with m = the previous latest mid.
      const m = this.lastMid;
      const prev = this.lastFinalMid;
      if (prev === prev) {
        const r = Math.log(m / prev);
        this.r2.push(r * r);
      } else {
        this.r2.push(0);
      }
      for (let j = this.k0 + 1; j < k; j++) this.r2.push(0);
      this.lastFinalMid = m;
      this.k0 = k;
    }
    this.prevBook = this.lastBook;
    this.lastBook = tsEff;
    this.lastMid = mid;
    // Samples s < tsEff are final now: no later book can have ts_eff ≤ s.
    while (this.nextFinalJ * this.sampleMs < tsEff) {
      this.samples.push(this.rvAt(this.nextFinalJ * this.sampleMs));
      this.nextFinalJ++;
    }
    this.version++;
    this.maybeTrim();
  }

  label(t: number): Scenario {
    this.evaluate(t);
    return this.evLabel;
  }

  ready(t: number): boolean {
    this.evaluate(t);
    if (this.tStart !== this.tStart || t - this.tStart < this.winMs) return false;
    return this.absTheta !== null || this.evSamples >= this.p.vol_ref_min_samples;
  }

  realizedVolBps(t: number): number {
    this.evaluate(t);
    return this.evRv;
  }

  tradesPerSecond(t: number): number {
    this.evaluate(t);
    return this.evTps;
  }

  /** θ_vol at t: VOL_ABS_THRESHOLD_BPS, or the reference quantile; null in warm-up. */
  volThresholdBps(t: number): number | null {
    this.evaluate(t);
    return this.evTheta;
  }

  /** Number of reference samples in the buffer at t. */
  referenceSampleCount(t: number): number {
    this.evaluate(t);
    return this.evSamples;
  }

  private evaluate(t: number): void {
    if (t === this.evT && this.version === this.evVersion) return;
    this.evT = t;
    this.evVersion = this.version;
    // Half-open (t − WIN, t]: a trade exactly at t − WIN is out.
    const tr = this.trades;
    const hiIdx = tr.length === 0 || t >= tr.get(tr.end - 1) ? tr.end : tr.upperBound(t);
    const n = hiIdx - this.lowerCursor(t - this.winMs);
    this.evTps = n / this.p.win_secs;
    this.evRv = this.rvAt(t);
    this.evTheta = this.threshold(t);
    this.evLabel = scenarioOf(this.evTps, this.p.active_tps, this.evRv, this.evTheta);
  }

  /**
   * upperBound(x) over the trade ring, walking from the previous answer: queries move forward with
   * event time (and only briefly back to a bar τ_k), so this is O(1) amortised.
   */
  private lowerCursor(x: number): number {
    const tr = this.trades;
    let c = this.cursor;
    if (c < tr.start || c > tr.end) c = tr.upperBound(x);
    // A long jump (a burst of bars emitted after a stall) falls back to binary search.
    let steps = 32;
    while (c < tr.end && tr.get(c) <= x && steps-- > 0) c++;
    while (c > tr.start && tr.get(c - 1) > x && steps-- > 0) c--;
    if (steps < 0) c = tr.upperBound(x);
    this.cursor = c;
    return c;
  }

  /** rv_t in bps as of the processed books: boundaries k·bar ∈ (t − WIN, t]. */
  private rvAt(t: number): number {
    if (this.k0 === Number.NEGATIVE_INFINITY) return 0;
    const kHi = Math.floor(t / this.barMs);
    const kLo = Math.floor((t - this.winMs) / this.barMs) + 1;
    let sum = this.finalSum(kLo, Math.min(kHi, this.k0 - 1));
    if (kLo <= this.k0 && this.k0 <= kHi && this.lastFinalMid === this.lastFinalMid) {
      const r = Math.log(this.lastMid / this.lastFinalMid);
      sum += r * r;
    }
    return 1e4 * Math.sqrt(sum);
  }

  /** Σ r_k² over final boundaries [a, b], ascending k (memoised: final values never change). */
  private finalSum(a: number, b: number): number {
    if (a < this.r2.start) a = this.r2.start;
    if (b >= this.r2.end) b = this.r2.end - 1;
    if (a > b) return 0;
    for (let i = 0; i < RV_CACHE_SLOTS; i++) {
      if (this.rvKeyA[i] === a && this.rvKeyB[i] === b) return this.rvSum[i];
    }
    let s = 0;
    for (let k = a; k <= b; k++) s += this.r2.get(k);
    const slot = this.rvNext;
    this.rvNext = (slot + 1) % RV_CACHE_SLOTS;
    this.rvKeyA[slot] = a;
    this.rvKeyB[slot] = b;
    this.rvSum[slot] = s;
    return s;
  }

  /** θ_vol at t; also sets evSamples. */
  private threshold(t: number): number | null {
    if (this.tStart !== this.tStart) {
      this.evSamples = 0;
      return this.absTheta;
    }
    const S = this.sampleMs;
    const lo = Math.max(this.firstSampleJ, Math.floor((t - this.horizonMs) / S) + 1);
    const hi = Math.floor(t / S) + 1;
    const fLo = Math.max(lo, this.samples.start);
    const fHi = Math.min(hi, this.nextFinalJ);
    const nFinal = fHi > fLo ? fHi - fLo : 0;
    const pLo = Math.max(lo, this.nextFinalJ);
    const nProv = hi > pLo ? hi - pLo : 0;
    const n = nFinal + nProv;
    this.evSamples = n;
    if (this.absTheta !== null) return this.absTheta;
    if (n < this.p.vol_ref_min_samples || n === 0) return null;
    // Final samples never change, so without provisional ones θ depends only on the range.
    if (nProv === 0 && fLo === this.thetaLo && nFinal === this.thetaN) return this.thetaCached;

    this.syncSorted(fLo, fLo + nFinal);
    // Provisional samples: non-zero only while their window reaches back to boundary K0.
    let nB = 0;
    let zeros = 0;
    if (nProv > 0) {
      const jz =
        this.k0 === Number.NEGATIVE_INFINITY ? pLo : Math.max(pLo, Math.ceil((this.k0 * this.barMs + this.winMs) / S));
      const jEnd = Math.min(hi, jz);
      for (let j = pLo; j < jEnd; j++) {
        const v = this.rvAt(j * S);
        let at = nB++;
        while (at > 0 && this.prov[at - 1] > v) {
          this.prov[at] = this.prov[at - 1];
          at--;
        }
        this.prov[at] = v;
      }
      zeros = nProv - nB;
    }
    const h = (n - 1) * this.p.vol_split;
    const lo7 = Math.floor(h);
    const a = this.kth(lo7, zeros, nFinal, nB);
    const theta = lo7 + 1 >= n ? a : lerpNumpy(a, this.kth(lo7 + 1, zeros, nFinal, nB), h - lo7);
    if (nProv === 0) {
      this.thetaLo = fLo;
      this.thetaN = nFinal;
      this.thetaCached = theta;
    }
    return theta;
  }

  /** i-th smallest of {`zeros` × 0} ∪ sorted final samples ∪ provisional candidates (all ≥ 0). */
  private kth(i: number, zeros: number, nA: number, nB: number): number {
    if (i < zeros) return 0;
    if (nB === 0) return this.sorted.values[i - zeros];
    return kthOfUnion(this.sorted.values, nA, this.prov, nB, i - zeros);
  }

  /** Makes the sorted multiset hold exactly the final samples [lo, hi). */
  private syncSorted(lo: number, hi: number): void {
    const cLo = this.cacheLo;
    const cHi = this.cacheHi;
    if (lo === cLo && hi === cHi) return;
    const s = this.samples;
    const empty = cHi <= cLo;
    const disjoint = hi <= cLo || lo >= cHi;
    const moves = Math.abs(lo - cLo) + Math.abs(hi - cHi);
    if (empty || disjoint || cLo < s.start || moves > 64) {
      this.sorted.rebuild((i) => s.get(lo + i), hi > lo ? hi - lo : 0);
    } else {
      for (let j = cLo; j < lo; j++) this.sorted.remove(s.get(j));
      for (let j = lo; j < cLo; j++) this.sorted.insert(s.get(j));
      for (let j = hi; j < cHi; j++) this.sorted.remove(s.get(j));
      for (let j = cHi; j < hi; j++) this.sorted.insert(s.get(j));
    }
    this.cacheLo = lo;
    this.cacheHi = hi;
  }

  /** Drops history no query can reach any more (see the header). */
  private maybeTrim(): void {
    const newest = Math.max(this.lastTrade, this.lastBook);
    if (newest - this.lastTrimAt < 1000) return;
    this.lastTrimAt = newest;
    let low = Math.min(this.prevTrade, this.prevBook);
    low = Math.max(low, newest - RETAIN_CAP_MS) - RETAIN_SLACK_MS;
    if (!Number.isFinite(low)) return;
    this.trades.dropBefore(this.trades.upperBound(low - this.winMs));
    if (this.k0 !== Number.NEGATIVE_INFINITY) {
      this.r2.dropBefore(Math.floor((low - this.winMs) / this.barMs) + 1);
      for (let i = 0; i < RV_CACHE_SLOTS; i++) this.rvKeyA[i] = Number.NaN;
    }
    if (this.tStart === this.tStart) this.samples.dropBefore(Math.floor((low - this.horizonMs) / this.sampleMs) + 1);
  }
}
