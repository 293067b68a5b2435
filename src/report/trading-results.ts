/**
 * Testnet-trading results in the report (docs/trading.md), from `kind=fills` and `kind=orders`.
 *
 * - Round trips are rebuilt from the fills: a trip starts when the position leaves 0 and ends when it
 *   returns to 0 (a fill that flips the position ends one trip and starts the next). A trip's net PnL
 *   is its fills' realised PnL minus their commissions; it is a win when that is > 0.
 * - Sharpe is per round trip: mean / sample std of the trips' net returns in bps of their entry
 *   notional, not annualised (the period is one trip; trips per day is reported beside it).
 * - Execution success: orders the venue accepted / orders sent (entries, exits and stops; refusals
 *   by our own limits are not sends). Latency: request to answer, from the acknowledgement rows.
 * - Slippage: per fill against the book the signal saw (`ref_price`), in bps, positive = worse,
 *   weighted by quantity.
 */
import type { Columns } from "./parquet-tree.ts";
import { meanStd, quantileSorted } from "./stats.ts";

export const FILL_COLUMNS = ["ts_ms", "trade_id", "side", "price", "qty", "commission", "realized_pnl", "ref_price"] as const;
export const ORDER_COLUMNS = ["ts_ms", "status", "reason", "latency_ms"] as const;

const DAY_MS = 86_400_000;

export interface TradingSymbolResult {
  readonly symbol: string;
  readonly fills: number;
  /** Closed round trips. */
  readonly trades: number;
  /** Over the observed span (first to last order or fill, at least 1 h). */
  readonly trades_per_day: number | null;
  readonly wins: number;
  readonly win_rate: number | null;
  readonly realized_pnl: number;
  readonly commissions: number;
  /** Realised PnL minus commissions. */
  readonly net_pnl: number;
  readonly max_drawdown: number;
  readonly sharpe_per_trade: number | null;
  readonly orders_sent: number;
  readonly orders_accepted: number;
  readonly execution_success: number | null;
  readonly latency_p50_ms: number | null;
  readonly latency_p99_ms: number | null;
  readonly slippage_bps: number | null;
  readonly slippage_p95_bps: number | null;
  /** [ts_ms, net PnL] after each fill, thinned to at most 600 points. */
  readonly equity_curve: readonly (readonly [number, number])[];
}

export function tradingResult(symbol: string, fills: Columns, orders: Columns, fromMs: number, toMs: number): TradingSymbolResult | null {
  const fts = fills.num("ts_ms");
  const tid = fills.num("trade_id");
  const side = fills.str("side");
  const price = fills.num("price");
  const qty = fills.num("qty");
  const comm = fills.num("commission");
  const rp = fills.num("realized_pnl");
  const ref = fills.num("ref_price");
  const idx: number[] = [];
  for (let i = 0; i < fills.rows; i++) if (fts[i] >= fromMs && fts[i] < toMs) idx.push(i);
  const ots = orders.num("ts_ms");
  const status = orders.str("status");
  const lat = orders.num("latency_ms");
  const why = orders.str("reason");
  const oIdx: number[] = [];
  for (let i = 0; i < orders.rows; i++) if (ots[i] >= fromMs && ots[i] < toMs) oIdx.push(i);
  if (idx.length === 0 && oIdx.length === 0) return null;
  idx.sort((a, b) => fts[a] - fts[b] || tid[a] - tid[b]);

  let pos = 0;
  let equity = 0;
  let peak = 0;
  let maxDd = 0;
  let realized = 0;
  let commissions = 0;
  let tripNet = 0;
  let tripNotional = 0;
  let wins = 0;
  const rets: number[] = [];
  const curve: [number, number][] = [];
  let slipW = 0;
  let slipSum = 0;
  const slips: number[] = [];
  for (const i of idx) {
    const signed = side[i] === "BUY" ? qty[i] : -qty[i];
    if (pos === 0) {
      tripNet = 0;
      tripNotional = 0;
    }
    const opening = pos === 0 || Math.sign(signed) === Math.sign(pos);
    if (opening) tripNotional += qty[i] * price[i];
    const net = rp[i] - comm[i];
    realized += rp[i];
    commissions += comm[i];
    tripNet += net;
    equity += net;
    peak = Math.max(peak, equity);
    maxDd = Math.max(maxDd, peak - equity);
    curve.push([fts[i], equity]);
    const next = Math.round((pos + signed) * 1e9) / 1e9;
    if (pos !== 0 && (next === 0 || Math.sign(next) !== Math.sign(pos))) {
      if (tripNet > 0) wins++;
      rets.push(tripNotional > 0 ? (tripNet / tripNotional) * 1e4 : 0);
      if (next !== 0) {
        // The flip's remainder opens the next trip at this fill's price.
        tripNet = 0;
        tripNotional = Math.abs(next) * price[i];
      }
    }
    pos = next;
    if (Number.isFinite(ref[i]) && ref[i] > 0) {
      const bps = ((side[i] === "BUY" ? price[i] - ref[i] : ref[i] - price[i]) / ref[i]) * 1e4;
      slipSum += bps * qty[i];
      slipW += qty[i];
      slips.push(bps);
    }
  }
  // One acknowledgement row per send carries its latency; its status says whether the venue took it.
  let sent = 0;
  let accepted = 0;
  const lats: number[] = [];
  for (const i of oIdx) {
    const st = status[i];
    // Our own refusals were never sent; a stop's cancel is not an order.
    if (st === "REFUSED" || why[i] === "stop-cancel" || !Number.isFinite(lat[i])) continue;
    sent++;
    if (st !== "REJECTED" && st !== "UNKNOWN") accepted++;
    lats.push(lat[i]);
  }
  lats.sort((a, b) => a - b);
  slips.sort((a, b) => a - b);
  const ms = meanStd(rets);
  // Trades per day over the span the trader was seen working (first to last order or fill), at least
  // an hour, so a short run is not extrapolated from a few minutes.
  let first = Infinity;
  let lastTs = -Infinity;
  for (const i of idx) (first = Math.min(first, fts[i])), (lastTs = Math.max(lastTs, fts[i]));
  for (const i of oIdx) (first = Math.min(first, ots[i])), (lastTs = Math.max(lastTs, ots[i]));
  const spanDays = Math.max(lastTs - first, 3_600_000) / DAY_MS;
  const step = Math.max(1, Math.ceil(curve.length / 600));
  return {
    symbol,
    fills: idx.length,
    trades: rets.length,
    trades_per_day: Number.isFinite(spanDays) ? rets.length / spanDays : null,
    wins,
    win_rate: rets.length > 0 ? wins / rets.length : null,
    realized_pnl: realized,
    commissions,
    net_pnl: realized - commissions,
    max_drawdown: maxDd,
    sharpe_per_trade: ms.n > 1 && ms.std !== null && ms.std > 0 && ms.mean !== null ? ms.mean / ms.std : null,
    orders_sent: sent,
    orders_accepted: accepted,
    execution_success: sent > 0 ? accepted / sent : null,
    latency_p50_ms: quantileSorted(lats, 0.5),
    latency_p99_ms: quantileSorted(lats, 0.99),
    slippage_bps: slipW > 0 ? slipSum / slipW : null,
    slippage_p95_bps: quantileSorted(slips, 0.95),
    equity_curve: curve.filter((_, k) => k % step === 0 || k === curve.length - 1),
  };
}
