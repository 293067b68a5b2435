/**
 * Cost control: a signal is worth taking only if its expected edge pays for the round trip, i.e. a
 * taker fee on entry and on exit plus the spread crossed (buying at the ask and selling at the bid
 * costs one spread), plus an optional margin. All in bps of the notional.
 */
import type { RiskParams } from "./params.ts";

export interface CostCheck {
  readonly pass: boolean;
  readonly edge_bps: number;
  readonly cost_bps: number;
}

/**
 * Expected edge: with a model probability p, p·target − (1 − p)·stop (what a trade between the target
 * and the stop is expected to make); without one, `edge_bps_per_score × |score|`.
 */
export function expectedEdgeBps(r: RiskParams, absScore: number, probability: number | null, targetBps: number, stopBps: number): number {
  if (probability !== null && targetBps > 0 && stopBps > 0) return probability * targetBps - (1 - probability) * stopBps;
  return r.cost.edge_bps_per_score * absScore;
}

export function costCheck(r: RiskParams, edgeBps: number, takerBps: number, spreadBps: number): CostCheck {
  const cost = 2 * takerBps + spreadBps + r.cost.margin_bps;
  return { pass: !r.cost.enable || edgeBps >= cost, edge_bps: edgeBps, cost_bps: cost };
}
