/**
 * The `[indicators]` section of config.toml: custom indicator modules (docs/indicators-custom.md).
 *
 *   [[indicators.custom]]
 *   name = "vwap_dev"                 # optional; default: the module's own name
 *   module = "indicators/vwap-dev.ts" # relative to the config file
 *   params = { window_sec = 30 }      # handed to the module as ctx.params
 *
 * Only the shape is checked here; loading the module and checking its name, columns and params is
 * load.ts's job (it needs the file).
 */
import { z } from "zod";
import { MAX_NAME_LENGTH, NAME_PATTERN } from "./contract.ts";

export const CustomIndicatorSchema = z.strictObject({
  /** The kind becomes `custom_<name>`; lets one module run twice with different params. */
  name: z
    .string()
    .regex(NAME_PATTERN, "must match [a-z][a-z0-9_]* (it becomes the kind custom_<name>)")
    .max(MAX_NAME_LENGTH, `at most ${MAX_NAME_LENGTH} characters`)
    .optional(),
  /** Path of a .ts, .js or .mjs file; relative paths are relative to the config file (config/load.ts). */
  module: z
    .string()
    .min(1, "must not be empty")
    .regex(/\.(ts|mts|js|mjs)$/, "must be a .ts, .mts, .js or .mjs file"),
  params: z.record(z.string(), z.unknown()).default({}),
});

export const IndicatorsParamsSchema = z.strictObject({
  custom: z
    .array(CustomIndicatorSchema)
    .refine((list) => {
      const named = list.map((c) => c.name).filter((n) => n !== undefined);
      return new Set(named).size === named.length;
    }, "indicator names must not repeat")
    .default([]),
});

export type CustomIndicatorEntry = Readonly<z.infer<typeof CustomIndicatorSchema>>;
export type IndicatorsParams = Readonly<z.infer<typeof IndicatorsParamsSchema>>;
