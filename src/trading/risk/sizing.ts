/**
 * Entry size (quote notional) by `risk.sizing`, capped by `max_position_notional`. Pure functions:
 * the strategy passes what it knows at the signal.
 */
import type { RiskParams } from "./params.ts";

/** The symbol's closed round trips so far (net of fees), for Kelly. */
export interface TradeRecord {
  readonly trades: number;
  readonly wins: number;
  /** Sum of winning trades' net PnL (> 0) and of losing trades' |net PnL|. */
  readonly winSum: number;
  readonly lossSum: number;
}

export interface SizingInput {
  /** ATR in bps; null while warming up (vol_target then uses `notional_usdt`). */
  readonly atrBps: number | null;
  /** The model filter's win probability, when a filter is installed. */
  readonly probability: number | null;
  /** Payoff ratio b (average win / average loss) to assume without enough trades: last target / stop. */
  readonly priorPayoff: number | null;
  readonly record: TradeRecord;
}

/** Kelly fraction f* = p − (1 − p) / b (p: win probability, b: average win / average loss). */
export function kellyFraction(p: number, b: number): number {
  return p - (1 - p) / b;
}

/** The entry notional in quote currency; 0 means do not enter (Kelly sees no edge). */
export function entryNotional(r: RiskParams, x: SizingInput): number {
  let notional: number;
  switch (r.sizing) {
    case "fixed":
      notional = r.notional_usdt;
      break;
    case "vol_target":
      notional = x.atrBps !== null && x.atrBps > 0 ? (r.notional_usdt * r.vol_target_bps) / x.atrBps : r.notional_usdt;
      break;
    case "kelly_capped": {
      const rec = x.record;
      const haveRecord = rec.trades >= r.kelly_min_trades && rec.wins > 0 && rec.wins < rec.trades;
      const p = x.probability ?? (haveRecord ? rec.wins / rec.trades : null);
      const b = haveRecord ? rec.winSum / rec.wins / (rec.lossSum / (rec.trades - rec.wins)) : x.priorPayoff;
      if (p === null || b === null || !(b > 0)) {
        notional = r.notional_usdt;
        break;
      }
      const f = kellyFraction(p, b);
      notional = f > 0 ? r.capital_usdt * Math.min(r.kelly_fraction * f, r.kelly_cap) : 0;
      break;
    }
  }
  return Math.min(notional, r.max_position_notional);
}
