/**
 * The `[paper]` section of config.toml: simulated trading of the shared strategy (docs/research.md; its
 * rules are `[strategy]` and `[risk]`, docs/strategy.md) and the
 * fee table that `FEE_TIER` (`regime.fee_tier`) picks from, for paper trading and for the report's
 * "net of a round-trip fee" figures (docs/indicators.md §12.3). See docs/research.md.
 */
import { z } from "zod";

const bps = z.number().nonnegative().finite();

export const FeeTierSchema = z.strictObject({
  /** Fee of an order that takes liquidity, in basis points of the notional. */
  taker_bps: bps,
  /** Fee of an order that rests on the book, in basis points (may be 0). */
  maker_bps: bps,
});
export type FeeTier = Readonly<z.infer<typeof FeeTierSchema>>;

/**
 * Binance USDⓈ-M futures regular fee schedule (USDT-margined, without the 10 % BNB discount), as
 * published on binance.com ("Fee Schedule of Binance Futures", support article 360033544231, and
 * the fee-rate page it links). `TM` is the original harvester's default label (FEE_TIER=TM), which
 * it only carried as metadata; here it means the regular (VIP 0) taker/maker pair. Rates change:
 * the table is configuration, override it in `[paper.fee_tiers]`.
 */
export const DEFAULT_FEE_TIERS: Readonly<Record<string, FeeTier>> = {
  TM: { taker_bps: 5.0, maker_bps: 2.0 },
  VIP0: { taker_bps: 5.0, maker_bps: 2.0 },
  VIP1: { taker_bps: 4.0, maker_bps: 1.6 },
  VIP2: { taker_bps: 3.5, maker_bps: 1.4 },
  VIP3: { taker_bps: 3.2, maker_bps: 1.2 },
  VIP4: { taker_bps: 3.0, maker_bps: 1.0 },
  VIP5: { taker_bps: 2.7, maker_bps: 0.8 },
  VIP6: { taker_bps: 2.5, maker_bps: 0.6 },
};

/** Keys `[paper]` had before the shared strategy, and where they live now (docs/strategy.md). */
const MOVED: Readonly<Record<string, string>> = {
  notional_usdt: "risk.notional_usdt",
  stop_bps: "strategy.stop_bps",
  target_bps: "strategy.take_profit",
  max_hold_sec: "strategy.max_hold_sec",
};

const movedKeys = (iss: { code?: string; keys?: readonly string[] }): string | undefined => {
  if (iss.code !== "unrecognized_keys") return undefined;
  const moved = (iss.keys ?? []).filter((k) => Object.hasOwn(MOVED, k));
  if (moved.length === 0) return undefined;
  return moved.map((k) => `paper.${k} is now ${MOVED[k]} (docs/strategy.md)`).join("; ");
};

export const PaperParamsSchema = z.strictObject({
  enable: z.boolean().default(false),
  /** Fee tiers by name; `regime.fee_tier` (FEE_TIER) must name one of them. */
  fee_tiers: z.record(z.string().regex(/^[A-Za-z0-9_]{1,32}$/, "fee tier names are letters, digits and _"), FeeTierSchema).default({ ...DEFAULT_FEE_TIERS }),
}, { error: movedKeys });
export type PaperParams = Readonly<z.infer<typeof PaperParamsSchema>>;

/** The fee tier FEE_TIER names, or null when the table lacks it (the config schema rejects that). */
export function feeTierOf(fee_tiers: Readonly<Record<string, FeeTier>>, name: string): FeeTier | null {
  return Object.hasOwn(fee_tiers, name) ? fee_tiers[name]! : null;
}
