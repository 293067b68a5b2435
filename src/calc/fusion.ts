/**
 * OFI+CVD fusion (docs/indicators.md §7, §13 D13/D14, §15.7, §15.9) and the `ofi_cvd_conflict` event
 * (§8.4, §15.10).
 *
 * The signal is stateless (a threshold gate on each evaluation); the only state is the last OFI z
 * (kept across OFI resets, §15.7, so fusion degrades once it is older than FUSION_MAX_LAG_MS) and the
 * conflict edge/cooldown. Conflict cooldown runs on event time: max(trade ts_eff, OFI ts_eff) of the
 * evaluation, which is monotone (both stream clocks are), unlike the raw row `ts_ms`.
 */
import type { IndicatorParams } from "./params.ts";
import type { Fusion, FusionOutput, Signal } from "./contracts.ts";

/** §7.2: |ẑ| below this counts as zero for consistency. */
export const CONSISTENCY_EPS = 1e-9;

/**
 * `FUSION_TRIGGER=both` (also evaluate on OFI rows) is not built. Called by the constructor and meant
 * for `validate` (§15.13: an unbuilt option is rejected with a clear message).
 */
export function assertFusionSupported(params: IndicatorParams): void {
  if (params.fusion.trigger === "both") {
    throw new Error("fusion.trigger=both is not built yet (only fusion.trigger=trade is supported)");
  }
}

const clip = (x: number, l: number): number => (x > l ? l : x < -l ? -l : x);
const sgn = (x: number): number => (x > 0 ? 1 : x < 0 ? -1 : 0);

/** §7.2 consistency of clipped inputs. */
export function consistencyOf(zo: number, zc: number): number {
  const ao = Math.abs(zo);
  const ac = Math.abs(zc);
  if (ao < CONSISTENCY_EPS || ac < CONSISTENCY_EPS || sgn(zo) !== sgn(zc)) return 0;
  return ao < ac ? ao / ac : ac / ao;
}

type MutableFusionOutput = { -readonly [K in keyof FusionOutput]: FusionOutput[K] };

export class FusionCalculator implements Fusion {
  private readonly wo: number;
  private readonly wc: number;
  private readonly zClip: number;
  private readonly k: number;
  private readonly buy: number;
  private readonly minCons: number;
  private readonly maxLag: number;
  private readonly confZo: number;
  private readonly confZc: number;
  private readonly confCooldown: number;

  private hasOfi = false;
  private ofiZ = 0;
  private ofiTsEff = 0;
  private ofiTsMs = 0;

  /** Conflict condition at the previous evaluation (edge detection). */
  private prevConflictCond = false;
  private lastConflictAt = Number.NEGATIVE_INFINITY;

  private readonly out: MutableFusionOutput = {
    tsMs: 0,
    score: 0,
    proba: 0.5,
    consistency: 0,
    dispersion: null,
    signal: "neutral",
    zOfi: 0,
    zCvd: 0,
    lagMs: 0,
    degraded: false,
    conflict: false,
    conflictStrength: 0,
  };

  constructor(params: IndicatorParams) {
    assertFusionSupported(params);
    const f = params.fusion;
    const wSum = f.w_ofi + f.w_cvd;
    if (!(wSum > 0)) throw new Error("fusion.w_ofi + fusion.w_cvd must be > 0");
    this.wo = f.w_ofi / wSum;
    this.wc = f.w_cvd / wSum;
    this.zClip = f.z_clip;
    this.k = f.cal_k;
    this.buy = f.buy_threshold;
    this.minCons = f.min_consistency;
    this.maxLag = f.max_lag_ms;
    this.confZo = params.divergence.conflict_z_ofi;
    this.confZc = params.divergence.conflict_z_cvd;
    this.confCooldown = params.divergence.conflict_cooldown_ms;
  }

  onOfiZ(ofiZ: number, tsEff: number, tsMs: number): void {
    this.hasOfi = true;
    this.ofiZ = ofiZ;
    this.ofiTsEff = tsEff;
    this.ofiTsMs = tsMs;
  }

  onTrade(zCvd: number, tsEff: number, tsMs: number): FusionOutput | null {
    if (!this.hasOfi) return null;
    const o = this.out;
    const zo = clip(this.ofiZ, this.zClip);
    const zc = clip(zCvd, this.zClip);
    const lag = Math.abs(tsEff - this.ofiTsEff);
    const degraded = lag > this.maxLag;
    let score: number;
    let consistency: number;
    if (degraded) {
      score = zc;
      consistency = 1;
      o.dispersion = null;
    } else {
      score = this.wo * zo + this.wc * zc;
      consistency = consistencyOf(zo, zc);
      o.dispersion = Math.abs(zo - zc);
    }
    let signal: Signal = "neutral";
    if (consistency > this.minCons) {
      if (score > this.buy) signal = "buy";
      else if (score < -this.buy) signal = "sell";
    }
    o.tsMs = tsMs > this.ofiTsMs ? tsMs : this.ofiTsMs;
    o.score = score;
    o.proba = 1 / (1 + Math.exp(-this.k * score));
    o.consistency = consistency;
    o.signal = signal;
    o.zOfi = zo;
    o.zCvd = zc;
    o.lagMs = lag;
    o.degraded = degraded;

    // §8.4/§15.10: on every evaluation, degraded included; fires on a false→true edge unless within
    // the cooldown after the last emitted conflict.
    const cond = Math.abs(zo) >= this.confZo && Math.abs(zc) >= this.confZc && sgn(zo) === -sgn(zc) && zo !== 0;
    const tEvent = tsEff > this.ofiTsEff ? tsEff : this.ofiTsEff;
    const fire = cond && !this.prevConflictCond && tEvent - this.lastConflictAt >= this.confCooldown;
    this.prevConflictCond = cond;
    if (fire) this.lastConflictAt = tEvent;
    o.conflict = fire;
    o.conflictStrength = fire ? Math.min(Math.abs(zo), Math.abs(zc)) : 0;
    return o;
  }
}
