/**
 * Gradient-boosted decision trees for binary log loss (second-order leaf values, histogram splits on
 * up to 32 quantile bins per feature, depth-limited, no row sampling so a fit is deterministic).
 *
 * Own code, because no maintained pure-JavaScript boosting library runs inside the compiled binary
 * (docs/models.md lists what was checked): the wasm ports need a side file or are unmaintained.
 */
import type { FamilyBody, Tree } from "./types.ts";

export interface GbdtOptions {
  readonly trees: number;
  readonly depth: number;
  readonly learningRate: number;
  readonly minLeaf: number;
  readonly lambda: number;
}

export const GBDT_DEFAULTS: GbdtOptions = { trees: 120, depth: 3, learningRate: 0.08, minLeaf: 20, lambda: 1 };
const BINS = 32;

/** Up to BINS−1 ascending cut values per feature (quantiles of the training column). */
function cuts(x: readonly Float64Array[], k: number): number[] {
  const v = x.map((r) => r[k]).sort((a, b) => a - b);
  const out: number[] = [];
  for (let b = 1; b < BINS; b++) {
    const c = v[Math.floor((b * v.length) / BINS)];
    if (c !== undefined && (out.length === 0 || c > out[out.length - 1]) && c < v[v.length - 1]) out.push(c);
  }
  return out;
}

function binOf(c: readonly number[], v: number): number {
  let lo = 0;
  let hi = c.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (c[m] < v) lo = m + 1;
    else hi = m;
  }
  return lo; // number of cuts < v: v ≤ c[j] ⇔ bin ≤ j
}

interface MutableTree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
}

export function fitGbdt(x: readonly Float64Array[], y: Float64Array, o: GbdtOptions = GBDT_DEFAULTS): Extract<FamilyBody, { family: "gbdt" }> {
  const n = x.length;
  const d = n > 0 ? x[0].length : 0;
  const cutList = Array.from({ length: d }, (_, k) => cuts(x, k));
  const bins = cutList.map((c, k) => Uint8Array.from(x, (r) => binOf(c, r[k])));
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i];
  mean = Math.min(1 - 1e-6, Math.max(1e-6, mean / Math.max(1, n)));
  const base = Math.log(mean / (1 - mean));
  const f = new Float64Array(n).fill(base);
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  const trees: Tree[] = [];
  const gh = new Float64Array(BINS * 2);
  const cnt = new Int32Array(BINS);

  const grow = (t: MutableTree, idx: Int32Array, depth: number): number => {
    const node = t.feature.length;
    t.feature.push(-1);
    t.threshold.push(0);
    t.left.push(-1);
    t.right.push(-1);
    let G = 0;
    let H = 0;
    for (const i of idx) {
      G += g[i];
      H += h[i];
    }
    t.value.push((-G / (H + o.lambda)) * o.learningRate);
    if (depth >= o.depth || idx.length < 2 * o.minLeaf) return node;
    const parent = (G * G) / (H + o.lambda);
    let best = 1e-9;
    let bestK = -1;
    let bestBin = -1;
    for (let k = 0; k < d; k++) {
      const nb = cutList[k].length + 1;
      if (nb < 2) continue;
      gh.fill(0, 0, nb * 2);
      cnt.fill(0, 0, nb);
      const bk = bins[k];
      for (const i of idx) {
        const b = bk[i];
        gh[2 * b] += g[i];
        gh[2 * b + 1] += h[i];
        cnt[b]++;
      }
      let gl = 0;
      let hl = 0;
      let nl = 0;
      for (let b = 0; b < nb - 1; b++) {
        gl += gh[2 * b];
        hl += gh[2 * b + 1];
        nl += cnt[b];
        const nr = idx.length - nl;
        if (nl < o.minLeaf || nr < o.minLeaf) continue;
        const gr = G - gl;
        const hr = H - hl;
        const gain = (gl * gl) / (hl + o.lambda) + (gr * gr) / (hr + o.lambda) - parent;
        if (gain > best) {
          best = gain;
          bestK = k;
          bestBin = b;
        }
      }
    }
    if (bestK < 0) return node;
    const bk = bins[bestK];
    const l = idx.filter((i) => bk[i] <= bestBin);
    const r = idx.filter((i) => bk[i] > bestBin);
    t.feature[node] = bestK;
    t.threshold[node] = cutList[bestK][bestBin];
    t.left[node] = grow(t, l, depth + 1);
    t.right[node] = grow(t, r, depth + 1);
    return node;
  };

  const all = Int32Array.from({ length: n }, (_, i) => i);
  for (let m = 0; m < o.trees; m++) {
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-f[i]));
      g[i] = p - y[i];
      h[i] = Math.max(p * (1 - p), 1e-9);
    }
    const t: MutableTree = { feature: [], threshold: [], left: [], right: [], value: [] };
    grow(t, all, 0);
    if (t.feature.length === 1) break; // no split improves: more trees would only shift the mean
    trees.push(t);
    for (let i = 0; i < n; i++) f[i] += treeValue(t, x[i]);
  }
  return { family: "gbdt", base, trees };
}

export function treeValue(t: Tree, x: Float64Array): number {
  let k = 0;
  while (t.feature[k] >= 0) k = x[t.feature[k]] <= t.threshold[k] ? t.left[k] : t.right[k];
  return t.value[k];
}

export function gbdtScore(body: Extract<FamilyBody, { family: "gbdt" }>, x: Float64Array): number {
  let z = body.base;
  for (const t of body.trees) z += treeValue(t, x);
  return 1 / (1 + Math.exp(-z));
}
