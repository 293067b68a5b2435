/** The A/B section's table and texts, shared by the Markdown and HTML reports (ab-results.ts). */
import { AB_RULE, type AbArm } from "./ab-results.ts";
import type { ReportData } from "./build.ts";

export const AB_HEAD = ["symbol", "arm", "round trips", "hit rate [Wilson 95 %]", "net PnL", "max drawdown", "decisions (taken)"];
export const AB_EMPTY = "No `kind=model_decisions` rows in this range: no model filtered the strategy ([model] path in config.toml; docs/models.md).";
export const AB_NOTE = `Both arms are re-simulated from the stored rows by the shared strategy and the paper executor; the filtered arm replays the model's recorded decisions. Acceptance rule (the original's): ${AB_RULE}.`;

const f3 = (v: number | null): string => (v === null ? "n/a" : v.toFixed(3));
const money = (v: number): string => v.toFixed(2);

function armCells(symbol: string, name: string, a: AbArm, decisions: string): string[] {
  return [symbol, name, String(a.trades), a.hit_rate === null ? "n/a" : `${f3(a.hit_rate)} [${f3(a.wilson_lo)}, ${f3(a.wilson_hi)}]`, money(a.net_pnl), money(a.max_drawdown), decisions];
}

/** Two rows per symbol (plain, filtered) and two for all symbols. */
export function abRows(ab: NonNullable<ReportData["ab"]>): string[][] {
  const rows: string[][] = [];
  for (const s of ab.per_symbol) {
    rows.push(armCells(s.symbol, "plain rule", s.plain, ""));
    rows.push(armCells(s.symbol, "model-filtered", s.filtered, `${s.decisions} (${s.taken})${s.unmatched > 0 ? `, ${s.unmatched} unmatched` : ""}`));
  }
  if (ab.overall !== null) {
    rows.push(armCells("all", "plain rule", ab.overall.plain, ""));
    rows.push(armCells("all", "model-filtered", ab.overall.filtered, ""));
  }
  return rows;
}

export function abVerdict(ab: NonNullable<ReportData["ab"]>): string {
  return `${ab.overall?.text ?? "not judged"}. ${ab.out_of_sample}`;
}
