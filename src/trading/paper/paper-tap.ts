/**
 * Paper-trading wiring: a RowSink in front of the real sink. Every row passes through unchanged; the
 * `prices` and `fusion` rows also feed the symbol's PaperTrader, whose `paper` rows go to the same
 * sink. The engines stay unaware of paper trading, and because the tap sees exactly the rows the
 * engine writes, live and replay trade identically.
 */
import type { Config } from "../../config/schema.ts";
import type { Row, RowKind, RowSink } from "../../core/rows.ts";
import { feeTierOf } from "./params.ts";
import { PaperTrader, type PaperStats, type TraderParams } from "./trader.ts";

export function traderParams(cfg: Pick<Config, "paper" | "regime">): TraderParams {
  const tier = feeTierOf(cfg.paper.fee_tiers, cfg.regime.fee_tier);
  // The config schema already refuses an unknown tier; this guards callers that skip validation.
  if (tier === null) throw new Error(`paper: fee tier ${JSON.stringify(cfg.regime.fee_tier)} is not in paper.fee_tiers`);
  return {
    notionalUsdt: cfg.paper.notional_usdt,
    stopBps: cfg.paper.stop_bps,
    targetBps: cfg.paper.target_bps,
    maxHoldMs: cfg.paper.max_hold_sec * 1000,
    takerBps: tier.taker_bps,
    feeTier: cfg.regime.fee_tier,
  };
}

export class PaperTap implements RowSink {
  private readonly traders = new Map<string, PaperTrader>();

  constructor(
    private readonly inner: RowSink,
    private readonly params: TraderParams,
  ) {}

  append(kind: RowKind, row: Row): void {
    this.inner.append(kind, row);
    // The engine reuses row objects: values are read here, before returning (row-scratch.ts).
    if (kind === "prices") {
      this.trader(row.symbol as string).onPrices(
        row.ts_ms as number,
        row.agg_trade_id as number,
        row.best_buy_fill as number | null,
        row.best_sell_fill as number | null,
        row.scenario_2x2 as string | null,
      );
    } else if (kind === "fusion") {
      this.trader(row.symbol as string).onFusion(row.agg_trade_id as number, row.signal as string);
    }
  }

  /**
   * End of a symbol's input (shutdown, or a restart boundary in replay): closes its position, and
   * forgets the trader, so input that follows starts fresh, as a new live process does.
   */
  finish(symbol: string): void {
    this.traders.get(symbol)?.finish();
    this.traders.delete(symbol);
  }

  finishAll(): void {
    for (const t of this.traders.values()) t.finish();
  }

  /** A symbol without rows yet shows a flat, empty book. */
  stats(symbol: string): PaperStats {
    return this.trader(symbol).stats();
  }

  private trader(symbol: string): PaperTrader {
    let t = this.traders.get(symbol);
    if (t === undefined) {
      t = new PaperTrader(symbol, this.params, this.inner);
      this.traders.set(symbol, t);
    }
    return t;
  }
}
