/**
 * Information coefficient (docs/indicators.md §12.4): Spearman correlation between a continuous score and
 * r_H, sampled on a 1 s grid (at each grid time the latest row ≤ grid time, and the forward return
 * from the grid time), computed per period (UTC day or hour) and summarised as mean, std,
 * IC_IR = mean/std and t = IC_IR·√n_periods. Samples whose latest row has a null score, or whose
 * label §12.1 excludes, are skipped; flats are kept.
 */
import type { ForwardReturns } from "./forward-returns.ts";
import { meanStd, spearman } from "./stats.ts";

export const GRID_MS = 1000;

export interface GridSamples {
  readonly g: Float64Array;
  readonly s: Float64Array;
  readonly r: Float64Array;
}

/**
 * @param tsEff rows' effective times (running maximum of ts_ms in arrival order), non-decreasing
 * @param score the rows' scores, NaN where null
 */
export function gridSamples(tsEff: Float64Array, score: ArrayLike<number>, fwd: ForwardReturns, hMs: number): GridSamples {
  const g: number[] = [];
  const s: number[] = [];
  const r: number[] = [];
  if (tsEff.length === 0) return { g: new Float64Array(0), s: new Float64Array(0), r: new Float64Array(0) };
  const first = Math.ceil(tsEff[0] / GRID_MS) * GRID_MS;
  const last = fwd.endTs - hMs;
  let i = -1;
  for (let t = first; t <= last; t += GRID_MS) {
    // Grid times only grow: advance the as-of pointer instead of searching.
    while (i + 1 < tsEff.length && tsEff[i + 1] <= t) i++;
    if (i < 0) continue;
    const sc = score[i];
    if (sc !== sc) continue;
    const ret = fwd.bps(t, hMs);
    if (ret !== ret) continue;
    g.push(t);
    s.push(sc);
    r.push(ret);
  }
  return { g: Float64Array.from(g), s: Float64Array.from(s), r: Float64Array.from(r) };
}

export interface PeriodIc {
  readonly start_ms: number;
  readonly n: number;
  /** Null when the period has fewer than the minimum samples or a constant series. */
  readonly ic: number | null;
}

/** Splits grid samples into periods of `periodMs` (UTC-aligned) and computes each period's IC. */
export function icByPeriod(x: GridSamples, periodMs: number, minSamples: number): PeriodIc[] {
  const out: PeriodIc[] = [];
  let i = 0;
  while (i < x.g.length) {
    const start = Math.floor(x.g[i] / periodMs) * periodMs;
    let j = i;
    while (j < x.g.length && x.g[j] < start + periodMs) j++;
    const n = j - i;
    out.push({ start_ms: start, n, ic: n >= minSamples ? spearman(x.s.subarray(i, j), x.r.subarray(i, j)) : null });
    i = j;
  }
  return out;
}

export interface IcSummary {
  /** Periods with an IC. */
  readonly n_periods: number;
  readonly n_samples: number;
  readonly mean_ic: number | null;
  readonly std_ic: number | null;
  readonly ic_ir: number | null;
  readonly t_stat: number | null;
  /** IC over all samples at once: a quick check only (§12.4). */
  readonly pooled_ic: number | null;
}

export function summarizeIc(periods: readonly PeriodIc[], pooled: number | null): IcSummary {
  const ics = periods.filter((p) => p.ic !== null).map((p) => p.ic as number);
  const m = meanStd(ics);
  const ir = m.mean !== null && m.std !== null && m.std > 0 ? m.mean / m.std : null;
  return {
    n_periods: ics.length,
    n_samples: periods.reduce((a, p) => a + p.n, 0),
    mean_ic: m.mean,
    std_ic: m.std,
    ic_ir: ir,
    t_stat: ir === null ? null : ir * Math.sqrt(ics.length),
    pooled_ic: pooled,
  };
}

/** Running maximum of ts_ms in arrival order (§15.2), for as-of lookups. */
export function effectiveTimes(tsMs: ArrayLike<number>): Float64Array {
  const out = new Float64Array(tsMs.length);
  let eff = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < tsMs.length; i++) {
    if (tsMs[i] > eff) eff = tsMs[i];
    out[i] = eff;
  }
  return out;
}
