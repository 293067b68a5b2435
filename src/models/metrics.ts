/**
 * Out-of-sample scores of a probability model: ROC AUC with a 95 % interval (Newcombe's score
 * interval on Hanley & McNeil's variance), log loss, a 10-bin calibration table, and hit rates of taken signals with Wilson
 * intervals. Pure functions on plain arrays.
 */

import { wilson, Z95 } from "../util/wilson.ts";

const EPS = 1e-7;

/** Wilson score interval for `hits` in `n`; null for n = 0. */
export const wilsonInterval = (hits: number, n: number): { readonly lo: number; readonly hi: number } | null => wilson(hits, n);

export interface AucResult {
  readonly auc: number;
  readonly lo: number;
  readonly hi: number;
  readonly n_pos: number;
  readonly n_neg: number;
}

/**
 * Mann–Whitney AUC (ties count half) and its 95 % interval; null without both classes.
 *
 * The interval is Newcombe's score-type interval (Newcombe 2006, "Confidence intervals for an effect
 * size measure based on the Mann–Whitney statistic. Part 2: asymptotic methods and evaluation",
 * Stat Med 25:559–573): every θ with (θ − AUC)² ≤ z²·deff·V(θ), where V is Hanley and McNeil's variance
 * with both sample sizes replaced by (n_pos + n_neg)/2. Because the variance is taken at θ, not at the
 * estimate, an AUC of exactly 1 (or 0) still gets an interval of honest width: Hanley–McNeil's Wald
 * interval has zero width there, so 21 wins ranked perfectly looked certain.
 *
 * Signals whose label windows overlap share their outcome, so n samples carry the information of
 * fewer independent ones: the variance is multiplied by the design effect, n / (non-overlapping
 * windows), see `designEffect`.
 */
export function auc(y: ArrayLike<number>, p: ArrayLike<number>, designEffect = 1): AucResult | null {
  const n = y.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[a] - p[b]);
  let nPos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && p[idx[j + 1]] === p[idx[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (y[idx[k]] === 1) {
        nPos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  const a = (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
  const { lo, hi } = aucScoreInterval(a, nPos, nNeg, Math.max(1, designEffect));
  return { auc: a, lo, hi, n_pos: nPos, n_neg: nNeg };
}

/** Newcombe's variance of an AUC of θ: Hanley–McNeil's with n_pos − 1 and n_neg − 1 both (n_pos + n_neg)/2 − 1. */
function newcombeVariance(theta: number, nPos: number, nNeg: number): number {
  const half = (nPos + nNeg) / 2;
  return ((theta * (1 - theta)) / (nPos * nNeg)) * (2 * half - 1 - (3 * half - 3) / ((2 - theta) * (1 + theta)));
}

/**
 * The score interval's bounds: where (θ − a)² = z²·effect·V(θ) on each side of a, by bisection. V is
 * 0 at θ = 0 and 1 and positive between, so a is always inside and 0 or 1 outside (unless a is there).
 */
function aucScoreInterval(a: number, nPos: number, nNeg: number, effect: number, z = Z95): { readonly lo: number; readonly hi: number } {
  const inside = (theta: number): boolean => (theta - a) ** 2 <= z * z * effect * newcombeVariance(theta, nPos, nNeg);
  const crossing = (out: number, inn: number): number => {
    let o = out;
    let i = inn;
    for (let k = 0; k < 60; k++) {
      const m = (o + i) / 2;
      if (inside(m)) i = m;
      else o = m;
    }
    return i;
  };
  return { lo: a <= 0 ? 0 : crossing(0, a), hi: a >= 1 ? 1 : crossing(1, a) };
}

/**
 * n / the number of label windows that can be picked in time order without overlapping (greedy): how
 * many samples share one independent outcome on average. 1 when no windows overlap.
 */
export function designEffect(windows: readonly { readonly tsMs: number; readonly exitTsMs: number }[]): number {
  if (windows.length === 0) return 1;
  const sorted = [...windows].sort((a, b) => a.tsMs - b.tsMs);
  let independent = 0;
  let freeAt = Number.NEGATIVE_INFINITY;
  for (const w of sorted) {
    if (w.tsMs > freeAt) {
      independent++;
      freeAt = w.exitTsMs;
    }
  }
  return windows.length / independent;
}

export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - EPS, Math.max(EPS, p[i]));
    s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return y.length > 0 ? s / y.length : Number.NaN;
}

export interface CalibrationBin {
  readonly lo: number;
  readonly hi: number;
  readonly n: number;
  readonly mean_p: number | null;
  readonly win_rate: number | null;
}

/** Ten equal-width probability bins. */
export function calibration(y: ArrayLike<number>, p: ArrayLike<number>, bins = 10): CalibrationBin[] {
  const n = new Array<number>(bins).fill(0);
  const sp = new Array<number>(bins).fill(0);
  const sy = new Array<number>(bins).fill(0);
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p[i] * bins)));
    n[b]++;
    sp[b] += p[i];
    sy[b] += y[i];
  }
  return n.map((c, b) => ({ lo: b / bins, hi: (b + 1) / bins, n: c, mean_p: c > 0 ? sp[b] / c : null, win_rate: c > 0 ? sy[b] / c : null }));
}

export interface HitRate {
  readonly n: number;
  readonly wins: number;
  readonly hit_rate: number | null;
  readonly wilson_lo: number | null;
  readonly wilson_hi: number | null;
  /** Mean net return of the taken signals, bps. */
  readonly mean_ret_bps: number | null;
}

/** Hit rate of the samples where `taken[i]`; `retBps` are their net round-trip returns. */
export function hitRate(y: ArrayLike<number>, retBps: ArrayLike<number>, taken: (i: number) => boolean): HitRate {
  let n = 0;
  let wins = 0;
  let ret = 0;
  for (let i = 0; i < y.length; i++) {
    if (!taken(i)) continue;
    n++;
    wins += y[i];
    ret += retBps[i];
  }
  const w = wilsonInterval(wins, n);
  return { n, wins, hit_rate: n > 0 ? wins / n : null, wilson_lo: w?.lo ?? null, wilson_hi: w?.hi ?? null, mean_ret_bps: n > 0 ? ret / n : null };
}

export interface Scores {
  readonly n: number;
  /** Samples per independent outcome (overlapping label windows); the AUC interval is widened by its root. */
  readonly design_effect: number;
  readonly auc: AucResult | null;
  readonly log_loss: number;
  /** Fraction of wins among samples with p ≥ threshold (null when none reach it). */
  readonly precision_at_threshold: number | null;
  readonly calibration: readonly CalibrationBin[];
  /** Signals the model takes (p ≥ threshold). */
  readonly taken: HitRate;
  /** The plain fusion rule: every signal taken. */
  readonly plain: HitRate;
}

export function scores(y: ArrayLike<number>, p: ArrayLike<number>, retBps: ArrayLike<number>, threshold: number, effect = 1): Scores {
  const taken = hitRate(y, retBps, (i) => p[i] >= threshold);
  return {
    n: y.length,
    design_effect: effect,
    auc: auc(y, p, effect),
    log_loss: logLoss(y, p),
    precision_at_threshold: taken.hit_rate,
    calibration: calibration(y, p),
    taken,
    plain: hitRate(y, retBps, () => true),
  };
}

/** Plain-words verdict on out-of-sample AUC. */
export function verdictOf(a: AucResult | null): "edge" | "no edge" | "not enough data" {
  if (a === null) return "not enough data";
  return a.lo > 0.5 ? "edge" : "no edge";
}
