/**
 * Options docs/indicators.md defines but this build does not implement (§15.13 there: a configuration
 * naming one is rejected by `validate` with a clear message, never silently ignored).
 *
 * Not built:
 * - `cvd.activity_adapt = true` — the original's activity adaptation (§6.2, D9): off by default,
 *   under-specified (how the reduced fast weight is renormalised is not stated).
 * - `ofi.weights = "pca"` — integrated OFI (§5.2): rejected by the parameter schema itself with a
 *   "not built" message (config/indicator-params.ts), since the value is not a weight list.
 *
 * The calculators of fusion.ts and divergence.ts own their unbuilt options (`fusion.trigger = "both"`,
 * `divergence.method = "pivot"`); their checks are folded in here so the validator gets one list.
 */
import type { IndicatorParams } from "./params.ts";
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
      message: "CVD activity adaptation (docs/indicators.md §6.2, D9) is not built in this version; set it to false",
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

/** Throws `NotBuiltError` listing every unbuilt option `params` selects. */
export function assertSupported(params: IndicatorParams): void {
  const problems = notBuilt(params);
  if (problems.length > 0) throw new NotBuiltError(problems);
}
