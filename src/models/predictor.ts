/**
 * A model file's members turned into one probability function (the mean of the members'
 * probabilities), evaluated in plain JavaScript: no training library at inference.
 */
import { SEQ_CHANNELS, SEQ_LEN, type SignalVector } from "./features.ts";
import { forward } from "./families/forward.ts";
import { gbdtScore } from "./families/gbdt.ts";
import { logisticScore } from "./families/logistic.ts";
import { normaliseFlat, normaliseSeq } from "./families/normalise.ts";
import type { ModelMember } from "./model-file.ts";

export type Predict = (v: Pick<SignalVector, "flat" | "seq">) => number;

export function memberPredictor(m: ModelMember): Predict {
  const b = m.body;
  const n = m.normalisation;
  if (b.family === "logistic") return (v) => logisticScore(b, normaliseFlat(n, v.flat));
  if (b.family === "gbdt") return (v) => gbdtScore(b, normaliseFlat(n, v.flat));
  if (b.family === "mlp") return (v) => forward(b.layers, normaliseFlat(n, v.flat), 1);
  return (v) => forward(b.layers, normaliseSeq(n, v.seq, SEQ_CHANNELS.length), SEQ_LEN);
}

export function modelPredictor(members: readonly ModelMember[]): Predict {
  const ps = members.map(memberPredictor);
  if (ps.length === 1) return ps[0];
  return (v) => {
    let s = 0;
    for (const p of ps) s += p(v);
    return s / ps.length;
  };
}
