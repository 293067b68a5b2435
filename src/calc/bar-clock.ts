/**
 * The clock of docs/indicators.md §15.12, shared by divergence bars and feature seconds: boundaries
 * τ_k = k·barMs from the first whole bar ≥ the first event; each stream records its values for bar k
 * when it passes τ_k (its first event with ts_eff > τ_k); a bar is complete once both streams have
 * recorded it; at end of input every bar up to the first boundary ≥ the newest event is closed.
 * What is recorded is the owner's business (the callbacks); the clock only decides when.
 */
export interface BarRecorder {
  /** The first bar is k: position the owner's rings there. */
  onStart(k: number): void;
  /** Record the book stream's values for the bar being closed. */
  closeBook(): void;
  /** Record the trade stream's values for the bar being closed. */
  closeTrade(): void;
}

export class BarClock {
  /** First bar; NaN before `start`. */
  k0 = Number.NaN;
  /** Next bar each stream has not recorded yet. */
  bookK = Number.NaN;
  tradeK = Number.NaN;
  /** Next complete bar the owner has not consumed yet (the owner advances it). */
  nextK = Number.NaN;
  /** Newest ts_eff seen per stream. */
  bookTs = Number.NEGATIVE_INFINITY;
  tradeTs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly barMs: number,
    private readonly rec: BarRecorder,
  ) {}

  get started(): boolean {
    return this.k0 === this.k0;
  }

  start(tsEff: number): void {
    if (this.started) return;
    const k = Math.ceil(tsEff / this.barMs);
    this.k0 = this.bookK = this.tradeK = this.nextK = k;
    this.rec.onStart(k);
  }

  /** The book stream reached `tsEff`: it records every bar boundary before it. */
  passBook(tsEff: number): void {
    if (tsEff > this.bookTs) this.bookTs = tsEff;
    while (this.bookK * this.barMs < tsEff) {
      this.rec.closeBook();
      this.bookK++;
    }
  }

  passTrade(tsEff: number): void {
    if (tsEff > this.tradeTs) this.tradeTs = tsEff;
    while (this.tradeK * this.barMs < tsEff) {
      this.rec.closeTrade();
      this.tradeK++;
    }
  }

  /** End (exclusive) of the bars both streams have recorded. */
  completeEnd(): number {
    return Math.min(this.bookK, this.tradeK);
  }

  /** End of input: closes both streams up to the first boundary ≥ the newest event; returns the end (exclusive). */
  closeAll(): number {
    const kLast = Math.ceil(Math.max(this.bookTs, this.tradeTs) / this.barMs);
    while (this.bookK <= kLast) {
      this.rec.closeBook();
      this.bookK++;
    }
    while (this.tradeK <= kLast) {
      this.rec.closeTrade();
      this.tradeK++;
    }
    return kLast + 1;
  }
}
