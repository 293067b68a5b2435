/**
 * The model file (`<out>/<family>.model.json`, `<out>/model.json`): versioned JSON holding everything
 * needed to use and to audit a model — the feature set with its list and order, the normalisation,
 * the weights, the training range and symbols, a hash of the training samples, the code version, the
 * barrier parameters the labels used, every fold's out-of-sample scores, the verdict and what the
 * trades it takes did after fees. One file can hold several members (an ensemble averages their
 * probabilities).
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { featureSignature } from "./features.ts";
import { memberProblem } from "./model-check.ts";
import type { FamilyBody, FamilyName } from "./families/types.ts";
import type { Normalisation } from "./families/normalise.ts";

export const MODEL_FORMAT = "harvestd-model";
export const MODEL_FORMAT_VERSION = 1;

export interface FoldScore {
  readonly fold: number;
  readonly train: number;
  readonly test: number;
  readonly purged: number;
  readonly test_from: string | null;
  readonly test_to: string | null;
  readonly auc: number | null;
  readonly log_loss: number;
  readonly precision_at_threshold: number | null;
}

export interface ModelMember {
  readonly family: FamilyName;
  readonly body: FamilyBody;
  readonly normalisation: Normalisation;
}

export interface ModelFile {
  readonly format: typeof MODEL_FORMAT;
  readonly format_version: typeof MODEL_FORMAT_VERSION;
  /** "logistic", "gbdt", …, or "ensemble". */
  readonly name: string;
  readonly created_at: string;
  readonly code_version: string;
  readonly features: ReturnType<typeof featureSignature>;
  readonly training: {
    readonly from: string;
    readonly to: string;
    readonly symbols: readonly string[];
    readonly samples: number;
    readonly wins: number;
    readonly seed: number;
    readonly folds: number;
    readonly embargo_ms: number;
    /** How samples were picked: "fusion" (fusion signal changes) or "strategy" (its entry rule). */
    readonly signals: string;
    /** SHA-256 of the training samples (times, ids, features, labels) in order. */
    readonly data_hash: string;
    readonly barrier: { readonly stop_bps: number; readonly take_profit: readonly { readonly at_bps: number; readonly fraction: number }[]; readonly max_hold_ms: number; readonly taker_bps: number; readonly fee_tier: string };
  };
  readonly threshold: number;
  readonly members: readonly ModelMember[];
  readonly fold_metrics: readonly FoldScore[];
  readonly oos: { readonly auc: number | null; readonly auc_lo: number | null; readonly auc_hi: number | null; readonly log_loss: number; readonly n: number };
  readonly verdict: string;
  /**
   * The out-of-sample trades it takes at `threshold` (p ≥ threshold), after taker fees: "earn" (mean
   * net return > 0), "lose" (≤ 0) or "none" (no signal reached the threshold) — a ranking edge whose
   * trades lose is no reason to trade (headline.ts). Absent from files written before it was added:
   * such a file still loads (format_version stays 1), and its trades are simply not known.
   */
  readonly trades?: {
    readonly verdict: "earn" | "lose" | "none";
    readonly threshold: number;
    readonly n: number;
    readonly wins: number;
    readonly mean_ret_bps: number | null;
  };
}

const FileHead = z.looseObject({
  format: z.literal(MODEL_FORMAT),
  format_version: z.literal(MODEL_FORMAT_VERSION),
  name: z.string(),
  features: z.strictObject({ feature_set: z.string(), flat: z.array(z.string()), seq_channels: z.array(z.string()), seq_len: z.number() }),
  // what `run` names the model by and the report reads the training range from
  training: z.looseObject({ from: z.string(), to: z.string(), data_hash: z.string() }),
  // checked one by one below, completely (model-check.ts)
  members: z.array(z.unknown()).min(1),
});

export type LoadResult = { readonly ok: true; readonly model: ModelFile } | { readonly ok: false; readonly error: string };

/**
 * Reads and checks a model file: its format, that its feature set, list and order are exactly what
 * this binary computes (a model trained on other features would score garbage), and every member
 * completely (model-check.ts: types, lengths against the features and the family's shape, finite
 * numbers, family agreement) — a file that passes cannot crash or score NaN at a signal.
 */
export function loadModelFile(path: string): LoadResult {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { ok: false, error: `model file ${path}: ${err.code === "ENOENT" ? "does not exist" : `cannot be read as JSON (${err.message})`}` };
  }
  const head = FileHead.safeParse(raw);
  if (!head.success) {
    const issue = head.error.issues[0];
    return { ok: false, error: `model file ${path}: not a ${MODEL_FORMAT} v${MODEL_FORMAT_VERSION} file (${issue.path.join(".") || "top"}: ${issue.message})` };
  }
  const mismatch = featureMismatch(head.data.features);
  if (mismatch !== null) return { ok: false, error: `model file ${path}: ${mismatch}` };
  const shape = { flat: head.data.features.flat.length, seqChannels: head.data.features.seq_channels.length, seqLen: head.data.features.seq_len };
  for (const [i, m] of head.data.members.entries()) {
    const problem = memberProblem(m, i, shape);
    if (problem !== null) return { ok: false, error: `model file ${path}: ${problem}` };
  }
  return { ok: true, model: raw as ModelFile };
}

export function featureMismatch(f: { feature_set: string; flat: readonly string[]; seq_channels: readonly string[]; seq_len: number }): string | null {
  const want = featureSignature();
  if (f.feature_set !== want.feature_set) return `feature set ${JSON.stringify(f.feature_set)} is not this binary's ${JSON.stringify(want.feature_set)}`;
  const diff = (a: readonly string[], b: readonly string[], what: string): string | null => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) return `${what} differ at position ${i}: model has ${JSON.stringify(a[i] ?? null)}, this binary computes ${JSON.stringify(b[i] ?? null)}`;
    }
    return null;
  };
  return diff(f.flat, want.flat, "flat features") ?? diff(f.seq_channels, want.seq_channels, "sequence channels") ?? (f.seq_len !== want.seq_len ? `sequence length ${f.seq_len} is not ${want.seq_len}` : null);
}
