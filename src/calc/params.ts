/**
 * Indicator parameters: the `[ofi]`, `[cvd]`, `[fusion]`, `[divergence]` and `[regime]` sections of
 * config.toml. Defaults are those of docs/indicators.md (§5.6, §6.6, §7.4, §8.5, §9).
 * Calculators receive the parsed, readonly objects; they never read config files or the environment.
 */
import { z } from "zod";

const positive = z.number().positive();
const nonNegInt = z.number().int().nonnegative();
const posInt = z.number().int().positive();

export const OfiParamsSchema = z
  .strictObject({
    levels: z.number().int().min(1).max(5).default(5),
    /** Depth weights per level; normalised to sum 1 after clamping negatives to 0. */
    weights: z
      .array(z.number(), {
        // "pca" (integrated OFI, docs/indicators.md §5.2) is a documented option that is not built yet.
        error: (iss) => (iss.input === "pca" ? 'OFI weights "pca" (integrated OFI, docs/indicators.md §5.2) is not built in this version; give numeric weights' : undefined),
      })
      .min(1)
      .max(5)
      .default([0.4, 0.25, 0.2, 0.1, 0.05]),
    sum_window_ms: nonNegInt.default(0),
    depth_norm: z.boolean().default(false),
    z_window: z.number().int().min(2).default(80),
    /** Default max(5, z_window // 5), resolved in `resolveOfi`. */
    z_min_samples: z.number().int().min(2).optional(),
    std_floor: positive.default(1e-9),
    z_clip: positive.default(3.0),
    reset_gap_ms: posInt.default(2000),
    reset_on_utc_day: z.boolean().default(false),
  })
  .refine((o) => o.weights.some((w) => w > 0), { message: "all OFI weights are zero or negative", path: ["weights"] });

export const CvdParamsSchema = z.strictObject({
  z_mode: z.enum(["delta", "level"]).default("delta"),
  scale_mode: z.enum(["hybrid", "ewma"]).default("hybrid"),
  half_life_sec: positive.default(600),
  fast_half_life_sec: positive.default(60),
  scale_fast_weight: z.number().min(0).max(1).default(0.2),
  mad_window_trades: z.number().int().min(2).default(200),
  /** Default max(50, mad_window_trades // 5), resolved in `resolveCvd`. */
  mad_min_samples: posInt.optional(),
  mad_scale: positive.default(1.4826),
  mad_multiplier: z.number().nonnegative().default(1.8),
  winsor_limit: positive.default(8.0),
  freeze_min: posInt.default(20),
  stale_ms: posInt.default(5000),
  post_stale_freeze: nonNegInt.default(2),
  dt_min_ms: positive.default(1),
  scale_eps: positive.default(1e-12),
  activity_adapt: z.boolean().default(false),
  ewma_form: z.enum(["alpha", "event"]).default("alpha"),
  anchor: z.enum(["none", "utc_day"]).default("none"),
  units: z.enum(["base", "quote"]).default("base"),
  /** Level mode only: window of previous CVD levels. */
  z_window: z.number().int().min(2).default(150),
});

export const FusionParamsSchema = z.strictObject({
  w_ofi: z.number().nonnegative().default(0.6),
  w_cvd: z.number().nonnegative().default(0.4),
  z_clip: positive.default(4.0),
  cal_k: positive.default(1.0),
  /** FUSE_BUY: |score| threshold for buy/sell (sell = −threshold). */
  buy_threshold: positive.default(1.2),
  min_consistency: z.number().min(0).max(1).default(0.2),
  max_lag_ms: posInt.default(3000),
  trigger: z.enum(["trade", "both"]).default("trade"),
});

export const DivergenceParamsSchema = z.strictObject({
  method: z.enum(["slope", "pivot"]).default("slope"),
  bar_ms: posInt.default(1000),
  window_bars: z.number().int().min(3).default(60),
  min_trend: positive.default(1.0),
  price_source: z.enum(["mid", "last_trade"]).default("mid"),
  swing_l: posInt.default(12),
  min_sep: posInt.default(6),
  cooldown_ms: nonNegInt.default(1000),
  conflict_z_ofi: positive.default(1.5),
  conflict_z_cvd: positive.default(0.7),
  conflict_cooldown_ms: nonNegInt.default(1000),
});

export const RegimeParamsSchema = z.strictObject({
  win_secs: posInt.default(300),
  active_tps: positive.default(2.0),
  vol_split: z.number().min(0).max(1).default(0.5),
  vol_bar_ms: posInt.default(1000),
  vol_ref_sample_secs: posInt.default(60),
  vol_ref_horizon_secs: posInt.default(86400),
  vol_ref_min_samples: posInt.default(30),
  /** When set, replaces the quantile threshold (no warm-up). */
  vol_abs_threshold_bps: positive.optional(),
  scenario_scheme: z.literal("regime2x2").default("regime2x2"),
  /** Carried as metadata; picks fees in evaluation and paper trading. */
  fee_tier: z.string().min(1).default("TM"),
});

export type OfiParamsInput = z.infer<typeof OfiParamsSchema>;
export type OfiParams = Readonly<Omit<OfiParamsInput, "z_min_samples" | "weights">> & {
  readonly z_min_samples: number;
  /** Normalised weights, length `levels`. */
  readonly weights: readonly number[];
};
export type CvdParams = Readonly<Omit<z.infer<typeof CvdParamsSchema>, "mad_min_samples">> & {
  readonly mad_min_samples: number;
};
export type FusionParams = Readonly<z.infer<typeof FusionParamsSchema>>;
export type DivergenceParams = Readonly<z.infer<typeof DivergenceParamsSchema>>;
export type RegimeParams = Readonly<z.infer<typeof RegimeParamsSchema>>;

export interface IndicatorParams {
  readonly ofi: OfiParams;
  readonly cvd: CvdParams;
  readonly fusion: FusionParams;
  readonly divergence: DivergenceParams;
  readonly regime: RegimeParams;
}

/** Fills derived defaults and normalises the OFI weights (docs/indicators.md §5.2). */
export function resolveOfi(o: OfiParamsInput): OfiParams {
  const w = o.weights.slice(0, o.levels);
  while (w.length < o.levels) w.push(0);
  const clamped = w.map((x) => Math.max(x, 0));
  const sum = clamped.reduce((a, b) => a + b, 0);
  return {
    ...o,
    weights: clamped.map((x) => x / sum),
    z_min_samples: o.z_min_samples ?? Math.max(5, Math.floor(o.z_window / 5)),
  };
}

export function resolveCvd(c: z.infer<typeof CvdParamsSchema>): CvdParams {
  return { ...c, mad_min_samples: c.mad_min_samples ?? Math.max(50, Math.floor(c.mad_window_trades / 5)) };
}

/** Resolved parameters from (possibly partial) raw sections; used by the config loader and tests. */
export function indicatorParams(raw: {
  ofi?: unknown;
  cvd?: unknown;
  fusion?: unknown;
  divergence?: unknown;
  regime?: unknown;
} = {}): IndicatorParams {
  return {
    ofi: resolveOfi(OfiParamsSchema.parse(raw.ofi ?? {})),
    cvd: resolveCvd(CvdParamsSchema.parse(raw.cvd ?? {})),
    fusion: FusionParamsSchema.parse(raw.fusion ?? {}),
    divergence: DivergenceParamsSchema.parse(raw.divergence ?? {}),
    regime: RegimeParamsSchema.parse(raw.regime ?? {}),
  };
}
