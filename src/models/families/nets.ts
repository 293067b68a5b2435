/**
 * The neural families, trained with TensorFlow.js layers on its CPU backend: an MLP on the flat
 * features, an LSTM and a 1-D CNN on the last SEQ_LEN seconds. Weights are seeded, batches come in
 * a seeded order and the CPU kernels are deterministic, so a seed gives the same model. The trained
 * weights are exported as plain layers (types.ts) and evaluated by forward.ts at inference.
 */
import { tfReady } from "../tf.ts";
import { prng as mulberry32 } from "../../util/prng.ts";
import type { FitOptions, NetLayer } from "./types.ts";

export type NetFamily = "mlp" | "lstm" | "cnn";

const BATCH = 64;
const LEARNING_RATE = 0.003;

export interface NetInput {
  /** Flat rows (mlp) or sequences (lstm, cnn), already normalised. */
  readonly rows: readonly (Float64Array | Float32Array)[];
  readonly y: Float64Array;
  /** [features] or [steps, channels]. */
  readonly shape: readonly number[];
}

export async function fitNet(family: NetFamily, input: NetInput, opts: FitOptions): Promise<NetLayer[]> {
  const { tf, tfl } = await tfReady();
  const seed = opts.seed;
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed * 31 + k });
  const l2 = tfl.regularizers.l2({ l2: 1e-3 });
  const model = tfl.sequential();
  if (family === "mlp") {
    model.add(tfl.layers.dense({ inputShape: [input.shape[0]], units: 32, activation: "relu", kernelInitializer: init(1), kernelRegularizer: l2 }));
    model.add(tfl.layers.dense({ units: 16, activation: "relu", kernelInitializer: init(2), kernelRegularizer: l2 }));
  } else if (family === "lstm") {
    model.add(tfl.layers.lstm({ inputShape: [input.shape[0], input.shape[1]], units: 8, recurrentActivation: "sigmoid", kernelInitializer: init(1), recurrentInitializer: init(2), kernelRegularizer: l2 }));
  } else {
    model.add(tfl.layers.conv1d({ inputShape: [input.shape[0], input.shape[1]], filters: 8, kernelSize: 5, activation: "relu", kernelInitializer: init(1), kernelRegularizer: l2 }));
    model.add(tfl.layers.conv1d({ filters: 8, kernelSize: 3, activation: "relu", kernelInitializer: init(2), kernelRegularizer: l2 }));
    model.add(tfl.layers.globalAveragePooling1d({}));
  }
  model.add(tfl.layers.dense({ units: 1, activation: "sigmoid", kernelInitializer: init(9) }));
  model.compile({ optimizer: tf.train.adam(LEARNING_RATE), loss: "binaryCrossentropy" });

  // one seeded shuffle of the rows (fit's own shuffle would use an unseeded generator)
  const n = input.rows.length;
  const order = Array.from({ length: n }, (_, i) => i);
  const rnd = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const width = input.shape.reduce((a, b) => a * b, 1);
  const xs = new Float32Array(n * width);
  const ys = new Float32Array(n);
  order.forEach((src, i) => {
    xs.set(input.rows[src], i * width);
    ys[i] = input.y[src];
  });
  const x = tf.tensor(xs, [n, ...input.shape]);
  const y = tf.tensor(ys, [n, 1]);
  try {
    await model.fit(x, y, { epochs: opts.epochs, batchSize: BATCH, shuffle: false, verbose: 0 });
    return exportLayers(model);
  } finally {
    x.dispose();
    y.dispose();
    model.dispose();
  }
}

type Sequential = ReturnType<Awaited<ReturnType<typeof tfReady>>["tfl"]["sequential"]>;

function exportLayers(model: Sequential): NetLayer[] {
  const out: NetLayer[] = [];
  for (const layer of model.layers) {
    const w = layer.getWeights().map((t) => Array.from(t.dataSync()));
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as Record<string, unknown>;
    if (cls === "Dense") out.push({ type: "dense", units: cfg.units as number, activation: cfg.activation as "relu" | "sigmoid" | "linear", kernel: w[0], bias: w[1] });
    else if (cls === "LSTM") out.push({ type: "lstm", units: cfg.units as number, kernel: w[0], recurrent: w[1], bias: w[2] });
    else if (cls === "Conv1D") out.push({ type: "conv1d", filters: cfg.filters as number, width: (cfg.kernelSize as number[])[0], kernel: w[0], bias: w[1] });
    else if (cls === "GlobalAveragePooling1D") out.push({ type: "global_average_pool" });
    else throw new Error(`model export: layer ${cls} is not supported`);
  }
  return out;
}
