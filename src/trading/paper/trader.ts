/**
 * The paper executor for one symbol (docs/research.md; rules in docs/strategy.md and docs/research.md):
 * fills the shared strategy's intents by simulation and writes one `paper` row per fill.
 *
 * - An intent is filled at the NEXT trade's book (the next prices row with fills: `best_buy_fill`
 *   for a buy, `best_sell_fill` for a sell), never at the row that caused it: a decision is only
 *   known once its row exists, and that row's fills are the book from before its trade. The whole
 *   quantity fills as a taker, with the taker fee of FEE_TIER.
 * - Every fill goes back to the strategy (`onFill`), exactly as the testnet trader reports exchange
 *   fills, so the strategy's position is the simulated one.
 * - Rows: `open` for an entry, `reduce` for a partial exit (a take-profit tier), `close` for the exit
 *   that flattens. Exit rows carry the result of the quantity they closed, with its share of the
 *   entry fee, so the `net_pnl` of a position's exit rows sums to its round-trip result.
 * - `finish()` drops an unfilled entry and closes what is open at the last fills seen (reason `end`).
 */
import type { Row, RowSink } from "../../core/rows.ts";
import type { Intent, Strategy } from "../strategy/contract.ts";

export type Side = "long" | "short";

export interface FillCosts {
  readonly takerBps: number;
  readonly feeTier: string;
}

interface OpenPosition {
  readonly side: Side;
  readonly no: number;
  readonly entryTsMs: number;
  readonly entryPrice: number;
  readonly openQty: number;
  qty: number;
  /** Entry fee not yet charged to an exit row (shared pro rata by quantity). */
  entryFeeLeft: number;
  /** Net result of this position's exit rows so far, for its round-trip result. */
  net: number;
}

/** What the status page shows per symbol. */
export interface PaperStats {
  readonly fee_tier: string;
  /** Closed round trips (a position opened and fully closed). */
  readonly trades: number;
  readonly wins: number;
  /** wins / trades; null before the first close. */
  readonly win_rate: number | null;
  /** Realised PnL in quote currency, fees included. */
  readonly equity: number;
  readonly fees: number;
  readonly max_drawdown: number;
  /** mean / sample std of per-round-trip `ret_bps` (not annualised); null with < 2 trades or std 0. */
  readonly sharpe: number | null;
  /** Why the strategy stopped this symbol for the day (a risk limit), else null. */
  readonly halted: string | null;
  /** Entry signals decided: taken, and skipped by reason (cost, cooldown, spread, …; docs/strategy.md). */
  readonly signals: { readonly taken: number; readonly skipped: Readonly<Record<string, number>> };
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
  private queued: Intent[] = [];
  private position: OpenPosition | null = null;
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
  // Welford over per-round-trip ret_bps
  private retMean = 0;
  private retM2 = 0;
  private taken = 0;
  private readonly skipped: Record<string, number> = {};

  constructor(
    readonly symbol: string,
    private readonly strategy: Strategy,
    private readonly costs: FillCosts,
    private readonly sink: RowSink,
  ) {
    const forward = strategy.onDecision;
    strategy.onDecision = (d) => {
      if (d.taken) this.taken++;
      else this.skipped[d.skip!] = (this.skipped[d.skip!] ?? 0) + 1;
      forward?.(d);
    };
  }

  /** One of the symbol's rows, in the engine's order: fills what is queued, then asks the strategy. */
  onRow(kind: "prices" | "orderbook" | "fusion" | "features", row: Row): void {
    if (kind === "prices") {
      const buy = row.best_buy_fill as number | null;
      const sell = row.best_sell_fill as number | null;
      if (buy !== null && sell !== null) {
        this.lastTsMs = row.ts_ms as number;
        this.lastAggId = row.agg_trade_id as number;
        this.lastBuyFill = buy;
        this.lastSellFill = sell;
        this.lastScenario = row.scenario_2x2 as string | null;
        this.fillQueued();
      }
    }
    const intents = this.strategy.onRow(kind, row);
    if (intents.length > 0) this.queued.push(...intents);
  }

  /** End of input: an unfilled entry is dropped, the position closed at the last fills seen. */
  finish(): void {
    if (Number.isNaN(this.lastBuyFill)) {
      for (const i of this.queued) this.strategy.onIntentDone(this.symbol, i.key);
      this.queued = [];
      return;
    }
    for (const i of this.queued) if (i.kind === "enter") this.strategy.onIntentDone(this.symbol, i.key);
    this.queued = this.queued.filter((i) => i.kind === "exit");
    this.fillQueued();
    this.queued.push(...this.strategy.flatten(this.symbol, this.lastTsMs));
    this.fillQueued();
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
      fee_tier: this.costs.feeTier,
      trades: this.trades,
      wins: this.wins,
      win_rate: this.trades > 0 ? this.wins / this.trades : null,
      equity: this.equity,
      fees: this.fees,
      max_drawdown: this.maxDrawdown,
      sharpe: this.trades > 1 && sd > 0 ? this.retMean / sd : null,
      halted: this.strategy.halts().find((h) => h.symbol === this.symbol)?.reason ?? null,
      signals: { taken: this.taken, skipped: { ...this.skipped } },
      position: pos === null ? null : { side: pos.side, entry_ts_ms: pos.entryTsMs, entry_price: pos.entryPrice, qty: pos.qty, unrealized_pnl: unrealized },
    };
  }

  private fillQueued(): void {
    if (this.queued.length === 0) return;
    // Filling makes the strategy queue nothing (onFill returns no intents), so one pass suffices.
    const batch = this.queued;
    this.queued = [];
    for (const intent of batch) this.fill(intent);
  }

  private fill(intent: Intent): void {
    const price = intent.side === "buy" ? this.lastBuyFill : this.lastSellFill;
    const pos = this.position;
    if (intent.kind === "exit") {
      // An exit can only close what is open (a reduce-only order).
      const qty = pos === null ? 0 : Math.min(intent.qty, pos.qty);
      if (qty <= 0) {
        this.strategy.onIntentDone(this.symbol, intent.key);
        return;
      }
      const fee = (qty * price * this.costs.takerBps) / 1e4;
      this.strategy.onFill({ symbol: this.symbol, side: intent.side, qty, price, ts_ms: this.lastTsMs, fee, key: intent.key });
      this.close(pos!, qty, price, fee, intent.reason);
      return;
    }
    const qty = intent.qty;
    const fee = (qty * price * this.costs.takerBps) / 1e4;
    this.strategy.onFill({ symbol: this.symbol, side: intent.side, qty, price, ts_ms: this.lastTsMs, fee, key: intent.key });
    this.positionNo++;
    const opened: OpenPosition = {
      side: intent.side === "buy" ? "long" : "short",
      no: this.positionNo,
      entryTsMs: this.lastTsMs,
      entryPrice: price,
      openQty: qty,
      qty,
      entryFeeLeft: fee,
      net: 0,
    };
    this.position = opened;
    this.book(-fee, fee);
    this.write("open", opened, intent.reason, price, qty, fee, null, intent.signal.agg_trade_id);
  }

  private close(pos: OpenPosition, qty: number, price: number, fee: number, reason: string): void {
    const full = qty >= pos.qty;
    const entryFee = full ? pos.entryFeeLeft : (pos.entryFeeLeft * qty) / pos.qty;
    pos.entryFeeLeft -= entryFee;
    pos.qty = full ? 0 : pos.qty - qty;
    const gross = SIGN[pos.side] * qty * (price - pos.entryPrice);
    const net = gross - entryFee - fee;
    const retBps = (net / (qty * pos.entryPrice)) * 1e4;
    pos.net += net;
    this.book(gross - fee, fee);
    if (full) {
      this.position = null;
      const tripRet = (pos.net / (pos.openQty * pos.entryPrice)) * 1e4;
      this.trades++;
      if (pos.net > 0) this.wins++;
      const d = tripRet - this.retMean;
      this.retMean += d / this.trades;
      this.retM2 += d * (tripRet - this.retMean);
    }
    this.write(full ? "close" : "reduce", pos, reason, price, qty, fee, { gross, net, retBps }, null);
  }

  private book(equityChange: number, fee: number): void {
    this.equity += equityChange;
    this.fees += fee;
    if (this.equity > this.peak) this.peak = this.equity;
    const dd = this.peak - this.equity;
    if (dd > this.maxDrawdown) this.maxDrawdown = dd;
  }

  private write(
    event: "open" | "reduce" | "close",
    pos: OpenPosition,
    reason: string,
    price: number,
    qty: number,
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
      qty,
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
      fee_tier: this.costs.feeTier,
      scenario_2x2: this.lastScenario,
    };
    this.sink.append("paper", row);
  }
}
