/**
 * The `[report]` section of config.toml: evaluation settings of `harvestd report`
 * (docs/indicators.md §12; names in brackets are that section's).
 */
import { z } from "zod";
import type { FeeTier } from "../trading/paper/params.ts";
import type { RiskParams } from "../trading/risk/params.ts";
import type { StrategyParams } from "../trading/strategy/params.ts";

export const ReportParamsSchema = z
  .strictObject({
    /** Forward-return horizons in seconds [EVAL_HORIZONS_S]. */
    horizons_s: z
      .array(z.number().int().positive().max(86_400))
      .min(1)
      .refine((h) => new Set(h).size === h.length, "horizons must not repeat")
      .default([1, 5, 10, 30, 60, 300]),
    /** The horizon the §12.3 acceptance verdict is taken at. */
    primary_horizon_s: z.number().int().positive().default(10),
    /** |z| threshold of the OFI-alone and CVD-alone signals [Z_SIG]. */
    z_sig: z.number().positive().default(2.0),
    /** |r_H| at or below this is a flat, excluded from hit rates [EVAL_FLAT_BPS]. */
    flat_bps: z.number().nonnegative().default(0),
    /** IC periods: "day", "hour", or "auto" (day when the data spans at least 3 UTC days, else hour). */
    ic_period: z.enum(["auto", "day", "hour"]).default("auto"),
    /** A period with fewer grid samples than this gets no IC. */
    ic_min_samples: z.number().int().min(3).default(30),
  })
  .refine((r) => r.horizons_s.includes(r.primary_horizon_s), { message: "primary_horizon_s must be one of horizons_s", path: ["primary_horizon_s"] });

export type ReportParams = Readonly<z.infer<typeof ReportParamsSchema>>;

/** What a report reads of the configuration: its own section, the folders, the fee table and tier. */
export interface ReportConfig {
  readonly report: ReportParams;
  readonly storage: { readonly output_dir: string; readonly preview_dir: string; readonly artifacts_dir: string };
  readonly paper: { readonly fee_tiers: Readonly<Record<string, FeeTier>> };
  readonly regime: { readonly fee_tier: string };
  /** The shared strategy's rules and risk settings: the A/B section re-simulates its paper trades. */
  readonly strategy: StrategyParams;
  readonly risk: RiskParams;
  /** The model in use: its training range tells whether the A/B period is out of sample. */
  readonly model: { readonly path: string };
}
