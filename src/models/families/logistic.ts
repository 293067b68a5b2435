/**
 * L2-regularised logistic regression fitted by Newton's method (iteratively reweighted least squares):
 * exact and deterministic, 24 inputs need a 25 × 25 solve per step. Own code: the whole fit is
 * these few lines, which a library would not make shorter.
 */
import type { FamilyBody } from "./types.ts";

const RIDGE = 1;
const STEPS = 30;

/** Solves A x = b in place (Gaussian elimination with partial pivoting); A is n × n row-major. */
function solve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[piv * n + c])) piv = r;
    if (piv !== c) {
      for (let k = 0; k < n; k++) [a[c * n + k], a[piv * n + k]] = [a[piv * n + k], a[c * n + k]];
      [b[c], b[piv]] = [b[piv], b[c]];
    }
    const d = a[c * n + c];
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c] / d;
      if (f === 0) continue;
      for (let k = c; k < n; k++) a[r * n + k] -= f * a[c * n + k];
      b[r] -= f * b[c];
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r];
    for (let k = r + 1; k < n; k++) s -= a[r * n + k] * x[k];
    x[r] = s / a[r * n + r];
  }
  return x;
}

export function fitLogistic(x: readonly Float64Array[], y: Float64Array): Extract<FamilyBody, { family: "logistic" }> {
  const d = x.length > 0 ? x[0].length : 0;
  const n = d + 1; // last = bias
  const w = new Float64Array(n);
  for (let step = 0; step < STEPS; step++) {
    const h = new Float64Array(n * n);
    const g = new Float64Array(n);
    for (let i = 0; i < x.length; i++) {
      const xi = x[i];
      let z = w[d];
      for (let k = 0; k < d; k++) z += w[k] * xi[k];
      const p = 1 / (1 + Math.exp(-z));
      const r = p - y[i];
      const v = Math.max(p * (1 - p), 1e-9);
      for (let a = 0; a < n; a++) {
        const xa = a < d ? xi[a] : 1;
        g[a] += r * xa;
        for (let b = a; b < n; b++) h[a * n + b] += v * xa * (b < d ? xi[b] : 1);
      }
    }
    for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) h[a * n + b] = h[b * n + a];
    for (let k = 0; k < d; k++) {
      h[k * n + k] += RIDGE;
      g[k] += RIDGE * w[k];
    }
    h[d * n + d] += 1e-9;
    const delta = solve(h, g, n);
    let moved = 0;
    for (let k = 0; k < n; k++) {
      w[k] -= delta[k];
      moved = Math.max(moved, Math.abs(delta[k]));
    }
    if (moved < 1e-8) break;
  }
  return { family: "logistic", weights: Array.from(w.subarray(0, d)), bias: w[d] };
}

export function logisticScore(body: Extract<FamilyBody, { family: "logistic" }>, x: Float64Array): number {
  let z = body.bias;
  for (let k = 0; k < body.weights.length; k++) z += body.weights[k] * x[k];
  return 1 / (1 + Math.exp(-z));
}
