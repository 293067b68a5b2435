/**
 * Paper trading for one symbol (product.md §9; rules in docs/research.md).
 *
 * Inputs are the symbol's `prices` and `fusion` rows in the order the engine writes them (per trade:
 * prices row, then its fusion row), so live and replay give the same fills: everything runs on event
 * time, nothing on the wall clock.
 *
 * - A fusion row whose signal is `buy`/`sell` and differs from the previous fusion row's signal asks
 *   for a long/short position. The order is filled at the NEXT trade's book (its prices row's
 *   `best_buy_fill` / `best_sell_fill`): the signal is only known once trade i has printed, and
 *   trade i's own fills are the book from before it, so using them would trade on the past.
 * - On every prices row with fills, an open position is first checked for stop, target and maximum
 *   holding time at its exit fill (long: best_sell_fill, short: best_buy_fill); then a pending
 *   request is executed: nothing if already on that side, else close (reason `signal`) and/or open.
 * - Taker fees of FEE_TIER on both legs. `finish()` closes an open position at the last fills seen
 *   (reason `end`), so a run's equity is fully realised.
 */
import type { Row, RowSink } from "../../core/rows.ts";

export type Side = "long" | "short";
export type ExitReason = "signal" | "stop" | "target" | "max_hold" | "end";

export interface TraderParams {
  readonly notionalUsdt: number;
  /** 0 = off. */
  readonly stopBps: number;
  /** 0 = off. */
  readonly targetBps: number;
  /** 0 = off. */
  readonly maxHoldMs: number;
  readonly takerBps: number;
  readonly feeTier: string;
}

export interface OpenPosition {
  readonly side: Side;
  readonly no: number;
  readonly entryTsMs: number;
  readonly entryPrice: number;
  readonly qty: number;
  readonly entryFee: number;
}

/** What the status page shows per symbol. */
export interface PaperStats {
  readonly fee_tier: string;
  /** Closed round trips. */
  readonly trades: number;
  readonly wins: number;
  /** wins / trades; null before the first close. */
  readonly win_rate: number | null;
  /** Realised PnL in quote currency, fees included. */
  readonly equity: number;
  readonly fees: number;
  readonly max_drawdown: number;
  /** mean / sample std of per-trade `ret_bps` (not annualised); null with < 2 trades or std 0. */
  readonly sharpe: number | null;
  readonly position: {
    readonly side: Side;
    readonly entry_ts_ms: number;
    readonly entry_price: number;
    readonly qty: number;
    /** At the last exit fill seen (the entry's own book at first), before the exit fee. */
    readonly unrealized_pnl: number;
  } | null;
}

const SIGN: Record<Side, 1 | -1> = { long: 1, short: -1 };

export class PaperTrader {
  private position: OpenPosition | null = null;
  private pending: Side | null = null;
  private pendingSignalId: number | null = null;
  private lastSignal: string | null = null;
  private positionNo = 0;
  // last prices row with fills
  private lastTsMs = 0;
  private lastAggId = 0;
  private lastBuyFill = Number.NaN;
  private lastSellFill = Number.NaN;
  private lastScenario: string | null = null;
  // results
  private equity = 0;
  private peak = 0;
  private maxDrawdown = 0;
  private fees = 0;
  private trades = 0;
  private wins = 0;
  // Welford over per-trade ret_bps
  private retMean = 0;
  private retM2 = 0;

  constructor(
    readonly symbol: string,
    private readonly p: TraderParams,
    private readonly sink: RowSink,
  ) {}

  /** A prices row: the trade's book gives the fills (both null without a valid book, §15.4). */
  onPrices(tsMs: number, aggTradeId: number, buyFill: number | null, sellFill: number | null, scenario: string | null): void {
    if (buyFill === null || sellFill === null) return;
    this.lastTsMs = tsMs;
    this.lastAggId = aggTradeId;
    this.lastBuyFill = buyFill;
    this.lastSellFill = sellFill;
    this.lastScenario = scenario;
    const pos = this.position;
    if (pos !== null) {
      const exit = pos.side === "long" ? sellFill : buyFill;
      const moveBps = (SIGN[pos.side] * (exit - pos.entryPrice)) / pos.entryPrice * 1e4;
      const p = this.p;
      let reason: ExitReason | null = null;
      if (p.stopBps > 0 && moveBps <= -p.stopBps) reason = "stop";
      else if (p.targetBps > 0 && moveBps >= p.targetBps) reason = "target";
      else if (p.maxHoldMs > 0 && tsMs - pos.entryTsMs >= p.maxHoldMs) reason = "max_hold";
      if (reason !== null) this.close(reason, null);
    }
    const want = this.pending;
    if (want === null) return;
    const signalId = this.pendingSignalId;
    this.pending = null;
    this.pendingSignalId = null;
    if (this.position !== null) {
      if (this.position.side === want) return;
      this.close("signal", signalId);
    }
    this.open(want, signalId);
  }

  /** A fusion row: only a change to buy or sell asks for a position. */
  onFusion(aggTradeId: number, signal: string): void {
    const prev = this.lastSignal;
    this.lastSignal = signal;
    if (signal === prev) return;
    if (signal === "buy" || signal === "sell") {
      this.pending = signal === "buy" ? "long" : "short";
      this.pendingSignalId = aggTradeId;
    }
  }

  /** End of input: an open position is closed at the last fills seen. */
  finish(): void {
    this.pending = null;
    this.pendingSignalId = null;
    if (this.position !== null) this.close("end", null);
  }

  stats(): PaperStats {
    const pos = this.position;
    const sd = this.trades > 1 ? Math.sqrt(this.retM2 / (this.trades - 1)) : 0;
    let unrealized = 0;
    if (pos !== null) {
      const exit = pos.side === "long" ? this.lastSellFill : this.lastBuyFill;
      unrealized = SIGN[pos.side] * pos.qty * (exit - pos.entryPrice);
    }
    return {
      fee_tier: this.p.feeTier,
      trades: this.trades,
      wins: this.wins,
      win_rate: this.trades > 0 ? this.wins / this.trades : null,
      equity: this.equity,
      fees: this.fees,
      max_drawdown: this.maxDrawdown,
      sharpe: this.trades > 1 && sd > 0 ? this.retMean / sd : null,
      position: pos === null ? null : { side: pos.side, entry_ts_ms: pos.entryTsMs, entry_price: pos.entryPrice, qty: pos.qty, unrealized_pnl: unrealized },
    };
  }

  private open(side: Side, signalId: number | null): void {
    const price = side === "long" ? this.lastBuyFill : this.lastSellFill;
    const qty = this.p.notionalUsdt / price;
    const fee = (qty * price * this.p.takerBps) / 1e4;
    this.positionNo++;
    this.position = { side, no: this.positionNo, entryTsMs: this.lastTsMs, entryPrice: price, qty, entryFee: fee };
    this.book(-fee, fee);
    this.write("open", this.position, "signal", price, fee, null, signalId);
  }

  private close(reason: ExitReason, signalId: number | null): void {
    const pos = this.position!;
    this.position = null;
    const price = pos.side === "long" ? this.lastSellFill : this.lastBuyFill;
    const fee = (pos.qty * price * this.p.takerBps) / 1e4;
    const gross = SIGN[pos.side] * pos.qty * (price - pos.entryPrice);
    const net = gross - pos.entryFee - fee;
    const retBps = (net / (pos.qty * pos.entryPrice)) * 1e4;
    this.trades++;
    if (net > 0) this.wins++;
    const d = retBps - this.retMean;
    this.retMean += d / this.trades;
    this.retM2 += d * (retBps - this.retMean);
    this.book(gross - fee, fee);
    this.write("close", pos, reason, price, fee, { gross, net, retBps }, signalId);
  }

  private book(equityChange: number, fee: number): void {
    this.equity += equityChange;
    this.fees += fee;
    if (this.equity > this.peak) this.peak = this.equity;
    const dd = this.peak - this.equity;
    if (dd > this.maxDrawdown) this.maxDrawdown = dd;
  }

  private write(
    event: "open" | "close",
    pos: OpenPosition,
    reason: ExitReason,
    price: number,
    fee: number,
    result: { gross: number; net: number; retBps: number } | null,
    signalId: number | null,
  ): void {
    const row: Row = {
      symbol: this.symbol,
      ts_ms: this.lastTsMs,
      event,
      position_no: pos.no,
      side: pos.side,
      reason,
      price,
      qty: pos.qty,
      fee,
      entry_ts_ms: pos.entryTsMs,
      entry_price: pos.entryPrice,
      gross_pnl: result?.gross ?? null,
      net_pnl: result?.net ?? null,
      ret_bps: result?.retBps ?? null,
      hold_ms: result === null ? null : this.lastTsMs - pos.entryTsMs,
      equity: this.equity,
      drawdown: this.peak - this.equity,
      agg_trade_id: this.lastAggId,
      signal_agg_trade_id: signalId,
      fee_tier: this.p.feeTier,
      scenario_2x2: this.lastScenario,
    };
    this.sink.append("paper", row);
  }
}
