/**
 * The model families: plain-JS inference equals TensorFlow.js on the same weights (MLP, LSTM, CNN);
 * the trees learn an interaction a linear model cannot; a model file is refused when its features are
 * not what this binary computes; the same seed gives the same model.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FLAT_FEATURES, SEQ_CHANNELS, SEQ_LEN, featureSignature } from "../../src/models/features.ts";
import { forward } from "../../src/models/families/forward.ts";
import { fitGbdt, gbdtScore } from "../../src/models/families/gbdt.ts";
import { fitLogistic, logisticScore } from "../../src/models/families/logistic.ts";
import { fitNet, type NetFamily } from "../../src/models/families/nets.ts";
import { auc } from "../../src/models/metrics.ts";
import { loadModelFile, MODEL_FORMAT, MODEL_FORMAT_VERSION } from "../../src/models/model-file.ts";
import { tfReady } from "../../src/models/tf.ts";
import { tempDir } from "../helpers/binary.ts";
import { prng } from "../helpers/prng.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("neural families", () => {
  for (const family of ["mlp", "lstm", "cnn"] as NetFamily[]) {
    test(`${family}: plain-JS forward equals TensorFlow.js predict, and a seed repeats the fit`, async () => {
      const r = prng(9);
      const shape = family === "mlp" ? [FLAT_FEATURES.length] : [SEQ_LEN, SEQ_CHANNELS.length];
      const width = shape.reduce((a, b) => a * b, 1);
      const rows = Array.from({ length: 96 }, () => Float32Array.from({ length: width }, () => r() * 2 - 1));
      const y = Float64Array.from(rows, (x) => (x[1] + x[2] > 0 ? 1 : 0));
      const layers = await fitNet(family, { rows, y, shape }, { seed: 4, epochs: 1 });
      expect(await fitNet(family, { rows, y, shape }, { seed: 4, epochs: 1 })).toEqual(layers);
      // rebuild the same network in tfjs from the exported weights and compare predictions
      const { tf, tfl } = await tfReady();
      const m = tfl.sequential();
      if (family === "mlp") {
        m.add(tfl.layers.dense({ inputShape: shape, units: 32, activation: "relu" }));
        m.add(tfl.layers.dense({ units: 16, activation: "relu" }));
      } else if (family === "lstm") m.add(tfl.layers.lstm({ inputShape: shape, units: 8, recurrentActivation: "sigmoid" }));
      else {
        m.add(tfl.layers.conv1d({ inputShape: shape, filters: 8, kernelSize: 5, activation: "relu" }));
        m.add(tfl.layers.conv1d({ filters: 8, kernelSize: 3, activation: "relu" }));
        m.add(tfl.layers.globalAveragePooling1d({}));
      }
      m.add(tfl.layers.dense({ units: 1, activation: "sigmoid" }));
      const weights: number[][] = [];
      for (const l of layers) {
        if (l.type === "dense" || l.type === "conv1d") weights.push(l.kernel as number[], l.bias as number[]);
        else if (l.type === "lstm") weights.push(l.kernel as number[], l.recurrent as number[], l.bias as number[]);
      }
      m.setWeights(m.getWeights().map((w, i) => tf.tensor(weights[i], w.shape)));
      const x = tf.tensor(Float32Array.from(rows.slice(0, 8).flatMap((a) => [...a])), [8, ...shape]);
      const want = (m.predict(x) as ReturnType<typeof tf.tensor>).dataSync();
      for (let i = 0; i < 8; i++) expect(forward(layers, rows[i], family === "mlp" ? 1 : SEQ_LEN)).toBeCloseTo(want[i], 5);
      m.dispose();
      x.dispose();
    }, 60_000);
  }
});

describe("trees and the linear baseline", () => {
  test("GBDT learns an interaction (XOR of two signs) that logistic regression cannot", () => {
    const r = prng(2);
    const make = (n: number) => {
      const x = Array.from({ length: n }, () => Float64Array.from({ length: 4 }, () => r() * 2 - 1));
      const y = Float64Array.from(x, (v) => ((v[0] > 0) !== (v[1] > 0) ? (r() < 0.85 ? 1 : 0) : r() < 0.15 ? 1 : 0));
      return { x, y };
    };
    const tr = make(2000);
    const te = make(1000);
    const g = fitGbdt(tr.x, tr.y);
    const l = fitLogistic(tr.x, tr.y);
    expect(auc(te.y, te.x.map((v) => gbdtScore(g, v)))!.auc).toBeGreaterThan(0.8);
    expect(auc(te.y, te.x.map((v) => logisticScore(l, v)))!.auc).toBeLessThan(0.6);
    // deterministic
    expect(fitGbdt(tr.x, tr.y)).toEqual(g);
  });

  test("logistic regression recovers a linear rule", () => {
    const r = prng(8);
    const x = Array.from({ length: 4000 }, () => Float64Array.from({ length: 3 }, () => r() * 2 - 1));
    const y = Float64Array.from(x, (v) => (r() < 1 / (1 + Math.exp(-(2 * v[0] - 1 * v[1]))) ? 1 : 0));
    const l = fitLogistic(x, y);
    expect(l.weights[0]).toBeGreaterThan(1.5);
    expect(l.weights[1]).toBeLessThan(-0.6);
    expect(Math.abs(l.weights[2])).toBeLessThan(0.25);
  });
});

describe("model file", () => {
  const base = () => ({
    format: MODEL_FORMAT,
    format_version: MODEL_FORMAT_VERSION,
    name: "logistic",
    features: featureSignature(),
    training: { from: "2026-01-01", to: "2026-01-02", data_hash: "0".repeat(64) },
    members: [
      {
        family: "logistic",
        body: { family: "logistic", weights: FLAT_FEATURES.map(() => 0), bias: 0 },
        normalisation: { flat_mean: FLAT_FEATURES.map(() => 0), flat_std: FLAT_FEATURES.map(() => 1), seq_mean: [], seq_std: [] },
      },
    ],
  });
  const write = (v: unknown): string => {
    const d = tempDir("model-file");
    dirs.push(d);
    const p = join(d, "m.json");
    writeFileSync(p, typeof v === "string" ? v : JSON.stringify(v));
    return p;
  };

  test("accepted when the features match", () => {
    expect(loadModelFile(write(base())).ok).toBe(true);
  });

  test("refused, naming the difference, when the feature list or order differs", () => {
    const swapped = base();
    const flat = [...swapped.features.flat];
    [flat[1], flat[2]] = [flat[2], flat[1]];
    const r = loadModelFile(write({ ...swapped, features: { ...swapped.features, flat } }));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain("flat features differ at position 1");
    const other = loadModelFile(write({ ...base(), features: { ...base().features, feature_set: "signal-features/0" } }));
    expect(!other.ok && other.error).toContain("feature set");
    const seq = loadModelFile(write({ ...base(), features: { ...base().features, seq_len: 10 } }));
    expect(!seq.ok && seq.error).toContain("sequence length");
  });

  test("refused when not a model file, not JSON, or missing", () => {
    expect(loadModelFile(write({ format: "something" })).ok).toBe(false);
    const bad = loadModelFile(write("{ not json"));
    expect(!bad.ok && bad.error).toContain("cannot be read as JSON");
    const gone = loadModelFile("/nonexistent/model.json");
    expect(!gone.ok && gone.error).toContain("does not exist");
  });
});
