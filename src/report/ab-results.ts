/**
 * The report's A/B section (docs/models.md "A/B"): over the report's period, the plain strategy's
 * paper trades against the model-filtered ones, both re-simulated from the stored rows by the real
 * shared strategy and paper executor — arm A with no filter, arm B with the model's recorded
 * decisions (`kind=model_decisions`) as its filter — so the two arms differ only by the filter.
 * The original's acceptance rule is stated and judged: keep a model only if it improves the win rate
 * by more than 5 % or the return by more than 10 % (both relative to the plain arm).
 */
import type { Row, RowKind, RowSink } from "../core/rows.ts";
import { PaperTrader, type FillCosts } from "../trading/paper/trader.ts";
import type { FilterDecision, SignalContext, SignalFilter } from "../trading/strategy/contract.ts";
import { SharedStrategy, type StrategyConfig } from "../trading/strategy/strategy.ts";
import type { Columns } from "./parquet-tree.ts";
import { wilson } from "./stats.ts";

export const AB_COLUMNS: Readonly<Record<"prices" | "orderbook" | "fusion" | "features" | "model_decisions", readonly string[]>> = {
  prices: ["ts_ms", "agg_trade_id", "price", "best_buy_fill", "best_sell_fill", "scenario_2x2"],
  orderbook: ["ts_ms", "mid", "spread_bps"],
  fusion: ["ts_ms", "agg_trade_id", "score", "proba", "consistency", "dispersion", "signal", "z_ofi", "z_cvd", "lag_ms", "degraded", "scenario_2x2"],
  features: ["ts_ms", "realized_vol_bps", "tps", "ofi_z_last", "z_cvd_last"],
  model_decisions: ["ts_ms", "agg_trade_id", "probability", "taken", "size_factor", "model"],
};

/** Fewer round trips than this in either arm: no judgement. */
export const AB_MIN_TRADES = 20;
export const AB_RULE = "keep the model only if the filtered arm's hit rate is more than 5 % above the plain arm's, or its net PnL more than 10 % above it (relative; PnL net of taker fees)";

export interface AbArm {
  readonly trades: number;
  readonly wins: number;
  readonly hit_rate: number | null;
  readonly wilson_lo: number | null;
  readonly wilson_hi: number | null;
  readonly net_pnl: number;
  readonly max_drawdown: number;
}

export interface AbSymbolResult {
  readonly symbol: string;
  readonly models: readonly string[];
  readonly decisions: number;
  readonly taken: number;
  /** Signals the re-simulated strategy asked about that have no recorded decision (taken, as plain). */
  readonly unmatched: number;
  readonly plain: AbArm;
  readonly filtered: AbArm;
}

type Kind = keyof typeof AB_COLUMNS;
const KIND_ORDER: Readonly<Record<string, number>> = { orderbook: 0, features: 1, prices: 2, fusion: 3 };
const TYPES: Readonly<Record<string, "num" | "str" | "bool">> = { signal: "str", scenario_2x2: "str", degraded: "bool", taken: "bool", model: "str" };

function rowsOf(symbol: string, kind: Kind, c: Columns): Row[] {
  const names = AB_COLUMNS[kind];
  const arrays = names.map((n) => (TYPES[n] === "str" ? c.str(n) : TYPES[n] === "bool" ? c.bool(n) : c.num(n)));
  const out: Row[] = [];
  for (let i = 0; i < c.rows; i++) {
    const r: Record<string, number | string | boolean | null> = { symbol };
    names.forEach((n, k) => {
      const v = arrays[k][i];
      r[n] = TYPES[n] === "bool" ? v === 1 : typeof v === "number" && Number.isNaN(v) ? null : (v as number | string | null);
    });
    out.push(r);
  }
  return out;
}

class PaperRows implements RowSink {
  readonly rows: Row[] = [];
  append(kind: RowKind, row: Row): void {
    if (kind === "paper") this.rows.push({ ...row });
  }
}

function arm(paper: readonly Row[]): AbArm & { readonly closes: readonly (readonly [number, number])[] } {
  const byPos = new Map<number, { net: number; closed: boolean; ts: number }>();
  for (const r of paper) {
    if (r.event === "open") continue;
    const p = byPos.get(r.position_no as number) ?? { net: 0, closed: false, ts: 0 };
    p.net += r.net_pnl as number;
    if (r.event === "close") {
      p.closed = true;
      p.ts = r.ts_ms as number;
    }
    byPos.set(r.position_no as number, p);
  }
  // entry fees are charged to the exit rows, so a position's exit rows hold its whole result
  const closes = [...byPos.values()].filter((p) => p.closed).map((p) => [p.ts, p.net] as const);
  return { ...summarise(closes), closes };
}

export function summarise(closes: readonly (readonly [number, number])[]): AbArm {
  const sorted = [...closes].sort((a, b) => a[0] - b[0]);
  let eq = 0;
  let peak = 0;
  let dd = 0;
  let wins = 0;
  for (const [, net] of sorted) {
    eq += net;
    if (net > 0) wins++;
    peak = Math.max(peak, eq);
    dd = Math.max(dd, peak - eq);
  }
  const w = wilson(wins, sorted.length);
  return { trades: sorted.length, wins, hit_rate: sorted.length > 0 ? wins / sorted.length : null, wilson_lo: w?.lo ?? null, wilson_hi: w?.hi ?? null, net_pnl: eq, max_drawdown: dd };
}

/** Replays the decisions recorded live: the same answer for the same signal (its agg_trade_id). */
class RecordedFilter implements SignalFilter {
  unmatched = 0;
  constructor(private readonly byId: ReadonlyMap<number, FilterDecision>) {}
  decide(ctx: SignalContext): FilterDecision {
    const d = this.byId.get(ctx.agg_trade_id);
    if (d !== undefined) return d;
    this.unmatched++;
    return { probability: Number.NaN, take: true, sizeFactor: 1 };
  }
}

function simulate(symbol: string, events: readonly (readonly [RowKind, Row])[], cfg: StrategyConfig, costs: FillCosts, filter: SignalFilter | null): Row[] {
  const sink = new PaperRows();
  const strategy = new SharedStrategy(cfg);
  strategy.filter = filter;
  const trader = new PaperTrader(symbol, strategy, costs, sink);
  for (const [k, r] of events) trader.onRow(k as "prices", r);
  trader.finish();
  return sink.rows;
}

/** One symbol's A/B, or null when it has no recorded model decisions in the period. */
export function abResult(symbol: string, cols: Readonly<Record<Kind, Columns>>, cfg: StrategyConfig, costs: FillCosts): (AbSymbolResult & { readonly closes: { readonly plain: readonly (readonly [number, number])[]; readonly filtered: readonly (readonly [number, number])[] } }) | null {
  const decisions = rowsOf(symbol, "model_decisions", cols.model_decisions);
  if (decisions.length === 0) return null;
  const byId = new Map<number, FilterDecision>();
  for (const d of decisions) byId.set(d.agg_trade_id as number, { probability: (d.probability as number | null) ?? Number.NaN, take: d.taken === true, sizeFactor: (d.size_factor as number | null) ?? 0 });
  const events: [RowKind, Row][] = [];
  for (const k of ["orderbook", "features", "prices", "fusion"] as const) for (const r of rowsOf(symbol, k, cols[k])) events.push([k, r]);
  // time order; within a millisecond the engine's order: book, second, trade, its fusion row
  events.sort((a, b) => (a[1].ts_ms as number) - (b[1].ts_ms as number) || KIND_ORDER[a[0]] - KIND_ORDER[b[0]]);
  const plain = arm(simulate(symbol, events, cfg, costs, null));
  const recorded = new RecordedFilter(byId);
  const filtered = arm(simulate(symbol, events, cfg, costs, recorded));
  return {
    symbol,
    models: [...new Set(decisions.map((d) => d.model as string))].sort(),
    // paper and testnet strategies may both have asked about a signal: count each signal once
    decisions: byId.size,
    taken: [...byId.values()].filter((d) => d.take).length,
    unmatched: recorded.unmatched,
    plain,
    filtered,
    closes: { plain: plain.closes, filtered: filtered.closes },
  };
}

export interface AbJudgement {
  readonly plain: AbArm;
  readonly filtered: AbArm;
  readonly hit_rate_change: number | null;
  readonly pnl_change: number | null;
  readonly keep: boolean | null;
  readonly text: string;
}

/** All symbols together, judged by the acceptance rule. */
export function judge(closesPlain: readonly (readonly [number, number])[], closesFiltered: readonly (readonly [number, number])[]): AbJudgement {
  const plain = summarise(closesPlain);
  const filtered = summarise(closesFiltered);
  const hrChange = plain.hit_rate !== null && filtered.hit_rate !== null && plain.hit_rate > 0 ? filtered.hit_rate / plain.hit_rate - 1 : null;
  const pnlChange = plain.net_pnl !== 0 ? (filtered.net_pnl - plain.net_pnl) / Math.abs(plain.net_pnl) : null;
  if (plain.trades < AB_MIN_TRADES || filtered.trades < AB_MIN_TRADES) {
    return { plain, filtered, hit_rate_change: hrChange, pnl_change: pnlChange, keep: null, text: `not judged: fewer than ${AB_MIN_TRADES} round trips in an arm (plain ${plain.trades}, filtered ${filtered.trades})` };
  }
  const keep = (hrChange !== null && hrChange > 0.05) || (pnlChange !== null && pnlChange > 0.1);
  const overlap = plain.wilson_hi !== null && filtered.wilson_lo !== null && filtered.wilson_lo <= plain.wilson_hi;
  const pct = (v: number | null): string => (v === null ? "n/a" : `${v >= 0 ? "+" : ""}${(v * 100).toFixed(1)} %`);
  const text = keep
    ? `keep: hit rate ${pct(hrChange)}, net PnL ${pct(pnlChange)} against the plain rule${overlap ? " (the hit rates' Wilson intervals overlap: not yet significant)" : ""}`
    : `reject: hit rate ${pct(hrChange)}, net PnL ${pct(pnlChange)} against the plain rule — below the rule's +5 % / +10 %`;
  return { plain, filtered, hit_rate_change: hrChange, pnl_change: pnlChange, keep, text };
}
