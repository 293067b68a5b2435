/**
 * Fits one family on a set of samples: normalisation from those samples only, then the family's own
 * fit, returned as a model member (plain JSON) that predictor.ts evaluates.
 */
import { SEQ_CHANNELS, SEQ_LEN } from "./features.ts";
import { fitGbdt } from "./families/gbdt.ts";
import { fitLogistic } from "./families/logistic.ts";
import { fitNet } from "./families/nets.ts";
import { fitNormalisation, normaliseFlat, normaliseSeq } from "./families/normalise.ts";
import type { FamilyName } from "./families/types.ts";
import type { ModelMember } from "./model-file.ts";
import type { Sample } from "./dataset.ts";

/** Passes over the data per neural family (small nets, few samples: more mostly overfits). */
export const DEFAULT_EPOCHS: Readonly<Record<FamilyName, number>> = { logistic: 0, gbdt: 0, mlp: 30, lstm: 6, cnn: 6 };

/**
 * Most sample-passes (samples × epochs) one fit of a neural family may take: on large sets the epochs
 * shrink (never below one), so a fit's time is bounded — the CPU backend trains an LSTM at roughly
 * 1–3 ms per sample-pass on this machine (docs/models.md).
 */
export const SAMPLE_PASS_BUDGET: Readonly<Record<FamilyName, number>> = { logistic: 0, gbdt: 0, mlp: 300_000, lstm: 24_000, cnn: 24_000 };

export function epochsFor(family: FamilyName, requested: number, samples: number): number {
  const budget = SAMPLE_PASS_BUDGET[family];
  return budget <= 0 ? requested : Math.max(1, Math.min(requested, Math.floor(budget / Math.max(1, samples))));
}

export async function fitMember(family: FamilyName, samples: readonly Sample[], seed: number, epochs: number): Promise<ModelMember> {
  const C = SEQ_CHANNELS.length;
  const normalisation = fitNormalisation(samples.map((s) => s.flat), family === "lstm" || family === "cnn" ? samples.map((s) => s.seq) : [], C);
  const y = Float64Array.from(samples, (s) => (s.label.win ? 1 : 0));
  if (family === "logistic") return { family, normalisation, body: fitLogistic(samples.map((s) => normaliseFlat(normalisation, s.flat)), y) };
  if (family === "gbdt") return { family, normalisation, body: fitGbdt(samples.map((s) => normaliseFlat(normalisation, s.flat)), y) };
  epochs = epochsFor(family, epochs, samples.length);
  if (family === "mlp") {
    const rows = samples.map((s) => normaliseFlat(normalisation, s.flat));
    return { family, normalisation, body: { family, layers: await fitNet(family, { rows, y, shape: [rows[0]?.length ?? 0] }, { seed, epochs }) } };
  }
  const rows = samples.map((s) => normaliseSeq(normalisation, s.seq, C));
  return { family, normalisation, body: { family, layers: await fitNet(family, { rows, y, shape: [SEQ_LEN, C] }, { seed, epochs }) } };
}
