/**
 * Trend statistic of the divergence slope method (docs/indicators.md §8.2) over W equally spaced values
 * X_0..X_{W−1} (x = 0..W−1):
 *   β = OLS slope of X on x,  s = sample std (ddof 1) of the W−1 first differences,
 *   T = β·√(W−1)/s  (T = 0 when s = 0, i.e. all first differences are identical, §15.12).
 */

export interface TrendStat {
  beta: number;
  s: number;
  t: number;
}

/** Computes β, s and T of `xs[0..n)` into `out` (n ≥ 3) and returns it. */
export function trendStat(xs: ArrayLike<number>, n: number, out: TrendStat): TrendStat {
  // Centre on X_0: Σ(x−x̄)(X−c) is the same for every c, and X − X_0 is exact for nearby levels
  // (prices, CVD), which keeps the cancellation out of the products.
  const c = xs[0];
  const xBar = (n - 1) / 2;
  let sxy = 0;
  for (let i = 0; i < n; i++) sxy += (i - xBar) * (xs[i] - c);
  const sxx = (n * (n * n - 1)) / 12;
  const beta = sxy / sxx;

  // Two-pass sample std of the first differences; "identical" means bit-identical, so that the rule
  // s = 0 does not depend on rounding in the mean.
  const m = n - 1;
  const d0 = xs[1] - xs[0];
  let same = true;
  let sum = 0;
  for (let i = 1; i < n; i++) {
    const d = xs[i] - xs[i - 1];
    if (d !== d0) same = false;
    sum += d;
  }
  let s = 0;
  if (!same) {
    const mean = sum / m;
    let ss = 0;
    for (let i = 1; i < n; i++) {
      const e = xs[i] - xs[i - 1] - mean;
      ss += e * e;
    }
    s = Math.sqrt(ss / (m - 1));
  }
  out.beta = beta;
  out.s = s;
  out.t = s === 0 ? 0 : (beta * Math.sqrt(m)) / s;
  return out;
}
