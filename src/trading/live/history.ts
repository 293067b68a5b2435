/**
 * What a trader starting on an account (a restart, a crash, a lease takeover) learns from the venue's
 * trade list of a symbol: when the position it adopts was opened, and the day's realised PnL the kill
 * switch has to start from (docs/trading.md, "Restarts").
 */
import type { VenueTrade } from "../../core/execution.ts";
import { utcDay } from "../risk/limits.ts";

const EPS = 1e-9;

/**
 * Venue time of the fill that opened the current position `pos` (signed): walking the trades back
 * from the newest, the one before which the position was flat or on the other side. null when the
 * trades given do not reach back that far (or do not add up to the position).
 */
export function positionOpenedAt(pos: number, trades: readonly VenueTrade[]): number | null {
  if (Math.abs(pos) <= EPS) return null;
  const sorted = [...trades].sort((a, b) => a.id - b.id);
  let rest = pos;
  for (let i = sorted.length - 1; i >= 0; i--) {
    const t = sorted[i]!;
    const before = Math.round((rest - (t.side === "BUY" ? t.qty : -t.qty)) * 1e9) / 1e9;
    if (Math.abs(before) <= EPS || Math.sign(before) !== Math.sign(pos)) return t.time;
    rest = before;
  }
  return null;
}

/**
 * The trades of several reads of the list (the latest page at start, the trades after it read since),
 * each once, oldest first: what `positionOpenedAt` walks back through without asking again.
 */
export function joinTrades(...pages: readonly (readonly VenueTrade[])[]): VenueTrade[] {
  const byId = new Map<number, VenueTrade>();
  for (const page of pages) for (const t of page) byId.set(t.id, t);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** The trades of a UTC day, oldest first, and whether earlier ones of that day may be missing. */
export interface DayTrades {
  readonly trades: VenueTrade[];
  readonly complete: boolean;
}

/** The trades of the UTC day of `nowMs` in a page of `pageSize` at most (a full page may have been cut). */
export function tradesOfDay(trades: readonly VenueTrade[], nowMs: number, pageSize: number): DayTrades {
  const day = utcDay(nowMs);
  const sorted = [...trades].sort((a, b) => a.id - b.id);
  const today = sorted.filter((t) => utcDay(t.time) === day);
  // A full page whose oldest trade is already of this day may have been cut.
  const complete = sorted.length < pageSize || (sorted.length > 0 && utcDay(sorted[0]!.time) !== day);
  return { trades: today, complete };
}
