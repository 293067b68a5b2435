// Full-depth order book maintained from a REST snapshot plus diff-depth events, following Binance's
// "How to manage a local order book correctly" (futures) procedure.
import type { DepthSnapshot, DiffEvent, PriceLevel } from "./fixtures.ts";

/** One side, kept sorted best-first so the top N is a slice. Keyed by numeric price because the
 * same price could in principle be printed with different trailing zeros; the text shown is the
 * one last recorded for that level. */
class Side {
  private readonly keys: number[] = []; // ascending; bids store -price so best is first on both sides
  private readonly levels: PriceLevel[] = [];
  constructor(private readonly bids: boolean) {}

  private find(key: number): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  set(level: PriceLevel): void {
    const key = this.bids ? -Number(level[0]) : Number(level[0]);
    const i = this.find(key);
    const present = i < this.keys.length && this.keys[i] === key;
    if (Number(level[1]) === 0) {
      // Removing an absent level is normal (procedure step 9).
      if (present) {
        this.keys.splice(i, 1);
        this.levels.splice(i, 1);
      }
    } else if (present) {
      this.levels[i] = level;
    } else {
      this.keys.splice(i, 0, key);
      this.levels.splice(i, 0, level);
    }
  }

  top(n: number): readonly PriceLevel[] {
    return this.levels.slice(0, n);
  }

  get size(): number {
    return this.levels.length;
  }
}

export class OrderBook {
  private readonly bidSide = new Side(true);
  private readonly askSide = new Side(false);
  lastUpdateId = 0;

  static fromSnapshot(s: DepthSnapshot): OrderBook {
    const book = new OrderBook();
    for (const l of s.bids) book.bidSide.set(l);
    for (const l of s.asks) book.askSide.set(l);
    book.lastUpdateId = s.lastUpdateId;
    return book;
  }

  apply(d: DiffEvent): void {
    for (const l of d.b) this.bidSide.set(l);
    for (const l of d.a) this.askSide.set(l);
    this.lastUpdateId = d.u;
  }

  bids(n: number): readonly PriceLevel[] {
    return this.bidSide.top(n);
  }

  asks(n: number): readonly PriceLevel[] {
    return this.askSide.top(n);
  }

  get depth(): { readonly bids: number; readonly asks: number } {
    return { bids: this.bidSide.size, asks: this.askSide.size };
  }
}

/**
 * Index of the first diff to apply on top of the snapshot: events with `u < lastUpdateId` are
 * dropped and the first one kept must bracket the snapshot id. Throws when the recording breaks the
 * procedure (a broken `pu` chain would make every later book wrong).
 */
export function syncIndex(snapshot: DepthSnapshot, diffs: readonly DiffEvent[]): number {
  const id = snapshot.lastUpdateId;
  let i = 0;
  while (i < diffs.length && diffs[i].u < id) i++;
  if (i === diffs.length || !(diffs[i].U <= id && diffs[i].u >= id)) {
    throw new Error(`no diff event brackets snapshot lastUpdateId ${id}`);
  }
  for (let j = i + 1; j < diffs.length; j++) {
    if (diffs[j].pu !== diffs[j - 1].u) throw new Error(`diff pu chain broken at u=${diffs[j].u}`);
  }
  return i;
}

export function levelsJson(levels: readonly PriceLevel[]): string {
  let s = "[";
  for (let i = 0; i < levels.length; i++) {
    if (i > 0) s += ",";
    s += `["${levels[i][0]}","${levels[i][1]}"]`;
  }
  return s + "]";
}
