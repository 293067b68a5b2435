/**
 * Out-of-sample scores of a probability model: ROC AUC with a 95 % interval (Hanley & McNeil's
 * standard error), log loss, a 10-bin calibration table, and hit rates of taken signals with Wilson
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
 * Mann–Whitney AUC (ties count half) and its Hanley–McNeil 95 % interval, widened by
 * √designEffect; null without both classes. Signals whose label windows overlap share their outcome,
 * so n samples carry the information of fewer independent ones: the design effect is
 * n / (non-overlapping windows), see `designEffect`.
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
  const q1 = a / (2 - a);
  const q2 = (2 * a * a) / (1 + a);
  const se = Math.sqrt(Math.max(1, designEffect) * Math.max(0, (a * (1 - a) + (nPos - 1) * (q1 - a * a) + (nNeg - 1) * (q2 - a * a)) / (nPos * nNeg)));
  return { auc: a, lo: Math.max(0, a - Z95 * se), hi: Math.min(1, a + Z95 * se), n_pos: nPos, n_neg: nNeg };
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
