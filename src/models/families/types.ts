/**
 * What every model family trains on and hands back. A family fits on normalised inputs (the
 * normalisation is fitted on the training rows only and stored with the model) and returns a spec:
 * plain JSON that `predictor.ts` turns back into a predictor without the training library.
 */
import type { Normalisation } from "./normalise.ts";

export interface Design {
  /** Flat feature rows (FLAT_FEATURES order). */
  readonly flat: readonly Float64Array[];
  /** Sequences (SEQ_LEN × SEQ_CHANNELS, row-major). */
  readonly seq: readonly Float32Array[];
  /** 1 = the signal's round trip won. */
  readonly y: Float64Array;
}

export interface FitOptions {
  readonly seed: number;
  /** Passes over the data for the neural families (the trees and the logistic model ignore it). */
  readonly epochs: number;
}

export interface DenseLayer {
  readonly type: "dense";
  readonly units: number;
  readonly activation: "relu" | "sigmoid" | "linear";
  /** [in × units] row-major. */
  readonly kernel: readonly number[];
  readonly bias: readonly number[];
}
export interface LstmLayer {
  readonly type: "lstm";
  readonly units: number;
  /** [in × 4·units] and [units × 4·units], gates i, f, c, o (Keras order), row-major. */
  readonly kernel: readonly number[];
  readonly recurrent: readonly number[];
  readonly bias: readonly number[];
}
export interface Conv1dLayer {
  readonly type: "conv1d";
  readonly filters: number;
  readonly width: number;
  /** [width × in × filters] row-major; 'valid' padding, stride 1, relu. */
  readonly kernel: readonly number[];
  readonly bias: readonly number[];
}
export interface PoolLayer {
  readonly type: "global_average_pool";
}
export type NetLayer = DenseLayer | LstmLayer | Conv1dLayer | PoolLayer;

export interface Tree {
  /** Per node: feature index, or −1 for a leaf. */
  readonly feature: readonly number[];
  /** Go left when x[feature] ≤ threshold. */
  readonly threshold: readonly number[];
  readonly left: readonly number[];
  readonly right: readonly number[];
  /** Leaf values (log-odds contributions). */
  readonly value: readonly number[];
}

export type FamilyBody =
  | { readonly family: "logistic"; readonly weights: readonly number[]; readonly bias: number }
  | { readonly family: "gbdt"; readonly base: number; readonly trees: readonly Tree[] }
  | { readonly family: "mlp" | "lstm" | "cnn"; readonly layers: readonly NetLayer[] };

export interface FamilySpec {
  readonly body: FamilyBody;
  readonly normalisation: Normalisation;
}

export type FamilyName = "logistic" | "gbdt" | "mlp" | "lstm" | "cnn";
export const FAMILIES: readonly FamilyName[] = ["logistic", "gbdt", "mlp", "lstm", "cnn"];
export const SEQUENCE_FAMILIES: ReadonlySet<FamilyName> = new Set(["lstm", "cnn"]);
