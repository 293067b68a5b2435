/**
 * The training report's headline verdict on the model written as model.json. A ranking edge (the AUC
 * interval above 0.5) is not yet money: the trades the model takes at the threshold can still lose
 * after fees — when wins are small and losses large, or too few signals clear the threshold — and a
 * headline saying only "edge" invited trading on it.
 */
import type { FamilyResult } from "./report-types.ts";

function aucText(r: FamilyResult): string {
  const a = r.walk_forward.auc;
  return a === null ? "n/a" : `${a.auc.toFixed(3)} [${a.lo.toFixed(3)}, ${a.hi.toFixed(3)}]`;
}

/** Why the trades the model takes do not earn, or null when they do (mean net return > 0). */
function tradesCaveat(r: FamilyResult, threshold: number): string | null {
  const t = r.walk_forward.taken;
  if (t.n === 0 || t.mean_ret_bps === null) return `no signal reached the threshold ${threshold}, so it would take no trades`;
  if (t.mean_ret_bps > 0) return null;
  const mean = t.mean_ret_bps < 0 ? `lose ${(-t.mean_ret_bps).toFixed(1)} bps on average` : "make nothing on average";
  return `the ${t.n} trades it takes (p ≥ ${threshold}) ${mean} after fees`;
}

/** One sentence: edge (and whether its trades earn), or no edge, for the chosen model. */
export function trainingHeadline(chosen: FamilyResult, threshold: number): string {
  if (chosen.verdict !== "edge") return `no edge: no model's out-of-sample AUC interval lies above 0.5 (best ${chosen.family}: ${aucText(chosen)})`;
  const caveat = tradesCaveat(chosen, threshold);
  if (caveat === null) return `edge: ${chosen.family} out-of-sample AUC ${aucText(chosen)} lies above 0.5`;
  return `edge in ranking (${chosen.family} out-of-sample AUC ${aucText(chosen)} lies above 0.5), but ${caveat}: do not trade on it yet`;
}
