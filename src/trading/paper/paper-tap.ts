/**
 * Paper-trading wiring: a RowSink in front of the real sink. Every row passes through unchanged; the
 * symbol's `prices`, `orderbook`, `fusion` and `features` rows also feed its PaperTrader, which asks
 * the shared strategy (strategy/strategy.ts) for decisions and fills them by simulation; its `paper`
 * rows go to the same sink. The engines stay unaware of paper trading, and because the tap sees
 * exactly the rows the engine writes, live and replay trade identically.
 */
import type { Row, RowKind, RowSink } from "../../core/rows.ts";
import type { SignalFilter } from "../strategy/contract.ts";
import { SharedStrategy, type StrategyConfig } from "../strategy/strategy.ts";
import type { RiskParams } from "../risk/params.ts";
import type { StrategyParams } from "../strategy/params.ts";
import { feeTierOf, type PaperParams } from "./params.ts";
import { PaperTrader, type FillCosts, type PaperStats } from "./trader.ts";

export interface TraderParams extends StrategyConfig, FillCosts {}

/** The configuration sections paper trading reads (the config layer composes them; trading may not import it). */
export interface PaperConfig {
  readonly paper: PaperParams;
  readonly regime: { readonly fee_tier: string };
  readonly strategy: StrategyParams;
  readonly risk: RiskParams;
}

export function traderParams(cfg: PaperConfig): TraderParams {
  const tier = feeTierOf(cfg.paper.fee_tiers, cfg.regime.fee_tier);
  // The config schema already refuses an unknown tier; this guards callers that skip validation.
  if (tier === null) throw new Error(`paper: fee tier ${JSON.stringify(cfg.regime.fee_tier)} is not in paper.fee_tiers`);
  return { strategy: cfg.strategy, risk: cfg.risk, takerBps: tier.taker_bps, feeTier: cfg.regime.fee_tier };
}

export class PaperTap implements RowSink {
  private readonly traders = new Map<string, PaperTrader>();
  private readonly finished = new Map<string, PaperTrader>();

  constructor(
    private readonly inner: RowSink,
    private readonly params: TraderParams,
    /** The model filter (issue 14), given to every symbol's strategy. */
    private readonly filter: SignalFilter | null = null,
  ) {}

  append(kind: RowKind, row: Row): void {
    this.inner.append(kind, row);
    // The engine reuses row objects: the trader reads what it needs before returning (row-scratch.ts).
    if (kind === "prices" || kind === "orderbook" || kind === "fusion" || kind === "features") {
      this.trader(row.symbol as string).onRow(kind, row);
    }
  }

  /**
   * End of a symbol's input (shutdown, or a restart boundary in replay): closes its position, and
   * forgets the trader and its strategy state, so input that follows starts fresh, as a new live
   * process does.
   */
  finish(symbol: string): void {
    const t = this.traders.get(symbol);
    if (t === undefined) return;
    t.finish();
    this.traders.delete(symbol);
    // Its figures stay on the status page (and in metrics.json written at shutdown) until new input starts over.
    this.finished.set(symbol, t);
  }

  finishAll(): void {
    for (const symbol of [...this.traders.keys()]) this.finish(symbol);
  }

  /** A symbol without rows yet shows a flat, empty book. */
  stats(symbol: string): PaperStats {
    return (this.traders.get(symbol) ?? this.finished.get(symbol) ?? this.trader(symbol)).stats();
  }

  private trader(symbol: string): PaperTrader {
    let t = this.traders.get(symbol);
    if (t === undefined) {
      // One strategy per symbol: a symbol's restart (finish) resets its decisions and nothing else.
      const strategy = new SharedStrategy(this.params);
      strategy.filter = this.filter;
      t = new PaperTrader(symbol, strategy, this.params, this.inner);
      this.traders.set(symbol, t);
      this.finished.delete(symbol);
    }
    return t;
  }
}
