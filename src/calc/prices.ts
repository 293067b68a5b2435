/**
 * Inputs of the raw prices row (docs/indicators.md §4, §15.4) that need state or care: the best fills
 * from recent valid books (`row_id` is core/row-id.ts, computed by the sinks).
 */

/**
 * Recent valid books (§15.4: first, time-gap or normal), in processing order, by raw `ts_ms`.
 * aggTrade frames arrive ~100–150 ms after their `T`, so the latest book is often later than the
 * trade; the fill comes from the most recently processed valid book whose raw ts_ms ≤ the trade's.
 * 256 books at 100 ms cover 25 s of lateness, far beyond what the stream shows.
 */
export class ValidBookRing {
  private readonly ts: Float64Array;
  private readonly bid: Float64Array;
  private readonly ask: Float64Array;
  private head = 0; // next write position
  private n = 0;
  /** Result of the last `find`: the book's best ask / best bid. */
  bestAsk = Number.NaN;
  bestBid = Number.NaN;

  constructor(readonly capacity = 256) {
    this.ts = new Float64Array(capacity);
    this.bid = new Float64Array(capacity);
    this.ask = new Float64Array(capacity);
  }

  push(tsMs: number, bestBid: number, bestAsk: number): void {
    const i = this.head;
    this.ts[i] = tsMs;
    this.bid[i] = bestBid;
    this.ask[i] = bestAsk;
    this.head = i + 1 === this.capacity ? 0 : i + 1;
    if (this.n < this.capacity) this.n++;
  }

  /** Finds the book for a trade at raw `tsMs`; false (fills null) when none is held. */
  find(tsMs: number): boolean {
    const cap = this.capacity;
    let j = this.head;
    for (let k = 0; k < this.n; k++) {
      j = j === 0 ? cap - 1 : j - 1;
      if (this.ts[j] <= tsMs) {
        this.bestAsk = this.ask[j];
        this.bestBid = this.bid[j];
        return true;
      }
    }
    return false;
  }
}
