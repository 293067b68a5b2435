/**
 * The training report's headline verdict on the model written as model.json. A ranking edge (the AUC
 * interval above 0.5) is not yet money: the trades the model takes at the threshold can still lose
 * after fees — when wins are small and losses large, or too few signals clear the threshold — and a
 * headline saying only "edge" invited trading on it. The same rule fills each model file's `trades`
 * (tradesRecord), which `run`'s start check warns by (live.ts), so file and report agree.
 */
import type { HitRate } from "./metrics.ts";
import type { ModelFile } from "./model-file.ts";
import type { FamilyResult } from "./report-types.ts";

function aucText(r: FamilyResult): string {
  const a = r.walk_forward.auc;
  return a === null ? "n/a" : `${a.auc.toFixed(3)} [${a.lo.toFixed(3)}, ${a.hi.toFixed(3)}]`;
}

type TradesFigures = Pick<NonNullable<ModelFile["trades"]>, "n" | "mean_ret_bps">;

/** Why the trades the model takes do not earn, or null when they do (mean net return > 0). */
export function tradesCaveat(t: TradesFigures, threshold: number): string | null {
  if (t.n === 0 || t.mean_ret_bps === null) return `no signal reached the threshold ${threshold}, so it would take no trades`;
  if (t.mean_ret_bps > 0) return null;
  const mean = t.mean_ret_bps < 0 ? `lose ${(-t.mean_ret_bps).toFixed(1)} bps on average` : "make nothing on average";
  return `the ${t.n} trades it takes (p ≥ ${threshold}) ${mean} after fees`;
}

/**
 * The model file's record of the out-of-sample trades it takes at the threshold: "earn" (mean net
 * return after fees > 0), "lose" (≤ 0) or "none" (no signal reached the threshold), with the figures.
 */
export function tradesRecord(taken: HitRate, threshold: number): NonNullable<ModelFile["trades"]> {
  const verdict = taken.n === 0 || taken.mean_ret_bps === null ? "none" : taken.mean_ret_bps > 0 ? "earn" : "lose";
  return { verdict, threshold, n: taken.n, wins: taken.wins, mean_ret_bps: taken.mean_ret_bps };
}

/** One sentence: edge (and whether its trades earn), or no edge, for the chosen model. */
export function trainingHeadline(chosen: FamilyResult, threshold: number): string {
  if (chosen.verdict !== "edge") return `no edge: no model's out-of-sample AUC interval lies above 0.5 (best ${chosen.family}: ${aucText(chosen)})`;
  const caveat = tradesCaveat(chosen.walk_forward.taken, threshold);
  if (caveat === null) return `edge: ${chosen.family} out-of-sample AUC ${aucText(chosen)} lies above 0.5`;
  return `edge in ranking (${chosen.family} out-of-sample AUC ${aucText(chosen)} lies above 0.5), but ${caveat}: do not trade on it yet`;
}
