/**
 * The `[model]` section of config.toml: a trained model file (docs/models.md) that filters or sizes
 * the strategy's entry signals in `run` and `replay`. Empty `path` = no model.
 */
import { z } from "zod";

export const ModelParamsSchema = z.strictObject({
  /** A model file written by `harvestd train` (e.g. models/NAME/model.json); "" = no model. */
  path: z.string().default(""),
  /** Probability a signal must reach to be taken ("filter"), or below which it is skipped ("size"). */
  threshold: z.number().min(0).max(1).default(0.6),
  /**
   * "filter": take a signal when p ≥ threshold, skip it otherwise. "size": skip below the threshold,
   * and above it scale the position by (p − threshold) / (1 − threshold) (full size at p = 1).
   */
  mode: z.enum(["filter", "size"]).default("filter"),
});
export type ModelParams = Readonly<z.infer<typeof ModelParamsSchema>>;
