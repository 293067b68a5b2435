/**
 * One symbol's risk book: realised PnL (fees included) per UTC day and in total, the equity peak for
 * the drawdown limit, the order rate, and the halt ("flatten and stop for the day") with its reason.
 * Event time only (the rows' ts_ms), so paper, testnet and replay agree.
 */
import type { Halt } from "../strategy/contract.ts";
import type { RiskParams } from "./params.ts";
import type { TradeRecord } from "./sizing.ts";

const DAY_MS = 86_400_000;
const ORDER_WINDOW_MS = 60_000;

export const utcDayStart = (tsMs: number): number => Math.floor(tsMs / DAY_MS) * DAY_MS;
export const utcDay = (tsMs: number): string => new Date(utcDayStart(tsMs)).toISOString().slice(0, 10);

export class RiskBook implements TradeRecord {
  private day = "";
  private dayNo = Number.NaN;
  private dayRealized = 0;
  private realized = 0;
  private peak: number;
  private halted: Halt | null = null;
  /** Event times of recent orders (a ring would be smaller; the limit keeps this list short). */
  private orders: number[] = [];
  trades = 0;
  wins = 0;
  winSum = 0;
  lossSum = 0;

  constructor(
    readonly symbol: string,
    private readonly r: RiskParams,
  ) {
    this.peak = r.capital_usdt;
  }

  /** A realised amount (a close's PnL, or a fee), quote currency. */
  realize(tsMs: number, amount: number): void {
    this.rollDay(tsMs);
    this.realized += amount;
    this.dayRealized += amount;
  }

  /** A closed round trip's net result, for Kelly sizing. */
  recordTrade(net: number): void {
    this.trades++;
    if (net > 0) {
      this.wins++;
      this.winSum += net;
    } else this.lossSum -= net;
  }

  /**
   * Checks the loss limits with the open position valued at `unrealized` (at its exit fill). Returns
   * the halt when this call breached a limit, else null (also while already halted).
   */
  check(tsMs: number, unrealized: number): Halt | null {
    this.rollDay(tsMs);
    if (this.halted !== null) return null;
    const equity = this.r.capital_usdt + this.realized + unrealized;
    if (equity > this.peak) this.peak = equity;
    const dayPnl = this.dayRealized + unrealized;
    let reason: string | null = null;
    if (this.r.max_daily_loss > 0 && dayPnl <= -this.r.max_daily_loss) {
      reason = `max_daily_loss: day PnL ${dayPnl.toFixed(2)} <= -${this.r.max_daily_loss}`;
    } else if (this.r.max_drawdown_pct > 0) {
      const ddPct = ((this.peak - equity) / this.peak) * 100;
      if (ddPct >= this.r.max_drawdown_pct) reason = `max_drawdown_pct: ${ddPct.toFixed(2)}% from peak ${this.peak.toFixed(2)} >= ${this.r.max_drawdown_pct}%`;
    }
    if (reason === null) return null;
    this.halted = { symbol: this.symbol, reason: `${this.symbol} ${reason}, flattened and stopped for ${this.day}`, since_ts_ms: tsMs, day: this.day };
    return this.halted;
  }

  /**
   * A halt decided outside this book for the UTC day of `tsMs` — one an earlier book of this symbol
   * recorded (a trader started again that day), or the strategy's own book tripped (the live
   * trader's) — in force until the day ends, as if this book had tripped it.
   */
  restoreHalt(tsMs: number, reason: string, sinceTsMs: number): void {
    this.rollDay(tsMs);
    // A halt of a day this book has already left is over.
    if (Math.floor(tsMs / DAY_MS) < this.dayNo) return;
    this.halted ??= { symbol: this.symbol, reason, since_ts_ms: sinceTsMs, day: this.day };
  }

  /** Day PnL, total PnL and the fall from the peak (percent), the open position at `unrealized` (status, metrics). */
  view(tsMs: number, unrealized: number): { readonly day_pnl: number; readonly total_pnl: number; readonly drawdown_pct: number } {
    this.rollDay(tsMs);
    const equity = this.r.capital_usdt + this.realized + unrealized;
    const peak = Math.max(this.peak, equity);
    return { day_pnl: this.dayRealized + unrealized, total_pnl: this.realized + unrealized, drawdown_pct: peak > 0 ? ((peak - equity) / peak) * 100 : 0 };
  }

  /** The halt in force at `tsMs` (a halt ends with its UTC day). */
  haltAt(tsMs: number): Halt | null {
    this.rollDay(tsMs);
    return this.halted;
  }

  /** The current halt without advancing the day (for status). */
  currentHalt(): Halt | null {
    return this.halted;
  }

  /** Whether `n` more orders fit `max_orders_per_min` at `tsMs`. */
  orderRoom(tsMs: number, n = 1): boolean {
    this.expireOrders(tsMs);
    return this.orders.length + n <= this.r.max_orders_per_min;
  }

  /** Orders in the last 60 s at `tsMs`. */
  ordersInWindow(tsMs: number): number {
    this.expireOrders(tsMs);
    return this.orders.length;
  }

  recordOrder(tsMs: number): void {
    this.expireOrders(tsMs);
    this.orders.push(tsMs);
  }

  /** Takes back one order recorded at `tsMs` that was never sent (the executor refused it first). */
  forgetOrder(tsMs: number): void {
    const i = this.orders.lastIndexOf(tsMs);
    if (i >= 0) this.orders.splice(i, 1);
  }

  private expireOrders(tsMs: number): void {
    let i = 0;
    while (i < this.orders.length && this.orders[i]! <= tsMs - ORDER_WINDOW_MS) i++;
    if (i > 0) this.orders.splice(0, i);
  }

  private rollDay(tsMs: number): void {
    // Called on every trade: compare the day number, format the date only when it changes. Never
    // back to an earlier day: a fill stamped in the past (a position adopted at a restart, opened
    // yesterday) must not end today's halt or restart today's PnL.
    const dayNo = Math.floor(tsMs / DAY_MS);
    if (dayNo <= this.dayNo) return;
    this.dayNo = dayNo;
    const day = utcDay(tsMs);
    if (this.day !== "" && this.halted !== null) {
      // A new day after a halt starts from where the account stands: the old peak would re-trip at once.
      this.halted = null;
      this.peak = this.r.capital_usdt + this.realized;
    }
    this.day = day;
    this.dayRealized = 0;
  }
}
