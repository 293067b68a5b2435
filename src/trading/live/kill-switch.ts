/**
 * The trader's own loss limits per symbol, from what the venue reports (fills' realised PnL and
 * commissions, and the open position's unrealised PnL), independent of the strategy's bookkeeping:
 * a UTC day's loss beyond `max_daily_loss`, or a fall of more than `max_drawdown_pct` from the peak
 * of `capital_usdt` + PnL, trips it. A tripped symbol stays stopped until the next UTC day.
 */

export interface LossLimits {
  readonly max_daily_loss: number;
  readonly max_drawdown_pct: number;
  readonly capital_usdt: number;
}

export const utcDayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export class KillSwitch {
  private day = "";
  private dayRealized = 0;
  private realized = 0;
  private unrealized = 0;
  private peak: number;
  private tripped: { reason: string; day: string; since: number } | null = null;

  constructor(
    readonly symbol: string,
    private readonly limits: LossLimits,
  ) {
    this.peak = limits.capital_usdt;
  }

  /** A fill's realised PnL minus its commission. */
  realize(nowMs: number, amount: number): void {
    this.roll(nowMs);
    this.realized += amount;
    this.dayRealized += amount;
  }

  setUnrealized(amount: number): void {
    this.unrealized = amount;
  }

  dayPnl(nowMs: number): number {
    this.roll(nowMs);
    return this.dayRealized + this.unrealized;
  }

  totalPnl(): number {
    return this.realized + this.unrealized;
  }

  drawdownPct(): number {
    const equity = this.limits.capital_usdt + this.totalPnl();
    if (equity > this.peak) this.peak = equity;
    return this.peak > 0 ? ((this.peak - equity) / this.peak) * 100 : 0;
  }

  /** Checks the limits; returns the reason when this call trips the switch. */
  check(nowMs: number): string | null {
    if (this.halted(nowMs)) return null;
    const day = this.dayPnl(nowMs);
    const dd = this.drawdownPct();
    let reason: string | null = null;
    const l = this.limits;
    if (l.max_daily_loss > 0 && day < -l.max_daily_loss) reason = `max_daily_loss: ${day.toFixed(2)} USDT < -${l.max_daily_loss} USDT (${this.day})`;
    else if (l.max_drawdown_pct > 0 && dd > l.max_drawdown_pct) reason = `max_drawdown_pct: ${dd.toFixed(2)} % > ${l.max_drawdown_pct} % (${this.day})`;
    if (reason !== null) this.trip(nowMs, reason);
    return reason;
  }

  trip(nowMs: number, reason: string): void {
    this.tripped = { reason, day: utcDayOf(nowMs), since: nowMs };
  }

  /** The halt in force (null once its UTC day is over). */
  halt(nowMs: number): { reason: string; since: number } | null {
    return this.halted(nowMs) ? this.tripped : null;
  }

  halted(nowMs: number): boolean {
    if (this.tripped !== null && this.tripped.day !== utcDayOf(nowMs)) this.tripped = null;
    return this.tripped !== null;
  }

  private roll(nowMs: number): void {
    const d = utcDayOf(nowMs);
    if (d !== this.day) {
      this.day = d;
      this.dayRealized = 0;
    }
  }
}
