/**
 * Paper-trading results in the report, from `kind=paper` rows (docs/research.md). Each collector
 * process starts its equity at 0, so the report rebuilds one continuous equity curve per symbol from
 * the fills themselves (open: −fee; reduce and close: gross − fee) and takes its drawdown from that
 * curve. A round trip is an open and the exits up to its `close` (take-profit tiers write `reduce`
 * rows first): its net PnL is the sum of its exit rows' `net_pnl`.
 */
import type { Columns } from "./parquet-tree.ts";
import { meanStd } from "./stats.ts";

export const PAPER_COLUMNS = ["ts_ms", "event", "reason", "qty", "entry_price", "fee", "gross_pnl", "net_pnl", "ret_bps", "hold_ms", "fee_tier"] as const;

/** Equity points kept per symbol for the chart (evenly thinned beyond this). */
const MAX_CURVE_POINTS = 600;

export interface PaperSymbolResult {
  readonly symbol: string;
  readonly fee_tiers: readonly string[];
  readonly fills: number;
  /** Closed round trips. */
  readonly trades: number;
  /** Seconds the symbol was observed in the range (its 1 s `features` rows). */
  readonly observed_s: number;
  /** trades per observed day; null when nothing was observed. */
  readonly trades_per_day: number | null;
  readonly wins: number;
  readonly win_rate: number | null;
  readonly net_pnl: number;
  readonly gross_pnl: number;
  readonly fees: number;
  readonly max_drawdown: number;
  readonly mean_ret_bps: number | null;
  /** Per-trade Sharpe: mean / sample std of `ret_bps` (not annualised). */
  readonly sharpe: number | null;
  readonly mean_hold_s: number | null;
  readonly exits: Readonly<Record<string, number>>;
  /** [ts_ms, equity] after fills, thinned to at most MAX_CURVE_POINTS. */
  readonly equity_curve: readonly (readonly [number, number])[];
}

export function paperResult(symbol: string, c: Columns, fromMs: number, toMs: number, observedS: number): PaperSymbolResult | null {
  const ts = c.num("ts_ms");
  const event = c.str("event");
  const reason = c.str("reason");
  const fee = c.num("fee");
  const gross = c.num("gross_pnl");
  const net = c.num("net_pnl");
  const ret = c.num("ret_bps");
  const hold = c.num("hold_ms");
  const qty = c.num("qty");
  const entryPrice = c.num("entry_price");
  const feeTier = c.str("fee_tier");
  const tiers = new Set<string>();
  const idx: number[] = [];
  for (let i = 0; i < c.rows; i++) if (ts[i] >= fromMs && ts[i] < toMs) idx.push(i);
  if (idx.length === 0) return null;
  // Stable time order (files of several processes may interleave by name).
  idx.sort((a, b) => ts[a] - ts[b] || a - b);
  let equity = 0;
  let peak = 0;
  let maxDd = 0;
  let fees = 0;
  let grossSum = 0;
  let netSum = 0;
  let wins = 0;
  const rets: number[] = [];
  const holds: number[] = [];
  const exits: Record<string, number> = {};
  const curve: [number, number][] = [];
  // The round trip in progress: net PnL and quantity of its exit rows so far.
  let tripNet = 0;
  let tripQty = 0;
  for (const i of idx) {
    tiers.add(feeTier[i] ?? "?");
    fees += fee[i];
    if (event[i] === "close" || event[i] === "reduce") {
      equity += gross[i] - fee[i];
      grossSum += gross[i];
      netSum += net[i];
      tripNet += net[i];
      tripQty += qty[i];
      const r = reason[i] ?? "?";
      exits[r] = (exits[r] ?? 0) + 1;
      if (event[i] === "close") {
        if (tripNet > 0) wins++;
        // Rows written before partial exits existed carry the round trip's ret_bps themselves.
        rets.push(tripQty > 0 && entryPrice[i] > 0 ? (tripNet / (tripQty * entryPrice[i])) * 1e4 : ret[i]);
        holds.push(hold[i] / 1000);
        tripNet = 0;
        tripQty = 0;
      }
    } else {
      equity -= fee[i];
    }
    if (equity > peak) peak = equity;
    if (peak - equity > maxDd) maxDd = peak - equity;
    curve.push([ts[i], equity]);
  }
  const r = meanStd(rets);
  const h = meanStd(holds);
  const step = Math.ceil(curve.length / MAX_CURVE_POINTS);
  const thinned = curve.filter((_, i) => i % step === 0 || i === curve.length - 1);
  return {
    symbol,
    fee_tiers: [...tiers].sort(),
    fills: idx.length,
    trades: rets.length,
    observed_s: observedS,
    trades_per_day: observedS > 0 ? (rets.length * 86_400) / observedS : null,
    wins,
    win_rate: rets.length > 0 ? wins / rets.length : null,
    net_pnl: netSum,
    gross_pnl: grossSum,
    fees,
    max_drawdown: maxDd,
    mean_ret_bps: r.mean,
    sharpe: r.mean !== null && r.std !== null && r.std > 0 ? r.mean / r.std : null,
    mean_hold_s: h.mean,
    exits,
    equity_curve: thinned,
  };
}
