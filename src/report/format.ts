/**
 * Number formatting and the plain-language verdict shared by the Markdown and HTML renderings.
 */
import type { ReportData, VerdictLine } from "./build.ts";
import { ACCEPTANCE, type Outcome } from "./hit-rate.ts";

export const DASH = "—";

export function fix(v: number | null | undefined, digits = 4): string {
  return v === null || v === undefined || !Number.isFinite(v) ? DASH : v.toFixed(digits);
}

export function int(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? DASH : Math.round(v).toLocaleString("en-US");
}

export function pValue(p: number | null): string {
  if (p === null) return DASH;
  return p < 1e-4 ? p.toExponential(2) : p.toFixed(4);
}

export function utcMinute(ms: number | null): string {
  return ms === null ? DASH : new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

export function utcHour(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 13).replace("T", " ")}:00`;
}

export function signalLabel(s: string): string {
  return s === "ofi" ? "OFI" : s === "cvd" ? "CVD" : "fusion";
}

const OUTCOME_WORD: Readonly<Record<Outcome, string>> = { pass: "PASS", fail: "FAIL", insufficient_data: "INSUFFICIENT DATA" };

/** The verdict word every rendering uses (Markdown, HTML, stderr). */
export function outcomeWord(o: Outcome): string {
  return OUTCOME_WORD[o];
}

/** One sentence per signal: the verdict with the figures and sample sizes it rests on. */
export function verdictSentence(l: VerdictLine): string {
  const head = `${signalLabel(l.signal)}: ${outcomeWord(l.outcome)}`;
  // Too few samples is said next to the count, so the figures are not read as a judgement.
  const short = l.outcome === "insufficient_data" ? `, ${ACCEPTANCE.minEval} needed to judge` : "";
  const figures =
    l.n_eval === 0
      ? `no evaluable samples${short}`
      : `HR ${fix(l.hr)} (${int(l.hits)} hits in n_eval = ${int(l.n_eval)} thinned non-flat samples${short}), Wilson 95 % [${fix(l.wilson_lo)}, ${fix(l.wilson_hi)}], one-sided p = ${pValue(l.p_value)}`;
  const need = `needs HR > ${l.min_hr.toFixed(2)}, n_eval ≥ ${ACCEPTANCE.minEval} and Wilson lower bound > ${ACCEPTANCE.minWilsonLo.toFixed(2)}`;
  return `${head} — ${figures}; ${need}${l.unmet.length > 0 ? ` (not met: ${l.unmet.join("; ")})` : ""}.`;
}

/** Said first when files were left out: `figures` (of the report) are computed without them. */
export function skippedWarning(d: ReportData, figures = "every figure below"): string | null {
  const n = d.inputs.skipped_files.length;
  if (n === 0) return null;
  const read = Object.values(d.inputs.files).reduce((a, x) => a + x, 0);
  return `${n} of ${read + n} Parquet files could not be read and were left out: ${figures}, the verdict included, is computed without them (they are listed under Inputs).`;
}

/**
 * Said first when symbols asked for with --symbols have no Parquet file in the range: they are left
 * out rather than shown with zeros, and this says so. Callers add what they were left out of.
 */
export function absentWarning(d: ReportData): string | null {
  const absent = d.inputs.symbols_without_data;
  if (absent.length === 0) return null;
  return `no Parquet for ${absent.join(", ")} between ${d.from} and ${d.to} under ${d.inputs.output_dir} or ${d.inputs.preview_dir}; left out`;
}

export function verdictHeadline(d: ReportData): string {
  const parts = d.verdict.lines.map((l) => `${signalLabel(l.signal)} ${outcomeWord(l.outcome)}`).join(", ");
  return `Stage-1 acceptance (docs/indicators.md §12.3) at H = ${d.verdict.horizon_s} s, all symbols pooled: ${outcomeWord(d.verdict.outcome)} (${parts}).`;
}
