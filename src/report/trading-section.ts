/**
 * The report's "Testnet trading" section, shared by the Markdown and HTML pages (trading-results.ts
 * says how each figure is computed).
 */
import { DASH, fix, int } from "./format.ts";
import type { TradingSymbolResult } from "./trading-results.ts";

export const TRADING_HEAD = [
  "symbol", "trades", "trades/day", "wins", "win rate", "net PnL", "realised", "commissions", "max drawdown", "Sharpe (per trade)",
  "orders sent", "execution success", "latency p50/p99 ms", "slippage bps (mean / p95)",
];

export function tradingCells(r: TradingSymbolResult): string[] {
  return [
    r.symbol,
    int(r.trades),
    fix(r.trades_per_day, 1),
    int(r.wins),
    fix(r.win_rate, 3),
    fix(r.net_pnl, 2),
    fix(r.realized_pnl, 2),
    fix(r.commissions, 2),
    fix(r.max_drawdown, 2),
    fix(r.sharpe_per_trade, 3),
    int(r.orders_sent),
    r.execution_success === null ? DASH : `${(r.execution_success * 100).toFixed(1)} %`,
    `${fix(r.latency_p50_ms, 0)}/${fix(r.latency_p99_ms, 0)}`,
    `${fix(r.slippage_bps, 2)} / ${fix(r.slippage_p95_bps, 2)}`,
  ];
}

export const TRADING_EMPTY = "No `kind=fills` or `kind=orders` rows in this range (testnet trading was not enabled: [trade] enable = true).";

export const TRADING_NOTE =
  "Venue fills (user data stream, trade list after reconnects). Net PnL = realised PnL − commissions, in USDT; a round trip runs from a flat position back to flat; trades/day over the span the trader was seen working (first to last order or fill, at least 1 h). " +
  "Sharpe = mean / std of per-trip net returns (bps of entry notional), period one trip, not annualised. Execution success = orders the venue accepted / orders sent " +
  "(entries, exits, stops). Latency = request to answer. Slippage = fill vs the signal's book (best fill at the decision), positive = worse.";
