/** The training report's data (its JSON form); rendered by training-report.ts. */
import type { featureSignature } from "./features.ts";
import type { FamilyName } from "./families/types.ts";
import type { Scores } from "./metrics.ts";
import type { FoldScore, ModelFile } from "./model-file.ts";

export interface FamilyResult {
  readonly family: FamilyName | "ensemble";
  readonly folds: readonly FoldScore[];
  /** All walk-forward test predictions together. */
  readonly walk_forward: Scores;
  /** The same family scored on a shuffled K-fold split (leaks; shown for comparison only). */
  readonly random_kfold_auc: number | null;
  readonly verdict: string;
  readonly file: string;
}

export interface TrainReport {
  readonly generated_at: string;
  readonly code_version: string;
  readonly request: { readonly from: string; readonly to: string; readonly symbols: readonly string[]; readonly families: readonly string[]; readonly seed: number; readonly folds: number; readonly threshold: number; readonly signals: string };
  readonly dataset: { readonly samples: number; readonly wins: number; readonly unlabelled: number; readonly files: number; readonly rows: Readonly<Record<string, number>>; readonly data_hash: string; readonly first_signal: string | null; readonly last_signal: string | null };
  readonly barrier: ModelFile["training"]["barrier"];
  readonly embargo_ms: number;
  readonly features: ReturnType<typeof featureSignature>;
  readonly results: readonly FamilyResult[];
  /** The model written as model.json, and why. */
  readonly chosen: { readonly name: string; readonly reason: string };
  readonly verdict: string;
}

