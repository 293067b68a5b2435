/**
 * The full-depth book of one symbol: two ladders (ladder.ts), loaded from a REST snapshot and moved
 * forward by diff-depth events (absolute quantities; 0 removes the level).
 */
import { Ladder } from "./ladder.ts";
import type { BookSnapshot } from "./snapshot.ts";

export type ApplyResult = "ok" | "bad_level" | "crossed";

export class FullBook {
  readonly bids: Ladder;
  readonly asks: Ladder;
  /** `u` of the last diff applied, or the snapshot's lastUpdateId right after loading. */
  lastUpdateId = 0;

  constructor(maxLevels: number) {
    this.bids = new Ladder(true, maxLevels);
    this.asks = new Ladder(false, maxLevels);
  }

  /** Loads a snapshot; false when a side gives a price twice or a bad quantity (the snapshot is unusable). */
  load(s: BookSnapshot): boolean {
    const okB = this.bids.load(s.bidPx, s.bidQty, s.bidPx.length, s.bidPx.length < s.limit);
    const okA = this.asks.load(s.askPx, s.askQty, s.askPx.length, s.askPx.length < s.limit);
    this.lastUpdateId = s.lastUpdateId;
    return okB && okA;
  }

  /**
   * Applies one diff's levels (flat `[p0, q0, p1, q1, …]`). A level that does not parse, or a book
   * that ends up crossed, means the book can no longer be trusted: the caller resyncs. Levels are
   * checked before any is applied, so a bad diff leaves the book as it was.
   */
  apply(bids: Float64Array, asks: Float64Array, u: number): ApplyResult {
    if (!validLevels(bids) || !validLevels(asks)) return "bad_level";
    for (let i = 0; i < bids.length; i += 2) this.bids.set(bids[i]!, bids[i + 1]!);
    for (let i = 0; i < asks.length; i += 2) this.asks.set(asks[i]!, asks[i + 1]!);
    this.lastUpdateId = u;
    return this.crossed() ? "crossed" : "ok";
  }

  /** Best bid ≥ best ask (both sides non-empty). */
  crossed(): boolean {
    return this.bids.n > 0 && this.asks.n > 0 && this.bids.best() >= this.asks.best();
  }

  /** Writes the top `levels` of a side into `out` as flat `[p, q, …]`; returns the levels written. */
  static top(side: Ladder, levels: number, out: Float64Array): number {
    const m = Math.min(levels, side.n);
    for (let i = 0; i < m; i++) {
      out[2 * i] = side.priceAt(i);
      out[2 * i + 1] = side.qtyAt(i);
    }
    return m;
  }

  /**
   * Levels that differ between two versions of a side inside the window both know exactly (present
   * in one only, or with another quantity). 0 = the same book there.
   */
  static mismatches(a: Ladder, b: Ladder): number {
    const floor = Math.max(a.floorKey, b.floorKey);
    let i = 0;
    let j = 0;
    let diff = 0;
    // Walk both from the touch (keys descending) down to the common floor.
    while (i < a.n || j < b.n) {
      const ka = i < a.n ? a.keyAt(i) : Number.NEGATIVE_INFINITY;
      const kb = j < b.n ? b.keyAt(j) : Number.NEGATIVE_INFINITY;
      if (ka < floor && kb < floor) break;
      if (ka === kb) {
        if (a.qtyAt(i) !== b.qtyAt(j)) diff++;
        i++;
        j++;
      } else if (ka > kb) {
        diff++;
        i++;
      } else {
        diff++;
        j++;
      }
    }
    return diff;
  }

  bytes(): number {
    return this.bids.bytes() + this.asks.bytes();
  }
}

/** Every price > 0 and finite, every quantity ≥ 0 and finite (0 = remove). */
function validLevels(flat: Float64Array): boolean {
  for (let i = 0; i < flat.length; i += 2) {
    const p = flat[i]!;
    const q = flat[i + 1]!;
    if (!(p > 0) || p === Number.POSITIVE_INFINITY || !(q >= 0) || q === Number.POSITIVE_INFINITY) return false;
  }
  return true;
}
