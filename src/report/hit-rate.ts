/**
 * Hit rates of directional signals (docs/indicators.md §12.2, §12.3).
 *
 * Per symbol, signal and horizon H: candidates are rows with a non-neutral direction whose label
 * exists (§12.1); non-overlap thinning walks them in time and accepts one if t ≥ t_last_accepted + H;
 * flats (|r_H| ≤ EVAL_FLAT_BPS) are counted and excluded; hit = 1{d · r_H > 0}.
 */
import type { ForwardReturns } from "./forward-returns.ts";
import { binomialPValue, wilson } from "./stats.ts";

/** One symbol's rows of one signal kind, in arrival order. */
export interface SignalSeries {
  readonly ts: ArrayLike<number>;
  /** +1 buy, −1 sell, 0 neutral. */
  readonly dir: ArrayLike<number>;
  /** Regime label per row (null where the row has none). */
  readonly scenario: ArrayLike<string | null>;
}

/** Labelled candidates of one (symbol, signal, H): every one, and the thinned subset. */
export interface Candidates {
  /** Non-neutral rows, before §12.1 exclusions. */
  readonly nSignals: number;
  readonly ts: Float64Array;
  readonly d: Int8Array;
  readonly r: Float64Array;
  readonly scenario: readonly string[];
  /** Indices into the arrays above accepted by non-overlap thinning. */
  readonly thinned: Uint32Array;
}

export const NO_SCENARIO = "none";

export function labelCandidates(s: SignalSeries, fwd: ForwardReturns, hMs: number): Candidates {
  const n = s.ts.length;
  let nSignals = 0;
  const ts: number[] = [];
  const d: number[] = [];
  const r: number[] = [];
  const scen: string[] = [];
  for (let i = 0; i < n; i++) {
    const dir = s.dir[i];
    if (dir === 0) continue;
    nSignals++;
    const t = s.ts[i];
    const ret = fwd.bps(t, hMs);
    if (ret !== ret) continue;
    ts.push(t);
    d.push(dir);
    r.push(ret);
    scen.push(s.scenario[i] ?? NO_SCENARIO);
  }
  // Thinning walks in time: rows slightly out of event-time order (late trades) are put in order,
  // keeping arrival order among equal times.
  let ordered = true;
  for (let i = 1; i < ts.length && ordered; i++) if (ts[i] < ts[i - 1]) ordered = false;
  if (!ordered) {
    const idx = ts.map((_, i) => i).sort((a, b) => ts[a] - ts[b] || a - b);
    const pick = <T,>(xs: T[]): T[] => idx.map((i) => xs[i]);
    return finish(nSignals, pick(ts), pick(d), pick(r), pick(scen), hMs);
  }
  return finish(nSignals, ts, d, r, scen, hMs);
}

function finish(nSignals: number, ts: number[], d: number[], r: number[], scenario: string[], hMs: number): Candidates {
  const tsArr = Float64Array.from(ts);
  return { nSignals, ts: tsArr, d: Int8Array.from(d), r: Float64Array.from(r), scenario, thinned: thin(tsArr, hMs) };
}

/** Non-overlap thinning (§12.3 step 2): indices accepted walking in order. */
export function thin(ts: ArrayLike<number>, hMs: number): Uint32Array {
  const out: number[] = [];
  let last = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < ts.length; i++) {
    if (ts[i] >= last + hMs) {
      out.push(i);
      last = ts[i];
    }
  }
  return Uint32Array.from(out);
}

export interface HitCounts {
  n_candidates: number;
  n_flat: number;
  n_eval: number;
  hits: number;
  n_buy: number;
  hits_buy: number;
  n_sell: number;
  hits_sell: number;
}

export function emptyCounts(): HitCounts {
  return { n_candidates: 0, n_flat: 0, n_eval: 0, hits: 0, n_buy: 0, hits_buy: 0, n_sell: 0, hits_sell: 0 };
}

/** Adds one candidate (direction d, return r) to the counts (§12.3 steps 3–4). */
export function addCandidate(c: HitCounts, d: number, r: number, flatBps: number): void {
  c.n_candidates++;
  if (Math.abs(r) <= flatBps) {
    c.n_flat++;
    return;
  }
  const hit = d * r > 0 ? 1 : 0;
  c.n_eval++;
  c.hits += hit;
  if (d > 0) {
    c.n_buy++;
    c.hits_buy += hit;
  } else {
    c.n_sell++;
    c.hits_sell += hit;
  }
}

export function countHits(d: ArrayLike<number>, r: ArrayLike<number>, flatBps: number): HitCounts {
  const c = emptyCounts();
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) addCandidate(c, d[i], r[i], flatBps);
  return c;
}

export interface HitSummary {
  readonly hr: number | null;
  readonly wilson_lo: number | null;
  readonly wilson_hi: number | null;
  /** One-sided exact binomial p-value of `hits` vs 0.5. */
  readonly p_value: number | null;
  readonly hr_buy: number | null;
  readonly hr_sell: number | null;
}

export function summarize(c: HitCounts): HitSummary {
  const w = wilson(c.hits, c.n_eval);
  return {
    hr: c.n_eval > 0 ? c.hits / c.n_eval : null,
    wilson_lo: w?.lo ?? null,
    wilson_hi: w?.hi ?? null,
    p_value: binomialPValue(c.hits, c.n_eval),
    hr_buy: c.n_buy > 0 ? c.hits_buy / c.n_buy : null,
    hr_sell: c.n_sell > 0 ? c.hits_sell / c.n_sell : null,
  };
}

/** The §12.3 acceptance thresholds from the original, plus the sample-size and CI conditions. */
export const ACCEPTANCE = {
  ofi: { minHr: 0.55 },
  cvd: { minHr: 0.55 },
  fusion: { minHr: 0.6 },
  minEval: 300,
  minWilsonLo: 0.5,
} as const;

export type SignalName = "ofi" | "cvd" | "fusion";

/**
 * Three outcomes, not two: a signal measured on fewer than ACCEPTANCE.minEval samples has not been
 * judged, and calling that FAIL would tell a researcher the signal failed when it was not measured.
 */
export type Outcome = "pass" | "fail" | "insufficient_data";

export interface Verdict {
  readonly outcome: Outcome;
  /** outcome === "pass". */
  readonly pass: boolean;
  /** Every unmet condition, one phrase each (empty when it passed). */
  readonly unmet: readonly string[];
}

export function verdict(signal: SignalName, c: HitCounts): Verdict {
  const s = summarize(c);
  const need = ACCEPTANCE[signal].minHr;
  const unmet: string[] = [];
  if (!(s.hr !== null && s.hr > need)) unmet.push(`HR ${s.hr === null ? "n/a" : s.hr.toFixed(4)} is not > ${need}`);
  if (c.n_eval < ACCEPTANCE.minEval) unmet.push(`n_eval ${c.n_eval} < ${ACCEPTANCE.minEval}`);
  if (!(s.wilson_lo !== null && s.wilson_lo > ACCEPTANCE.minWilsonLo)) unmet.push(`Wilson lower bound ${s.wilson_lo === null ? "n/a" : s.wilson_lo.toFixed(4)} is not > ${ACCEPTANCE.minWilsonLo}`);
  const outcome: Outcome = c.n_eval < ACCEPTANCE.minEval ? "insufficient_data" : unmet.length === 0 ? "pass" : "fail";
  return { outcome, pass: outcome === "pass", unmet };
}

/** Several verdicts as one: a measured failure outweighs a gap in the data, which outweighs passes. */
export function pooledOutcome(outcomes: readonly Outcome[]): Outcome {
  if (outcomes.includes("fail")) return "fail";
  if (outcomes.includes("insufficient_data")) return "insufficient_data";
  return "pass";
}
