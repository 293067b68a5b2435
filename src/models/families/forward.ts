/**
 * Inference of the exported neural layers (types.ts) in plain JavaScript: a few hundred
 * multiply-adds per signal, no tensors to allocate or free, the same numbers as TensorFlow.js to
 * float precision (test/unit/models-families.test.ts compares them).
 */
import type { NetLayer } from "./types.ts";

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** Evaluates the layers on one input: a flat vector, or steps × channels for sequence layers. */
export function forward(layers: readonly NetLayer[], input: Float64Array | Float32Array, steps: number): number {
  // activations as [steps × width]; a flat input is one step
  let act: Float64Array = Float64Array.from(input);
  let t = steps;
  let width = input.length / steps;
  for (const l of layers) {
    if (l.type === "dense") {
      const out = new Float64Array(l.units);
      for (let u = 0; u < l.units; u++) {
        let s = l.bias[u];
        for (let k = 0; k < width; k++) s += act[k] * l.kernel[k * l.units + u];
        out[u] = l.activation === "relu" ? (s > 0 ? s : 0) : l.activation === "sigmoid" ? sigmoid(s) : s;
      }
      act = out;
      width = l.units;
      t = 1;
    } else if (l.type === "lstm") {
      const u = l.units;
      const h = new Float64Array(u);
      const c = new Float64Array(u);
      const z = new Float64Array(4 * u);
      for (let s = 0; s < t; s++) {
        for (let j = 0; j < 4 * u; j++) {
          let v = l.bias[j];
          for (let k = 0; k < width; k++) v += act[s * width + k] * l.kernel[k * 4 * u + j];
          for (let k = 0; k < u; k++) v += h[k] * l.recurrent[k * 4 * u + j];
          z[j] = v;
        }
        for (let j = 0; j < u; j++) {
          const ig = sigmoid(z[j]);
          const fg = sigmoid(z[u + j]);
          const cc = Math.tanh(z[2 * u + j]);
          const og = sigmoid(z[3 * u + j]);
          c[j] = fg * c[j] + ig * cc;
          h[j] = og * Math.tanh(c[j]);
        }
      }
      act = h;
      width = u;
      t = 1;
    } else if (l.type === "conv1d") {
      const outT = t - l.width + 1;
      const out = new Float64Array(outT * l.filters);
      for (let s = 0; s < outT; s++) {
        for (let f = 0; f < l.filters; f++) {
          let v = l.bias[f];
          for (let w = 0; w < l.width; w++) {
            const base = (s + w) * width;
            for (let k = 0; k < width; k++) v += act[base + k] * l.kernel[(w * width + k) * l.filters + f];
          }
          out[s * l.filters + f] = v > 0 ? v : 0;
        }
      }
      act = out;
      t = outT;
      width = l.filters;
    } else {
      const out = new Float64Array(width);
      for (let s = 0; s < t; s++) for (let k = 0; k < width; k++) out[k] += act[s * width + k];
      for (let k = 0; k < width; k++) out[k] /= t;
      act = out;
      t = 1;
    }
  }
  return act[0];
}
