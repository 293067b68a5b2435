/**
 * Average true range of trade prices over fixed event-time bars (Wilder's smoothing), in bps of the
 * last close. Bars are aligned to multiples of `barMs`; a bar without trades repeats the previous
 * close (true range 0 once the previous close is known), so quiet markets shrink the ATR as they should.
 */
export class Atr {
  private barStart = Number.NaN;
  private high = 0;
  private low = 0;
  private close = Number.NaN;
  private prevClose = Number.NaN;
  private atr = Number.NaN;
  private bars = 0;
  private sumTr = 0;

  constructor(
    private readonly barMs: number,
    private readonly period: number,
  ) {}

  /** A trade at event time `tsMs` (non-decreasing per symbol; an older one joins the current bar). */
  onTrade(tsMs: number, price: number): void {
    const start = Math.floor(tsMs / this.barMs) * this.barMs;
    if (Number.isNaN(this.barStart)) {
      this.open(start, price);
      return;
    }
    if (start > this.barStart) {
      this.closeBar();
      // Empty bars between: each has true range |close − prevClose| = 0 after the first.
      const empty = Math.min((start - this.barStart) / this.barMs - 1, this.period);
      for (let i = 0; i < empty; i++) this.addTr(0);
      this.open(start, price);
      return;
    }
    if (price > this.high) this.high = price;
    if (price < this.low) this.low = price;
    this.close = price;
  }

  /** ATR in bps of the last close; null until `period` bars have closed. */
  bps(): number | null {
    return this.bars >= this.period && this.close > 0 ? (this.atr / this.close) * 1e4 : null;
  }

  private open(start: number, price: number): void {
    this.barStart = start;
    this.high = price;
    this.low = price;
    this.close = price;
  }

  private closeBar(): void {
    const pc = this.prevClose;
    const tr = Number.isNaN(pc) ? this.high - this.low : Math.max(this.high, pc) - Math.min(this.low, pc);
    this.prevClose = this.close;
    this.addTr(tr);
  }

  private addTr(tr: number): void {
    this.bars++;
    if (this.bars <= this.period) {
      this.sumTr += tr;
      if (this.bars === this.period) this.atr = this.sumTr / this.period;
    } else {
      this.atr += (tr - this.atr) / this.period;
    }
  }
}
