/**
 * The `[risk]` section: how large an entry is, the limits that stop a symbol's trading, and the cost
 * gate. Limits are per symbol (the testnet trader may override them per symbol in `trade.symbols`
 * with `RiskOverrideSchema`). docs/strategy.md explains each one.
 */
import { z } from "zod";

const nonneg = z.number().nonnegative().finite();
const positive = z.number().positive().finite();

export const SIZING_MODES = ["fixed", "vol_target", "kelly_capped"] as const;
export type SizingMode = (typeof SIZING_MODES)[number];

/** Every [risk] key without its default: the per-symbol overrides leave out what they do not set. */
const FIELDS = {
  /**
   * `fixed`: every entry is `notional_usdt`. `vol_target`: `notional_usdt × vol_target_bps / ATR bps`
   * (smaller when the market moves more). `kelly_capped`: `capital_usdt × min(kelly_fraction × f*,
   * kelly_cap)` with f* = p − (1 − p) / b from the symbol's own closed trades (or the model filter's
   * probability). Every mode is capped by `max_position_notional`.
   */
  sizing: z.enum(SIZING_MODES),
  /** Quote notional of an entry for `fixed`, and the base of `vol_target` (and of kelly's warm-up). */
  notional_usdt: positive,
  /** Capital the drawdown percentage and the Kelly fraction refer to (quote currency). */
  capital_usdt: positive,
  /** vol_target: the ATR (bps) at which an entry is exactly `notional_usdt`. */
  vol_target_bps: positive,
  /** kelly_capped: share of the full Kelly fraction used. */
  kelly_fraction: z.number().gt(0).max(1),
  /** kelly_capped: largest fraction of `capital_usdt` an entry may be. */
  kelly_cap: z.number().gt(0).max(1),
  /** kelly_capped: closed trades needed before f* is used; before, entries are `notional_usdt`. */
  kelly_min_trades: z.number().int().min(1),
  /** Largest open position (quote notional at entry); an entry is cut to fit. */
  max_position_notional: positive,
  /** Loss of a UTC day (realised + open, fees included, quote currency) that flattens and stops the symbol for the day; 0 = off. */
  max_daily_loss: nonneg,
  /** Fall from the peak of `capital_usdt` + PnL, in percent, that flattens and stops the symbol for the day; 0 = off. */
  max_drawdown_pct: z.number().min(0).max(100),
  /** Orders (entries and exits) in the last 60 s (event time) beyond which entries are skipped; exits always go. */
  max_orders_per_min: z.number().int().positive(),
};

/** `[risk.cost]`: a per-symbol override replaces the whole table (its keys not given take their defaults). */
const CostSchema = z.strictObject({
  /** Skip a signal whose expected edge is below fees plus the current spread (plus `margin_bps`). */
  enable: z.boolean().default(true),
  /**
   * Expected edge per unit of |fusion score|, in bps, when no model filter gives a probability.
   * Measured on the recordings (docs/strategy.md "Cost gate").
   */
  edge_bps_per_score: nonneg.default(2),
  /** Extra edge demanded above the cost, in bps. */
  margin_bps: nonneg.default(0),
});

export const RiskParamsSchema = z.strictObject({
  sizing: FIELDS.sizing.default("fixed"),
  notional_usdt: FIELDS.notional_usdt.default(1000),
  capital_usdt: FIELDS.capital_usdt.default(10000),
  vol_target_bps: FIELDS.vol_target_bps.default(10),
  kelly_fraction: FIELDS.kelly_fraction.default(0.5),
  kelly_cap: FIELDS.kelly_cap.default(0.2),
  kelly_min_trades: FIELDS.kelly_min_trades.default(20),
  max_position_notional: FIELDS.max_position_notional.default(5000),
  max_daily_loss: FIELDS.max_daily_loss.default(100),
  max_drawdown_pct: FIELDS.max_drawdown_pct.default(5),
  max_orders_per_min: FIELDS.max_orders_per_min.default(6),
  cost: CostSchema.prefault({}),
});
export type RiskParams = Readonly<z.infer<typeof RiskParamsSchema>>;

/**
 * Per-symbol overrides (for `trade.symbols`): any subset of the keys above, nothing filled in, so
 * `{ ...risk, ...override }` keeps the `[risk]` value of every key the symbol does not set.
 */
export const RiskOverrideSchema = z.strictObject({ ...FIELDS, cost: CostSchema }).partial();
export type RiskOverride = Readonly<z.infer<typeof RiskOverrideSchema>>;
