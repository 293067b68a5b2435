/**
 * Aggressor-signed cumulative volume delta and its z-score (docs/indicators.md §6, §15.8).
 *
 * One `update` per accepted trade; results are left in public fields (valid until the next call).
 */
import type { CvdParams } from "./params.ts";
import { RollingMedian } from "./rolling-median.ts";
import { RollingMoments } from "./rolling-moments.ts";

const DAY_MS = 86_400_000;
/** §6.3: σ at or below this gives z = 0 in level mode. */
const LEVEL_SIGMA_EPS = 1e-9;

export class CvdCalculator {
  /** `delta_i` = s·q (or s·p·q with CVD_UNITS=quote). */
  delta = 0;
  /** `cvd_i`. */
  cvd = 0;
  /** Pre-clip z; null in warm-up / post-stale freeze. */
  zRaw: number | null = null;
  /** Clipped z; null with `zRaw`. */
  zCvd: number | null = null;
  /**
   * Delta mode: the scale the z divides by. Level mode: σ of the previous levels (0 while fewer than
   * two). Written on every row, also when z is null (§15.8).
   */
  scale = 0;
  /** Hybrid: MAD_MULTIPLIER · 1.4826 · MAD (0 below MAD_MIN_SAMPLES). 0 in ewma and level modes. */
  floor = 0;
  /** Hybrid: `floor ≥ mix`. False in ewma and level modes. */
  floorUsed = false;
  /** EWMAs of |delta| after this trade (delta mode; tests and diagnostics). */
  fast = 0;
  slow = 0;
  /** Accepted trades since the last z-state reset. */
  count = 0;

  private readonly p: CvdParams;
  private readonly levelMode: boolean;
  private readonly hybrid: boolean;
  private readonly eventForm: boolean;
  private readonly quote: boolean;
  private readonly anchorDay: boolean;
  private readonly kFast: number;
  private readonly kSlow: number;
  private readonly mad: RollingMedian;
  private readonly levels: RollingMoments | null;
  private readonly levelWarmup: number;
  private prevTsEff = Number.NEGATIVE_INFINITY;
  private freezeLeft = 0;
  private day = Number.NaN;
  // CVD_EWMA_FORM=event: normalised exponentially weighted sums (numerator, denominator).
  private fastNum = 0;
  private fastDen = 0;
  private slowNum = 0;
  private slowDen = 0;

  constructor(p: CvdParams) {
    this.p = p;
    this.levelMode = p.z_mode === "level";
    this.hybrid = p.scale_mode === "hybrid";
    this.eventForm = p.ewma_form === "event";
    this.quote = p.units === "quote";
    this.anchorDay = p.anchor === "utc_day";
    this.kFast = Math.LN2 / (p.fast_half_life_sec * 1000);
    this.kSlow = Math.LN2 / (p.half_life_sec * 1000);
    this.mad = new RollingMedian(p.mad_window_trades);
    this.levels = this.levelMode ? new RollingMoments(p.z_window) : null;
    this.levelWarmup = Math.max(Math.floor(p.z_window / 5), 3);
  }

  /** Explicit session restart (§6.5): z state reset; the `cvd` level is kept. */
  resetZState(): void {
    this.count = 0;
    this.prevTsEff = Number.NEGATIVE_INFINITY;
    this.freezeLeft = 0;
    this.fast = this.slow = 0;
    this.fastNum = this.fastDen = this.slowNum = this.slowDen = 0;
    this.mad.clear();
    this.levels?.clear();
  }

  /** One accepted trade at trade-stream `tsEff`; `side` +1 aggressor buy, −1 aggressor sell. */
  update(tsEff: number, price: number, qty: number, side: 1 | -1): void {
    const p = this.p;
    const delta = side * (this.quote ? price * qty : qty);
    this.delta = delta;
    if (this.anchorDay) {
      const day = Math.floor(tsEff / DAY_MS);
      if (day !== this.day) {
        this.cvd = 0;
        this.day = day;
      }
    }
    this.cvd += delta;

    const first = this.count === 0;
    this.count++;
    const gapMs = first ? 0 : tsEff - this.prevTsEff;
    this.prevTsEff = tsEff;
    // The freeze starts on the stale trade itself and covers CVD_POST_STALE_FREEZE trades (§15.8, D12).
    if (!first && gapMs > p.stale_ms) this.freezeLeft = p.post_stale_freeze;
    let frozen = false;
    if (this.freezeLeft > 0) {
      frozen = true;
      this.freezeLeft--;
    }

    let z: number | null;
    if (this.levelMode) {
      z = this.levelZ();
      if (frozen) z = null;
    } else {
      this.updateScale(delta, first, gapMs);
      z = frozen || this.count < p.freeze_min ? null : delta / this.scale;
    }
    this.zRaw = z;
    if (z === null) this.zCvd = null;
    else {
      const L = p.winsor_limit;
      this.zCvd = z > L ? L : z < -L ? -L : z;
    }
  }

  /** §6.2: EWMAs and MAD updated with the current trade before its z. */
  private updateScale(delta: number, first: boolean, gapMs: number): void {
    const p = this.p;
    const a = delta < 0 ? -delta : delta;
    if (first) {
      this.fast = a;
      this.slow = a;
      this.fastNum = this.slowNum = a;
      this.fastDen = this.slowDen = 1;
    } else if (this.eventForm) {
      // Every trade weighs 1, decayed by 2^(−age/τ); same-ms trades have age 0 (no dt floor).
      const df = Math.exp(-this.kFast * gapMs);
      const ds = Math.exp(-this.kSlow * gapMs);
      this.fastNum = this.fastNum * df + a;
      this.fastDen = this.fastDen * df + 1;
      this.slowNum = this.slowNum * ds + a;
      this.slowDen = this.slowDen * ds + 1;
      this.fast = this.fastNum / this.fastDen;
      this.slow = this.slowNum / this.slowDen;
    } else {
      const dt = gapMs > p.dt_min_ms ? gapMs : p.dt_min_ms;
      // α = 1 − exp(−ln2·dt/τ), via expm1 for accuracy at small dt.
      const af = -Math.expm1(-this.kFast * dt);
      const as = -Math.expm1(-this.kSlow * dt);
      this.fast = (1 - af) * this.fast + af * a;
      this.slow = (1 - as) * this.slow + as * a;
    }
    const eps = p.scale_eps;
    if (!this.hybrid) {
      this.floor = 0;
      this.floorUsed = false;
      this.scale = this.slow > eps ? this.slow : eps;
      return;
    }
    const w = p.scale_fast_weight;
    const mix = w * this.fast + (1 - w) * this.slow;
    const mad = this.mad;
    mad.push(delta);
    const floor = mad.size >= p.mad_min_samples ? p.mad_multiplier * (p.mad_scale * mad.mad()) : 0;
    this.floor = floor;
    this.floorUsed = floor >= mix;
    let s = mix > floor ? mix : floor;
    if (s < eps) s = eps;
    this.scale = s;
  }

  /** §6.3: z of the level against the previous CVD_Z_WINDOW levels (population σ). */
  private levelZ(): number | null {
    const h = this.levels as RollingMoments;
    const n = h.size;
    let z: number | null = null;
    this.floor = 0;
    this.floorUsed = false;
    this.scale = n >= 1 ? Math.sqrt(h.variance(0)) : 0;
    if (n >= this.levelWarmup) {
      const sigma = this.scale;
      z = sigma <= LEVEL_SIGMA_EPS ? 0 : (this.cvd - h.mean()) / sigma;
    }
    h.push(this.cvd);
    return z;
  }
}
