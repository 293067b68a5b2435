/**
 * The contract between the strategy and whatever executes its decisions (docs/strategy.md).
 *
 * One strategy module decides for paper trading and for the testnet. It is fed, per symbol and in the
 * order the engine writes them, the same rows paper trading sees (`prices` per trade, `orderbook` per
 * book, `fusion` per trade, `features` per second: core/rows.ts), and answers with intents. It never
 * sends an order and never assumes one was filled: the executor reports fills back through `onFill`
 * (the paper simulator fills at the next trade's book; the testnet trader reports the exchange's
 * fills), so both executors drive the same state machine. Everything runs on event time (the rows'
 * `ts_ms`), never on the wall clock, so live and replay decide identically.
 *
 * This file is kept small and stable: the testnet trader (issue 13) and the model filter (issue 14)
 * code against it.
 */
import type { Row, RowKind } from "../../core/rows.ts";

/** The 2x2 regime label carried by every row (`scenario_2x2`; docs/indicators.md §9). */
export type Regime = "A_H" | "A_L" | "Q_H" | "Q_L";

/** Order side. A long position is opened by "buy", a short one by "sell". */
export type OrderSide = "buy" | "sell";

/** Why a position (or part of it) is closed. */
export type ExitReason =
  /** Tiered take-profit: tiers before the last (`tp1`, `tp2`, …); `target` is the last tier. */
  | `tp${number}`
  | "target"
  /** Fixed stop in bps against the entry. */
  | "stop"
  /** Stop at `atr_mult` × ATR against the entry. */
  | "atr_stop"
  /** Held for the time stop. */
  | "time"
  /** The score fell back below the exit threshold (hysteresis: exit < entry). */
  | "fade"
  /** An opposite entry signal (after the minimum move) closes before the new entry. */
  | "reverse"
  /** A risk limit was breached: flatten and stop for the day. */
  | "risk_halt"
  /** End of input (shutdown, end of a replay). */
  | "end";

/**
 * What was known when an entry signal fired: the fusion row that fired it and the latest values of
 * the symbol's other rows at that moment (nothing from later rows). The model filter decides on this,
 * and it is what gets recorded with each decision.
 */
export interface SignalContext {
  readonly symbol: string;
  /** The fusion row's `ts_ms`. */
  readonly ts_ms: number;
  /** The fusion row's `agg_trade_id` (identifies the signal; deterministic across live and replay). */
  readonly agg_trade_id: number;
  readonly side: OrderSide;
  /** Fusion row values. */
  readonly score: number;
  readonly proba: number;
  readonly consistency: number;
  readonly z_ofi: number;
  readonly z_cvd: number;
  readonly degraded: boolean;
  readonly regime: Regime | null;
  /** Latest book (orderbook row): null before the first valid book. */
  readonly mid: number | null;
  readonly spread_bps: number | null;
  /** Latest trade's fills (prices row `best_buy_fill` / `best_sell_fill`). */
  readonly best_buy_fill: number | null;
  readonly best_sell_fill: number | null;
  /** Latest features row (the last completed second); null before the first. */
  readonly realized_vol_bps: number | null;
  readonly tps: number | null;
  readonly ofi_z_last: number | null;
  readonly z_cvd_last: number | null;
  /** The strategy's ATR in bps of the price; null while warming up. */
  readonly atr_bps: number | null;
  /** Entry threshold of the regime that applied (|score| had to exceed it). */
  readonly entry_threshold: number;
}

/** The model filter's answer for one signal. */
export interface FilterDecision {
  /** The model's probability that the trade wins (0..1). */
  readonly probability: number;
  /** false: the signal is skipped. */
  readonly take: boolean;
  /** Multiplies the sized quantity (1 = unchanged; clamped to [0, 1] by the strategy). */
  readonly sizeFactor: number;
}

/** Issue 14's hook: called (when present) before every entry that passed the strategy's own gates. */
export interface SignalFilter {
  decide(ctx: SignalContext): FilterDecision;
}

/** Why an entry signal was not taken (recorded with the decision). */
export type SkipReason =
  /** The regime's rules disable entries. */
  | "regime_off"
  | "cooldown"
  | "spread"
  | "min_move"
  | "same_side"
  | "pending"
  | "cost"
  | "filter"
  | "orders_per_min"
  | "halted"
  | "no_book"
  | "size_zero";

/** One entry decision, exposed so it can be recorded (taken or not, and why). */
export interface SignalDecision {
  readonly ctx: SignalContext;
  /** null when no filter is installed or the signal was skipped before the filter was asked. */
  readonly filter: FilterDecision | null;
  readonly taken: boolean;
  readonly skip: SkipReason | null;
  /** Expected edge and cost (bps) of the cost gate; null when not evaluated. */
  readonly edge_bps: number | null;
  readonly cost_bps: number | null;
}

/**
 * What the strategy wants done. `key` is deterministic (same input → same key, live or replay), so an
 * executor can derive an idempotent client order id from it.
 */
export type Intent =
  | {
      readonly kind: "enter";
      readonly key: string;
      readonly symbol: string;
      readonly side: OrderSide;
      /** Base-asset quantity (before the exchange's step-size rounding). */
      readonly qty: number;
      /** The fill price the decision assumed (the side's best fill at the signal). */
      readonly refPrice: number;
      /** Protective stop price for this entry (exchange-side stop); null = none configured. */
      readonly stopPrice: number | null;
      readonly reason: "signal";
      readonly signal: SignalContext;
    }
  | {
      readonly kind: "exit";
      readonly key: string;
      readonly symbol: string;
      /** The closing order's side (opposite of the position). Always reduce-only. */
      readonly side: OrderSide;
      readonly qty: number;
      readonly refPrice: number;
      readonly reason: ExitReason;
    };

/** A fill reported by the executor (simulated or from the exchange). */
export interface Fill {
  readonly symbol: string;
  readonly side: OrderSide;
  /** Base-asset quantity, > 0. */
  readonly qty: number;
  readonly price: number;
  readonly ts_ms: number;
  /** Fee paid, in quote currency (≥ 0). */
  readonly fee: number;
  /** The intent this fill belongs to (its `key`); null for fills the strategy did not ask for. */
  readonly key: string | null;
}

/** The strategy's view of one symbol's position (built from fills only). */
export interface PositionView {
  readonly side: "long" | "short";
  readonly qty: number;
  readonly entry_price: number;
  readonly entry_ts_ms: number;
}

/** A stop for the day (daily loss or drawdown breached): the health endpoint shows `reason`. */
export interface Halt {
  readonly symbol: string;
  /** e.g. "max_daily_loss: -52.10 USDT < -50 USDT (2026-12-04)". */
  readonly reason: string;
  readonly since_ts_ms: number;
  /** UTC day (YYYY-MM-DD) the halt belongs to; trading resumes at the next day. */
  readonly day: string;
}

export interface Strategy {
  /**
   * One row of a symbol, in the engine's order. Returns the intents it causes (often none). Rows of
   * kinds the strategy does not use are ignored.
   */
  onRow(kind: RowKind, row: Row): readonly Intent[];
  /** A fill of one of its intents (or an external one: the position follows fills only). */
  onFill(fill: Fill): void;
  /**
   * The intent `key` will get no (more) fills: rejected, cancelled or expired. Unfilled entries are
   * forgotten; an unfilled exit is asked again on the next row. `sent = false` (default true): the
   * executor refused it before sending anything (a limit or a halt of its own, out of sync, shutting
   * down): it takes no place in the strategy's `max_orders_per_min`, which counts orders sent.
   */
  onIntentDone(symbol: string, key: string, sent?: boolean): void;
  /**
   * A halt the executor decided for a symbol and UTC day (the testnet trader's kill switch on the
   * venue's figures, or a halt of the day restored at a restart): the strategy keeps it as its own —
   * no entry for the symbol until `day` ends (skip reason `halted`), an open position closed
   * (`risk_halt`). A halt of a day the strategy has already left is ignored.
   */
  onHalt(halt: Halt): void;
  /** Exit intents for every open position (shutdown / end of input); the executor fills them. */
  flatten(symbol: string, tsMs: number): readonly Intent[];
  position(symbol: string): PositionView | null;
  /** The symbols whose trading is stopped for the day (limits are per symbol), with the reason. */
  halts(): readonly Halt[];
  /** Receives every entry decision, taken or skipped (set once, before the first row). */
  onDecision: ((d: SignalDecision) => void) | null;
  /** Optional model filter (issue 14). */
  filter: SignalFilter | null;
}
