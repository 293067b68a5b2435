/**
 * The `[strategy]` section: when the shared strategy (strategy.ts) enters and leaves a position. One
 * set of rules for paper trading and the testnet; docs/strategy.md explains each rule and how the
 * original's per-regime thresholds map onto our fusion score.
 */
import { z } from "zod";
import type { Regime } from "./contract.ts";

const nonneg = z.number().nonnegative().finite();
const positive = z.number().positive().finite();

export interface RegimeRule {
  /** false: no entries while the symbol is in this regime (exits still run). */
  readonly enable: boolean;
  /** Enter when |score| > entry (long on +, short on −). Thresholds are in fusion-score (z) units. */
  readonly entry: number;
  /**
   * Hysteresis: leave when the score, signed in the position's direction, falls below −exit (the
   * flow has turned against the position by at least `exit`, a lower bar than a new entry).
   */
  readonly exit: number;
  /** No new entry within this many seconds (event time) of the symbol's last entry or exit. */
  readonly cooldown_sec: number;
  /** Spread gate: no entry while the book's spread is wider than this (bps of mid). */
  readonly max_spread_bps: number;
}

/**
 * The original's paper-simulator defaults (entry / exit / cooldown: Q_H 0.8/0.4/96 s, A_H 0.6/0.3/72 s,
 * A_L 0.55/0.28/72 s, Q_L 0.4/0.2/96 s) scaled onto our score: ×3 puts the loosest entry (Q_L 0.4)
 * at our fusion signal's own threshold (fusion.buy_threshold 1.2), so no regime enters where the
 * fusion row says neutral, and keeps the original's ratios between regimes and exit = entry / 2. The
 * spread gate is wider where volatility is high. See docs/strategy.md "Thresholds".
 */
export const STRATEGY_SCORE_SCALE = 3;
const scaled = (x: number) => Math.round(x * STRATEGY_SCORE_SCALE * 1000) / 1000;
export const DEFAULT_REGIME_RULES: Readonly<Record<Regime, RegimeRule>> = {
  Q_H: { enable: true, entry: scaled(0.8), exit: scaled(0.4), cooldown_sec: 96, max_spread_bps: 4 },
  A_H: { enable: true, entry: scaled(0.6), exit: scaled(0.3), cooldown_sec: 72, max_spread_bps: 4 },
  A_L: { enable: true, entry: scaled(0.55), exit: scaled(0.28), cooldown_sec: 72, max_spread_bps: 2 },
  Q_L: { enable: true, entry: scaled(0.4), exit: scaled(0.2), cooldown_sec: 96, max_spread_bps: 2 },
};

/** One regime's rules; each key defaults to that regime's own default, so a single key can be overridden. */
function regimeRuleSchema(d: RegimeRule) {
  return z
    .strictObject({
      enable: z.boolean().default(d.enable),
      entry: positive.default(d.entry),
      exit: nonneg.default(d.exit),
      cooldown_sec: nonneg.default(d.cooldown_sec),
      max_spread_bps: positive.default(d.max_spread_bps),
    })
    .refine((r) => r.exit < r.entry, { message: "exit must be below entry (hysteresis)", path: ["exit"] })
    .prefault({});
}

export const TakeProfitTierSchema = z.strictObject({
  /** Close when the position is this many bps in favour (at its exit fill). */
  at_bps: positive,
  /** Share of the position's opening quantity closed at this tier; the last tier closes the rest. */
  fraction: z.number().gt(0).max(1),
});

export const StrategyParamsSchema = z
  .strictObject({
    /** The fusion row's consistency must exceed this for an entry (the fusion signal's own gate). */
    min_consistency: z.number().min(0).max(1).default(0.2),
    /** Enter on degraded fusion rows (stale OFI: the score is the CVD z alone)? */
    allow_degraded: z.boolean().default(false),
    /**
     * Signal exits (fade, reverse) need the price at least this many bps away from the entry (either
     * way): a position is not flipped on noise. Stops, take-profit and the time stop do not wait.
     */
    min_reverse_move_bps: nonneg.default(8),
    /** Fixed stop: close when this many bps against the entry; 0 = off. */
    stop_bps: nonneg.default(30),
    /** Tiered take-profit, ascending `at_bps`; the last tier closes what is left (reason `target`). */
    take_profit: z
      .array(TakeProfitTierSchema)
      .max(8)
      .default([
        { at_bps: 20, fraction: 0.5 },
        { at_bps: 45, fraction: 1 },
      ])
      .refine((t) => t.every((x, i) => i === 0 || x.at_bps > t[i - 1]!.at_bps), "take_profit tiers must have ascending at_bps"),
    /** ATR stop: close when the price is `mult` ATRs against the entry. */
    atr: z
      .strictObject({
        /** Bar length (event time) of the true ranges, from trade prices. */
        bar_sec: z.number().int().positive().default(15),
        /** Wilder average over this many bars; the stop is off until it has them. */
        period: z.number().int().min(2).default(20),
        /** 0 = no ATR stop. */
        mult: nonneg.default(3),
      })
      .prefault({}),
    /** Time stop: close at the first trade this many seconds (event time) after the entry; 0 = off. */
    max_hold_sec: nonneg.default(600),
    regimes: z
      .strictObject({
        Q_H: regimeRuleSchema(DEFAULT_REGIME_RULES.Q_H),
        A_H: regimeRuleSchema(DEFAULT_REGIME_RULES.A_H),
        A_L: regimeRuleSchema(DEFAULT_REGIME_RULES.A_L),
        Q_L: regimeRuleSchema(DEFAULT_REGIME_RULES.Q_L),
      })
      .prefault({}),
  });
export type StrategyParams = Readonly<z.infer<typeof StrategyParamsSchema>>;
