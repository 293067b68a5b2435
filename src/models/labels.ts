/**
 * Triple-barrier labels by paper trading's own exit rules (docs/strategy.md): the shared strategy's
 * fixed stop, tiered take-profit (the last tier is the target) and time stop, evaluated on each trade's
 * exit fill, each exit filled at the NEXT trade's book as the paper executor fills it, with the taker
 * fee on every leg. The label is whether the round trip's net PnL is positive.
 *
 * What a label leaves out on purpose: the ATR stop, hysteresis (fade), reversals and risk halts depend
 * on the strategy's running state and on later signals, not on the signal being judged (meta-labelling
 * judges one signal with fixed barriers). test/unit/models-labels.test.ts runs the real strategy and
 * paper executor with those exits off and checks every label against their round trips.
 */
import type { StrategyParams } from "../trading/strategy/params.ts";

export interface Label {
  /** Net PnL > 0. */
  readonly win: boolean;
  /** Net return of the round trip, bps of the entry notional. */
  readonly retBps: number;
  readonly entryTsMs: number;
  /** End of the label window: the last exit fill's trade time. */
  readonly exitTsMs: number;
  /** Reason of the exit that flattened: "stop", "target", "time". */
  readonly reason: string;
}

export interface BarrierParams {
  readonly stopBps: number;
  readonly takeProfit: readonly { readonly at_bps: number; readonly fraction: number }[];
  /** 0 = no time stop. */
  readonly maxHoldMs: number;
  readonly takerBps: number;
  readonly feeTier: string;
}

export function barrierParams(s: Pick<StrategyParams, "stop_bps" | "take_profit" | "max_hold_sec">, takerBps: number, feeTier: string): BarrierParams {
  return { stopBps: s.stop_bps, takeProfit: s.take_profit, maxHoldMs: s.max_hold_sec * 1000, takerBps, feeTier };
}

/** The columns of one symbol's prices rows, in agg_trade_id order (every row: the executor sees all). */
export interface PriceSeries {
  readonly tsMs: Float64Array;
  /** NaN where the trade had no valid book. */
  readonly buyFill: Float64Array;
  readonly sellFill: Float64Array;
}

const QTY_EPS = 1e-9;

/**
 * The label of a signal fired by the trade at index `signalIndex` (its fusion row follows that
 * trade's prices row); null when the data ends before the position is flat (dropped, never guessed).
 */
export function tripleBarrierLabel(side: "buy" | "sell", prices: PriceSeries, signalIndex: number, b: BarrierParams): Label | null {
  const long = side === "buy";
  const sign = long ? 1 : -1;
  const n = prices.tsMs.length;
  let k = signalIndex + 1;
  while (k < n && !(prices.buyFill[k] === prices.buyFill[k] && prices.sellFill[k] === prices.sellFill[k])) k++;
  if (k >= n) return null;
  const entry = long ? prices.buyFill[k] : prices.sellFill[k];
  const entryTs = prices.tsMs[k];
  let net = -(entry * b.takerBps) / 1e4;
  let qty = 1;
  let tiersDone = 0;
  /** An exit decided on an earlier trade, filled at the next trade with a book. */
  let pending: { qty: number; reason: string } | null = null;
  for (; k < n; k++) {
    const buy = prices.buyFill[k];
    const sell = prices.sellFill[k];
    if (!(buy === buy && sell === sell)) continue;
    const px = long ? sell : buy;
    if (pending !== null) {
      const q = Math.min(pending.qty, qty);
      net += sign * q * (px - entry) - (q * px * b.takerBps) / 1e4;
      qty -= q;
      const reason = pending.reason;
      pending = null;
      if (qty <= QTY_EPS) return { win: net > 0, retBps: (net / entry) * 1e4, entryTsMs: entryTs, exitTsMs: prices.tsMs[k], reason };
    }
    const move = (sign * (px - entry)) / entry * 1e4;
    if (b.stopBps > 0 && move <= -b.stopBps) {
      pending = { qty, reason: "stop" };
      continue;
    }
    let reached = tiersDone;
    while (reached < b.takeProfit.length && move >= b.takeProfit[reached].at_bps) reached++;
    if (reached > tiersDone) {
      const last = reached === b.takeProfit.length;
      let share = 0;
      for (let i = 0; i < reached; i++) share += b.takeProfit[i].fraction;
      const q = last ? qty : qty - Math.max(0, 1 - share);
      tiersDone = reached;
      if (q > QTY_EPS) {
        pending = { qty: q, reason: last ? "target" : `tp${reached}` };
        continue;
      }
    }
    if (b.maxHoldMs > 0 && prices.tsMs[k] - entryTs >= b.maxHoldMs) pending = { qty, reason: "time" };
  }
  return null;
}
