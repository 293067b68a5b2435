/** Z-score normalisation fitted on training rows only: per flat feature, and per sequence channel. */
export interface Normalisation {
  readonly flat_mean: readonly number[];
  readonly flat_std: readonly number[];
  readonly seq_mean: readonly number[];
  readonly seq_std: readonly number[];
}

function moments(values: (k: number, add: (v: number) => void) => void, dims: number): { mean: number[]; std: number[] } {
  const n = new Array<number>(dims).fill(0);
  const s = new Array<number>(dims).fill(0);
  const s2 = new Array<number>(dims).fill(0);
  for (let k = 0; k < dims; k++) {
    values(k, (v) => {
      n[k]++;
      s[k] += v;
      s2[k] += v * v;
    });
  }
  const mean = s.map((v, k) => (n[k] > 0 ? v / n[k] : 0));
  // a constant input gets std 1, so it normalises to 0 instead of dividing by zero
  const std = s2.map((v, k) => {
    const varK = n[k] > 0 ? v / n[k] - mean[k] * mean[k] : 0;
    return varK > 1e-12 ? Math.sqrt(varK) : 1;
  });
  return { mean, std };
}

export function fitNormalisation(flat: readonly Float64Array[], seq: readonly Float32Array[], channels: number): Normalisation {
  const d = flat.length > 0 ? flat[0].length : 0;
  const f = moments((k, add) => {
    for (const x of flat) add(x[k]);
  }, d);
  const q = moments((c, add) => {
    // only seconds that are present: absent ones stay 0 after normalisation too
    for (const s of seq) for (let t = 0; t < s.length; t += channels) if (s[t] === 1) add(s[t + c]);
  }, channels);
  // the `present` channel itself is left as 0/1
  q.mean[0] = 0;
  q.std[0] = 1;
  return { flat_mean: f.mean, flat_std: f.std, seq_mean: q.mean, seq_std: q.std };
}

export function normaliseFlat(n: Normalisation, x: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) out[k] = (x[k] - n.flat_mean[k]) / n.flat_std[k];
  return out;
}

export function normaliseSeq(n: Normalisation, s: Float32Array, channels: number): Float32Array {
  const out = new Float32Array(s.length);
  for (let t = 0; t < s.length; t += channels) {
    if (s[t] !== 1) continue;
    for (let c = 0; c < channels; c++) out[t + c] = (s[t + c] - n.seq_mean[c]) / n.seq_std[c];
  }
  return out;
}
