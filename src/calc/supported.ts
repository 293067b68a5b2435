/**
 * Options the spec defines but this build does not implement (indicators.md §15.13: a configuration
 * naming one is rejected by `validate` with a clear message, never silently ignored).
 *
 * Not built:
 * - `cvd.activity_adapt = true` — the original's activity adaptation (§6.2, D9): off by default,
 *   under-specified (how the reduced fast weight is renormalised is not stated).
 * - `ofi.weights = "pca"` — integrated OFI (§5.2). The parameter schema only accepts a numeric array,
 *   so zod rejects the string with a type error; `notBuiltRaw` lets the config validator give the
 *   "not built" message instead, before parsing.
 *
 * The calculators of fusion.ts and divergence.ts own their unbuilt options (`fusion.trigger = "both"`,
 * `divergence.method = "pivot"`); their checks are folded in here so the validator gets one list.
 */
import type { IndicatorParams } from "../config/indicator-params.ts";
import { assertDivergenceSupported } from "./divergence.ts";
import { assertFusionSupported } from "./fusion.ts";

export interface NotBuilt {
  /** Config key path, e.g. `cvd.activity_adapt`. */
  readonly path: string;
  readonly message: string;
}

export class NotBuiltError extends Error {
  constructor(readonly problems: readonly NotBuilt[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join("; "));
    this.name = "NotBuiltError";
  }
}

/** Every unbuilt option `params` selects (empty when all are built). */
export function notBuilt(params: IndicatorParams): NotBuilt[] {
  const out: NotBuilt[] = [];
  if (params.cvd.activity_adapt) {
    out.push({
      path: "cvd.activity_adapt",
      message: "CVD activity adaptation (indicators.md §6.2, D9) is not built in this version; set it to false",
    });
  }
  fold(out, "fusion.trigger", () => assertFusionSupported(params));
  fold(out, "divergence.method", () => assertDivergenceSupported(params));
  return out;
}

function fold(out: NotBuilt[], path: string, check: () => void): void {
  try {
    check();
  } catch (e) {
    out.push({ path, message: e instanceof Error ? e.message : String(e) });
  }
}

/** Unbuilt options visible only before schema parsing (values the schema cannot represent). */
export function notBuiltRaw(raw: { readonly ofi?: unknown }): NotBuilt[] {
  const ofi = raw.ofi;
  if (typeof ofi === "object" && ofi !== null && (ofi as { weights?: unknown }).weights === "pca") {
    return [
      {
        path: "ofi.weights",
        message: 'OFI weights "pca" (integrated OFI, indicators.md §5.2) is not built in this version; give numeric weights',
      },
    ];
  }
  return [];
}

/** Throws `NotBuiltError` listing every unbuilt option `params` selects. */
export function assertSupported(params: IndicatorParams): void {
  const problems = notBuilt(params);
  if (problems.length > 0) throw new NotBuiltError(problems);
}
