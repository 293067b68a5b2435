/**
 * Signal validation tables of the report (docs/indicators.md §12): hit rates per (signal, H, symbol,
 * scenario_2x2) with "ALL" roll-ups, the 1 s-grid base rate p_up, and IC per (score, H, symbol).
 * Per-symbol work happens as each symbol is read; only thinned samples and small counters are kept.
 */
import * as aq from "arquero";
import type { ForwardReturns } from "./forward-returns.ts";
import { addCandidate, emptyCounts, summarize, type Candidates, type HitCounts, type HitSummary, type SignalName, type SignalSeries } from "./hit-rate.ts";
import { GRID_MS, summarizeIc, type GridSamples, type IcSummary, type PeriodIc } from "./ic.ts";
import type { Columns } from "./parquet-tree.ts";
import { spearman } from "./stats.ts";

export const ALL = "ALL";
export const SIGNALS: readonly SignalName[] = ["fusion", "ofi", "cvd"];
/** The continuous score each signal's IC uses (§12.4). */
export const SCORE_COLUMN: Readonly<Record<SignalName, string>> = { fusion: "score", ofi: "ofi_z", cvd: "z_cvd" };
/** Columns read per signal kind. */
export const SIGNAL_COLUMNS: Readonly<Record<SignalName, readonly string[]>> = {
  fusion: ["ts_ms", "signal", "score", "scenario_2x2"],
  ofi: ["ts_ms", "ofi_z", "scenario_2x2"],
  cvd: ["ts_ms", "z_cvd", "scenario_2x2"],
};

export interface ScoredSeries extends SignalSeries {
  readonly score: Float64Array;
}

/** A signal kind's rows as directions (§12.2) and scores, in arrival order. */
export function signalSeries(signal: SignalName, c: Columns, zSig: number): ScoredSeries {
  const ts = c.num("ts_ms");
  const score = c.num(SCORE_COLUMN[signal]);
  const dir = new Int8Array(c.rows);
  if (signal === "fusion") {
    const s = c.str("signal");
    for (let i = 0; i < c.rows; i++) dir[i] = s[i] === "buy" ? 1 : s[i] === "sell" ? -1 : 0;
  } else {
    for (let i = 0; i < c.rows; i++) dir[i] = score[i] >= zSig ? 1 : score[i] <= -zSig ? -1 : 0;
  }
  return { ts, dir, score, scenario: c.str("scenario_2x2") };
}

export interface HitRateRow extends HitCounts, HitSummary {
  readonly signal: SignalName;
  readonly horizon_s: number;
  readonly symbol: string;
  readonly scenario: string;
  /** Non-neutral rows and those §12.1 left without a label (only on scenario ALL rows). */
  readonly n_signals: number | null;
  readonly n_unlabelled: number | null;
  /** Candidates accepted by non-overlap thinning (flats included). */
  readonly n_thinned: number;
  /** Mean / median of d·r_H over thinned non-flat samples, gross and net of the round-trip fee. */
  readonly mean_gross_bps: number | null;
  readonly median_gross_bps: number | null;
  readonly mean_net_bps: number | null;
  readonly median_net_bps: number | null;
  /** Share of non-flat 1 s-grid returns that are > 0 (the base rate a direction-blind guess gets). */
  readonly p_up: number | null;
  /** The same counts without thinning (every labelled candidate). */
  readonly all_rows: { readonly n_flat: number; readonly n_eval: number; readonly hits: number; readonly hr: number | null };
}

const key = (...parts: (string | number)[]): string => parts.join("|");

export class HitRateTable {
  // thinned samples (arquero input)
  private readonly sSignal: string[] = [];
  private readonly sH: number[] = [];
  private readonly sSymbol: string[] = [];
  private readonly sScenario: string[] = [];
  private readonly sD: number[] = [];
  private readonly sR: number[] = [];
  private readonly all = new Map<string, HitCounts>();
  private readonly thinnedKeys = new Set<string>();
  private readonly signals = new Map<string, { n_signals: number; n_unlabelled: number }>();
  private readonly baseRates = new Map<string, { up: number; n: number }>();

  constructor(
    private readonly flatBps: number,
    private readonly roundTripFeeBps: number,
  ) {}

  add(signal: SignalName, horizonS: number, symbol: string, c: Candidates): void {
    for (const sym of [symbol, ALL]) {
      const k = key(signal, horizonS, sym);
      const s = this.signals.get(k) ?? { n_signals: 0, n_unlabelled: 0 };
      s.n_signals += c.nSignals;
      s.n_unlabelled += c.nSignals - c.ts.length;
      this.signals.set(k, s);
      this.counts(key(signal, horizonS, sym, ALL));
    }
    for (let i = 0; i < c.ts.length; i++) {
      for (const sym of [symbol, ALL]) {
        for (const sc of [c.scenario[i], ALL]) addCandidate(this.counts(key(signal, horizonS, sym, sc)), c.d[i], c.r[i], this.flatBps);
      }
    }
    for (let j = 0; j < c.thinned.length; j++) {
      const i = c.thinned[j];
      this.sSignal.push(signal);
      this.sH.push(horizonS);
      this.sSymbol.push(symbol);
      this.sScenario.push(c.scenario[i]);
      this.sD.push(c.d[i]);
      this.sR.push(c.r[i]);
    }
  }

  /** Base rate on the 1 s grid of one symbol and horizon; `scenarioAt` labels a grid time. */
  addBaseRate(horizonS: number, symbol: string, fwd: ForwardReturns, fromMs: number, scenarioAt: (t: number) => string): void {
    const hMs = horizonS * 1000;
    const last = fwd.endTs - hMs;
    for (let t = Math.ceil(fromMs / GRID_MS) * GRID_MS; t <= last; t += GRID_MS) {
      const r = fwd.bps(t, hMs);
      if (r !== r || Math.abs(r) <= this.flatBps) continue;
      const up = r > 0 ? 1 : 0;
      const sc = scenarioAt(t);
      for (const sym of [symbol, ALL]) {
        for (const s of [sc, ALL]) {
          const k = key(horizonS, sym, s);
          const b = this.baseRates.get(k) ?? { up: 0, n: 0 };
          b.up += up;
          b.n++;
          this.baseRates.set(k, b);
        }
      }
    }
  }

  rows(): HitRateRow[] {
    const thinned = this.thinnedStats();
    const out: HitRateRow[] = [];
    for (const [k, allCounts] of this.all) {
      const [signal, h, symbol, scenario] = k.split("|") as [SignalName, string, string, string];
      const t = thinned.get(k);
      const counts: HitCounts = t?.counts ?? emptyCounts();
      const sum = summarize(counts);
      const sig = scenario === ALL ? this.signals.get(key(signal, h, symbol)) : undefined;
      const base = this.baseRates.get(key(h, symbol, scenario));
      const fee = this.roundTripFeeBps;
      out.push({
        signal,
        horizon_s: Number(h),
        symbol,
        scenario,
        n_signals: sig?.n_signals ?? null,
        n_unlabelled: sig?.n_unlabelled ?? null,
        ...counts,
        n_candidates: allCounts.n_candidates,
        n_thinned: t?.n_thinned ?? 0,
        ...sum,
        mean_gross_bps: t?.mean ?? null,
        median_gross_bps: t?.median ?? null,
        mean_net_bps: t?.mean == null ? null : t.mean - fee,
        median_net_bps: t?.median == null ? null : t.median - fee,
        p_up: base !== undefined && base.n > 0 ? base.up / base.n : null,
        all_rows: { n_flat: allCounts.n_flat, n_eval: allCounts.n_eval, hits: allCounts.hits, hr: allCounts.n_eval > 0 ? allCounts.hits / allCounts.n_eval : null },
      });
    }
    const order = (s: string) => (s === ALL ? "" : s);
    return out.sort(
      (a, b) =>
        SIGNALS.indexOf(a.signal) - SIGNALS.indexOf(b.signal) ||
        a.horizon_s - b.horizon_s ||
        order(a.symbol).localeCompare(order(b.symbol)) ||
        order(a.scenario).localeCompare(order(b.scenario)),
    );
  }

  private counts(k: string): HitCounts {
    let c = this.all.get(k);
    if (c === undefined) {
      c = emptyCounts();
      this.all.set(k, c);
    }
    return c;
  }

  /** Thinned samples rolled up with arquero for the four groupings (per symbol/scenario and ALL). */
  private thinnedStats(): Map<string, { counts: HitCounts; n_thinned: number; mean: number | null; median: number | null }> {
    const out = new Map<string, { counts: HitCounts; n_thinned: number; mean: number | null; median: number | null }>();
    if (this.sD.length === 0) return out;
    const base = aq
      .table({ signal: this.sSignal, h: this.sH, symbol: this.sSymbol, scenario: this.sScenario, d: this.sD, r: this.sR })
      .derive({ flat: `d => op.abs(d.r) <= ${this.flatBps} ? 1 : 0` })
      .derive({
        hit: "d => d.flat === 0 && d.d * d.r > 0 ? 1 : 0",
        buy: "d => d.flat === 0 && d.d > 0 ? 1 : 0",
        sell: "d => d.flat === 0 && d.d < 0 ? 1 : 0",
        dr: "d => d.flat === 0 ? d.d * d.r : null",
      })
      .derive({ hit_buy: "d => d.buy * d.hit", hit_sell: "d => d.sell * d.hit" });
    const variants = [
      base,
      base.derive({ scenario: `() => '${ALL}'` }),
      base.derive({ symbol: `() => '${ALL}'` }),
      base.derive({ symbol: `() => '${ALL}'`, scenario: `() => '${ALL}'` }),
    ];
    for (const v of variants) {
      const r = v.groupby("signal", "h", "symbol", "scenario").rollup({
        n: aq.op.count(),
        flat: aq.op.sum("flat"),
        hits: aq.op.sum("hit"),
        buy: aq.op.sum("buy"),
        sell: aq.op.sum("sell"),
        hit_buy: aq.op.sum("hit_buy"),
        hit_sell: aq.op.sum("hit_sell"),
        mean: aq.op.mean("dr"),
        median: aq.op.median("dr"),
      });
      for (const o of r.objects() as Record<string, number | string | null | undefined>[]) {
        const n = o.n as number;
        const flat = o.flat as number;
        const evalN = n - flat;
        out.set(key(o.signal as string, o.h as number, o.symbol as string, o.scenario as string), {
          counts: {
            n_candidates: n,
            n_flat: flat,
            n_eval: evalN,
            hits: o.hits as number,
            n_buy: o.buy as number,
            hits_buy: o.hit_buy as number,
            n_sell: o.sell as number,
            hits_sell: o.hit_sell as number,
          },
          n_thinned: n,
          mean: evalN > 0 && typeof o.mean === "number" ? o.mean : null,
          median: evalN > 0 && typeof o.median === "number" ? o.median : null,
        });
      }
    }
    return out;
  }
}

export interface IcRow extends IcSummary {
  readonly signal: SignalName;
  readonly score: string;
  readonly horizon_s: number;
  readonly symbol: string;
  readonly period: "day" | "hour";
  readonly periods: readonly PeriodIc[];
}

export class IcTable {
  private readonly rowsOut: IcRow[] = [];
  private readonly pooledPeriods = new Map<string, PeriodIc[]>();

  constructor(private readonly period: "day" | "hour") {}

  add(signal: SignalName, horizonS: number, symbol: string, x: GridSamples, periods: readonly PeriodIc[]): void {
    this.rowsOut.push({ signal, score: SCORE_COLUMN[signal], horizon_s: horizonS, symbol, period: this.period, periods, ...summarizeIc(periods, spearman(x.s, x.r)) });
    const k = key(signal, horizonS);
    const all = this.pooledPeriods.get(k) ?? [];
    all.push(...periods);
    this.pooledPeriods.set(k, all);
  }

  /** Per-symbol rows plus an ALL row per (signal, H) over every symbol's periods (no pooled IC). */
  rows(): IcRow[] {
    const out = [...this.rowsOut];
    for (const [k, periods] of this.pooledPeriods) {
      const [signal, h] = k.split("|") as [SignalName, string];
      out.push({ signal, score: SCORE_COLUMN[signal], horizon_s: Number(h), symbol: ALL, period: this.period, periods: [], ...summarizeIc(periods, null) });
    }
    const order = (s: string) => (s === ALL ? "" : s);
    return out.sort((a, b) => SIGNALS.indexOf(a.signal) - SIGNALS.indexOf(b.signal) || a.horizon_s - b.horizon_s || order(a.symbol).localeCompare(order(b.symbol)));
  }
}
