/** Two-sided 95 % standard normal quantile Φ⁻¹(0.975). */
export const Z95 = 1.959963984540054;

/** Wilson score interval for `hits` successes in `n` trials; null for n = 0. Used by the report and by model training. */
export function wilson(hits: number, n: number, z = Z95): { lo: number; hi: number } | null {
  if (n <= 0) return null;
  const p = hits / n;
  const z2 = z * z;
  const den = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / den;
  // At 0 or n hits the bound is exactly 0 or 1; the subtraction would leave rounding dust.
  return { lo: hits === 0 ? 0 : Math.max(0, center - half), hi: hits === n ? 1 : Math.min(1, center + half) };
}
