/** How training picks its samples (`harvestd train --signals`). */
export type SignalRule = "fusion" | "strategy";
export const SIGNAL_RULES: readonly SignalRule[] = ["fusion", "strategy"];

/** Which fusion rows are samples: `onPrices` for every prices row, `onFusion` for every fusion row. */
export interface SignalPicker {
  onPrices(row: Row): void;
  onFusion(row: Row): "buy" | "sell" | null;
}

/**
 * The fusion signal itself (the and the original paper trader's rule): a fusion row whose
 * `signal` column changes to buy or sell.
 */
export class FusionSignalChanges implements SignalPicker {
  private last: unknown = null;
  onPrices(): void {}
  onFusion(row: Row): "buy" | "sell" | null {
    const s = row.signal;
    const prev = this.last;
    this.last = s;
    return s !== prev && (s === "buy" || s === "sell") ? s : null;
  }
}

/**
 * Which fusion rows are entry signals: the shared strategy's rule (trading/strategy/strategy.ts,
 * docs/strategy.md) — |score| above the regime's entry threshold, consistency above
 * `min_consistency`, not degraded unless allowed, and a change of side from the previous fusion row.
 * These are the signals the strategy asks the model filter about (after its own cooldown, spread and
 * cost gates), so the model is trained on the same kind of event it later judges.
 */
import type { Row } from "../core/rows.ts";
import type { Regime } from "../trading/strategy/contract.ts";
import type { StrategyParams } from "../trading/strategy/params.ts";

const REGIMES: ReadonlySet<string> = new Set(["A_H", "A_L", "Q_H", "Q_L"]);

export class EntrySignals implements SignalPicker {
  private regime: Regime | null = null;
  private lastSide: "buy" | "sell" | null = null;

  constructor(private readonly s: Pick<StrategyParams, "regimes" | "min_consistency" | "allow_degraded">) {}

  /** The regime as the strategy tracks it: prices rows carry it too. */
  onPrices(row: Row): void {
    const r = row.scenario_2x2;
    if (typeof r === "string" && REGIMES.has(r)) this.regime = r as Regime;
  }

  /** Every fusion row in order; returns the side when this row is an entry signal, else null. */
  onFusion(row: Row): "buy" | "sell" | null {
    const r = row.scenario_2x2;
    if (typeof r === "string" && REGIMES.has(r)) this.regime = r as Regime;
    const rule = this.regime === null ? null : this.s.regimes[this.regime];
    const score = row.score as number;
    const above = rule !== null && Math.abs(score) > rule.entry && (row.consistency as number) > this.s.min_consistency && (this.s.allow_degraded || row.degraded !== true);
    const side = above ? (score > 0 ? "buy" : "sell") : null;
    const edge = side !== null && side !== this.lastSide;
    this.lastSide = side;
    // a regime switched off still moves the edge, but the strategy never enters there
    return edge && rule!.enable ? side : null;
  }
}
