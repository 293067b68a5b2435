/**
 * Synthetic row streams for the strategy and risk tests: the rows the engine would write (only the
 * columns the strategy reads), fed through the paper executor so every decision ends as paper rows.
 */
import type { Row } from "../../src/core/rows.ts";
import { PaperTrader } from "../../src/trading/paper/trader.ts";
import { RiskParamsSchema } from "../../src/trading/risk/params.ts";
import type { SignalDecision, SignalFilter } from "../../src/trading/strategy/contract.ts";
import { StrategyParamsSchema } from "../../src/trading/strategy/params.ts";
import { SharedStrategy } from "../../src/trading/strategy/strategy.ts";
import { MemorySink } from "./calc-support.ts";

export const SYM = "BTCUSDT";

/** Every regime: entry 1, exit 0.5, cooldown 10 s, spread gate 5 bps; no stops or targets unless asked. */
export function strategyParams(over: Record<string, unknown> = {}) {
  const rule = { entry: 1, exit: 0.5, cooldown_sec: 10, max_spread_bps: 5 };
  return StrategyParamsSchema.parse({
    min_reverse_move_bps: 0,
    stop_bps: 0,
    take_profit: [],
    max_hold_sec: 0,
    atr: { mult: 0 },
    regimes: { Q_H: rule, A_H: rule, A_L: rule, Q_L: rule },
    ...over,
  });
}

/** notional 1000, no loss limits, no order limit to speak of, no cost gate unless asked. */
export function riskParams(over: Record<string, unknown> = {}) {
  return RiskParamsSchema.parse({ max_daily_loss: 0, max_drawdown_pct: 0, max_orders_per_min: 1000, cost: { enable: false }, ...over });
}

export class Harness {
  readonly sink = new MemorySink();
  readonly strategy: SharedStrategy;
  readonly trader: PaperTrader;
  readonly decisions: SignalDecision[] = [];
  private id = 0;
  regime = "A_L";

  constructor(strategy = strategyParams(), risk = riskParams(), opts: { takerBps?: number; filter?: SignalFilter } = {}) {
    this.strategy = new SharedStrategy({ strategy, risk, takerBps: opts.takerBps ?? 0 });
    this.strategy.onDecision = (d) => this.decisions.push(d);
    this.strategy.filter = opts.filter ?? null;
    this.trader = new PaperTrader(SYM, this.strategy, { takerBps: opts.takerBps ?? 0, feeTier: "TM" }, this.sink);
  }

  /** A book with the given bid/ask (spread from them). */
  book(tsSec: number, bid: number, ask: number): this {
    const mid = (bid + ask) / 2;
    this.trader.onRow("orderbook", { symbol: SYM, ts_ms: tsSec * 1000, best_bid: bid, best_ask: ask, mid, spread_bps: ((ask - bid) / mid) * 1e4 });
    return this;
  }

  /**
   * One trade at `price` seen against the book bid/ask (its fills), then its fusion row with `score`
   * (null: no fusion row). The book row comes first, as a book update before the trade would.
   */
  trade(tsSec: number, bid: number, ask: number, score: number | null = 0, extra: Partial<Record<string, unknown>> = {}): this {
    this.book(tsSec, bid, ask);
    const id = ++this.id;
    const ts = tsSec * 1000;
    this.trader.onRow("prices", { symbol: SYM, ts_ms: ts, agg_trade_id: id, price: (bid + ask) / 2, best_buy_fill: ask, best_sell_fill: bid, scenario_2x2: this.regime } as Row);
    if (score !== null) {
      this.trader.onRow("fusion", {
        symbol: SYM,
        ts_ms: ts,
        agg_trade_id: id,
        score,
        proba: 1 / (1 + Math.exp(-score)),
        consistency: 1,
        z_ofi: score,
        z_cvd: score,
        degraded: false,
        scenario_2x2: this.regime,
        ...extra,
      } as Row);
    }
    return this;
  }

  get paper(): Row[] {
    return this.sink.rows.paper;
  }

  /** "open:long:signal", "close:long:fade", … per paper row. */
  events(): string[] {
    return this.paper.map((r) => `${r.event}:${r.side}:${r.reason}`);
  }

  skips(): string[] {
    return this.decisions.map((d) => (d.taken ? "taken" : d.skip!));
  }
}
