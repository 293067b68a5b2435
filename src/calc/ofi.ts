/**
 * Multi-level order-flow imbalance with a rolling z-score (docs/indicators.md §5.1–§5.5).
 *
 * The calculator sees only accepted "normal" book messages (classification is orderbook.ts's job) and
 * full resets. Results are left in public fields, valid until the next call, so the hot path
 * allocates nothing.
 */
import type { OfiParams } from "./params.ts";
import { BOOK_LEVELS, type BookSide } from "./book-input.ts";
import { RollingMoments } from "./rolling-moments.ts";
import { TimeWindowSum } from "./time-window-sum.ts";

export class OfiCalculator {
  /** `ofi_value` (§5.2); null only with OFI_DEPTH_NORM when the average depth is 0. */
  value: number | null = null;
  /** `ofi_z` (§5.3); null in warm-up or when `value` is null. */
  z: number | null = null;
  /** `max(σ, OFI_STD_FLOOR)` used for `z`; null with `z`. */
  scale: number | null = null;
  /** σ was below OFI_STD_FLOOR (the floor was used). */
  stdFloorHit = false;
  /** Per-level `e_m` of the last update (diagnostics and tests); 0 beyond OFI_LEVELS. */
  readonly e = new Float64Array(BOOK_LEVELS);

  private readonly levels: number;
  private readonly w: Float64Array;
  private readonly minSamples: number;
  private readonly floor: number;
  private readonly clipAt: number;
  private readonly depthNorm: boolean;
  private readonly history: RollingMoments;
  private readonly window: TimeWindowSum | null;

  constructor(p: OfiParams) {
    this.levels = p.levels;
    this.w = Float64Array.from(p.weights);
    this.minSamples = p.z_min_samples;
    this.floor = p.std_floor;
    this.clipAt = p.z_clip;
    this.depthNorm = p.depth_norm;
    this.history = new RollingMoments(p.z_window);
    this.window = p.sum_window_ms > 0 ? new TimeWindowSum(p.sum_window_ms) : null;
  }

  /** Values currently in the z history (tests, status). */
  get historySize(): number {
    return this.history.size;
  }

  /** Full OFI reset (§5.5): z history and rolling-sum buffer cleared. The baseline is the caller's. */
  reset(): void {
    this.history.clear();
    this.window?.clear();
  }

  /**
   * One OFI event: `prev*` is the baseline snapshot, `cur*` the new normal message; `tsEff` is the
   * book stream's effective time (for OFI_SUM_WINDOW_MS).
   */
  update(prevBid: BookSide, prevAsk: BookSide, curBid: BookSide, curAsk: BookSide, tsEff: number): void {
    const raw = this.raw(prevBid, prevAsk, curBid, curAsk);
    if (raw === null) {
      this.value = null;
      this.z = null;
      this.scale = null;
      this.stdFloorHit = false;
      return;
    }
    const v = this.window === null ? raw : this.window.push(tsEff, raw);
    this.value = v;

    // "Previous window" baseline: z against the history before v, then v joins the history.
    const h = this.history;
    if (h.size < this.minSamples) {
      this.z = null;
      this.scale = null;
      this.stdFloorHit = false;
    } else {
      const mu = h.mean();
      const sigma = Math.sqrt(h.variance(1));
      const floorHit = sigma < this.floor;
      const scale = floorHit ? this.floor : sigma;
      const z = (v - mu) / scale;
      this.z = z > this.clipAt ? this.clipAt : z < -this.clipAt ? -this.clipAt : z;
      this.scale = scale;
      this.stdFloorHit = floorHit;
    }
    h.push(v);
  }

  /** Σ w_m e_m (§5.1, §5.2), divided by the average depth with OFI_DEPTH_NORM; null if that is 0. */
  private raw(pb: BookSide, pa: BookSide, cb: BookSide, ca: BookSide): number | null {
    const e = this.e;
    const w = this.w;
    let s = 0;
    let depthNow = 0;
    let depthPrev = 0;
    for (let m = 0; m < this.levels; m++) {
      const bNow = cb.px[m];
      const bPrev = pb.px[m];
      const qbNow = cb.qty[m];
      const qbPrev = pb.qty[m];
      const ofb = bNow > bPrev ? qbNow : bNow === bPrev ? qbNow - qbPrev : -qbPrev;
      const aNow = ca.px[m];
      const aPrev = pa.px[m];
      const qaNow = ca.qty[m];
      const qaPrev = pa.qty[m];
      const ofa = aNow > aPrev ? -qaPrev : aNow === aPrev ? qaNow - qaPrev : qaNow;
      const em = ofb - ofa;
      e[m] = em;
      s += w[m] * em;
      depthNow += qbNow + qaNow;
      depthPrev += qbPrev + qaPrev;
    }
    for (let m = this.levels; m < BOOK_LEVELS; m++) e[m] = 0;
    if (!this.depthNorm) return s;
    // D(n) = (1/(2M)) Σ_m (qb_m + qa_m), D̄ = ½(D(n) + D(n−1)); M = OFI_LEVELS (§5.2's 1/10 is M = 5).
    const avgDepth = (depthNow + depthPrev) / (4 * this.levels);
    return avgDepth > 0 ? s / avgDepth : null;
  }
}
