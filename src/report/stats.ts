/**
 * Statistics of the signal evaluation (docs/indicators.md §12.3, §12.4): Wilson score interval, exact
 * one-sided binomial p-value, average ranks, Pearson and Spearman correlation, quantiles.
 * Pure functions on plain arrays; §12.5 is their worked example.
 */

export { wilson, Z95 } from "../util/wilson.ts";

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error ~1e-15). */
export function lnGamma(x: number): number {
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const xm = x - 1;
  let a = c[0];
  const t = xm + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += c[i] / (xm + i);
  return 0.5 * Math.log(2 * Math.PI) + (xm + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(X ≥ k) for X ~ Binomial(n, 1/2) with k > n/2: terms only shrink, summed from the largest. */
function upperTailHalf(k: number, n: number): number {
  const lnFirst = lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1) - n * Math.LN2;
  let term = 1;
  let sum = 1;
  for (let i = k; i < n; i++) {
    term *= (n - i) / (i + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return Math.min(1, Math.exp(lnFirst + Math.log(sum)));
}

/** One-sided exact binomial p-value vs 0.5: P(X ≥ hits | n, 0.5); null for n = 0. */
export function binomialPValue(hits: number, n: number): number | null {
  if (n <= 0) return null;
  if (hits <= 0) return 1;
  if (hits > n) return 0;
  // By symmetry P(X ≥ k) = 1 − P(X ≥ n − k + 1), which is a shrinking-terms sum when k ≤ n/2.
  if (2 * hits > n) return upperTailHalf(hits, n);
  return 1 - upperTailHalf(n - hits + 1, n);
}

/** 1-based ranks, ties get the average of the ranks they span. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && values[idx[j]] === values[idx[i]]) j++;
    const r = (i + 1 + j) / 2; // mean of ranks i+1 … j
    for (let k = i; k < j; k++) ranks[idx[k]] = r;
    i = j;
  }
  return ranks;
}

/** Pearson correlation; null with fewer than 2 pairs or a constant series. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  const n = x.length;
  if (n < 2 || y.length !== n) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return sxy / Math.sqrt(sxx * syy);
}

/** Spearman rank correlation = Pearson of the average ranks (ties averaged, §12.4). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  return pearson(averageRanks(x), averageRanks(y));
}

/** Linear-interpolation quantile (NumPy default / Hyndman–Fan 7) of ascending-sorted values. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Mean, sample standard deviation (n − 1) and count; std null below 2 values. */
export function meanStd(values: ArrayLike<number>): { n: number; mean: number | null; std: number | null } {
  const n = values.length;
  if (n === 0) return { n, mean: null, std: null };
  let m = 0;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i] - m;
    m += d / (i + 1);
    m2 += d * (values[i] - m);
  }
  return { n, mean: m, std: n > 1 ? Math.sqrt(m2 / (n - 1)) : null };
}
