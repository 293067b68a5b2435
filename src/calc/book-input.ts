/**
 * Per-side validation of a depth snapshot (docs/indicators.md §2.1, steps 1–3) into reusable typed arrays.
 *
 * Levels are written into fixed `BOOK_LEVELS`-slot arrays. Missing levels are "empty": price −∞ (bids)
 * or +∞ (asks) and quantity 0, which is exactly what the MLOFI rule of §5.1 needs (a disappearing bid
 * level then contributes −q_prev, an appearing one +q_now, empty→empty 0) and what the index-wise
 * `d_*` columns need (empty = 0).
 */

/** depth5: the book carries at most five levels per side. */
export const BOOK_LEVELS = 5;

/** One side of a validated snapshot. Mutable only by `readSide` / `copyFrom`. */
export class BookSide {
  /** Prices, best first; ±∞ for empty levels. */
  readonly px = new Float64Array(BOOK_LEVELS);
  /** Quantities; 0 for empty levels. */
  readonly qty = new Float64Array(BOOK_LEVELS);
  /** Number of non-empty levels (0..BOOK_LEVELS). */
  count = 0;

  constructor(readonly isBid: boolean) {
    this.clear();
  }

  clear(): void {
    this.px.fill(this.isBid ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY);
    this.qty.fill(0);
    this.count = 0;
  }

  copyFrom(o: BookSide): void {
    this.px.set(o.px);
    this.qty.set(o.qty);
    this.count = o.count;
  }

  /** Best price, or NaN when the side is empty. */
  best(): number {
    return this.count > 0 ? this.px[0] : Number.NaN;
  }
}

/**
 * Scratch for `readSide`: holds every valid level of one message while it is sorted. Grows (rarely)
 * when a message carries more levels than seen before; depth5 messages never make it grow past 16.
 */
export class SideScratch {
  private cap = 0;
  px = new Float64Array(0);
  qty = new Float64Array(0);

  ensure(n: number): void {
    if (n <= this.cap) return;
    const cap = Math.max(n, 2 * this.cap, 16);
    this.px = new Float64Array(cap);
    this.qty = new Float64Array(cap);
    this.cap = cap;
  }
}

/**
 * Validates `flat` (`[p0, q0, p1, q1, …]` as received) into `out` and returns the number of bad
 * levels: invalid levels (non-finite, price ≤ 0, qty ≤ 0 — a qty-0 level is counted too, §2.1 step 1
 * does not distinguish it) plus every duplicate price after sorting (the first occurrence in message
 * order is kept; duplicates below the fifth level count too, so the figure does not depend on depth).
 */
export function readSide(flat: Float64Array, out: BookSide, scratch: SideScratch): number {
  const isBid = out.isBid;
  const nIn = flat.length >>> 1;
  scratch.ensure(nIn);
  const px = scratch.px;
  const qty = scratch.qty;
  let bad = 0;
  let n = 0;
  let sorted = true;
  for (let i = 0; i < nIn; i++) {
    const p = flat[2 * i];
    const q = flat[2 * i + 1];
    // `!(x > 0)` rejects NaN, −∞, 0 and negatives; +∞ is rejected explicitly.
    if (!(p > 0) || !(q > 0) || p === Number.POSITIVE_INFINITY || q === Number.POSITIVE_INFINITY) {
      bad++;
      continue;
    }
    if (n > 0 && (isBid ? p > px[n - 1] : p < px[n - 1])) sorted = false;
    px[n] = p;
    qty[n] = q;
    n++;
  }
  if (!sorted) stableSort(px, qty, n, isBid);

  out.clear();
  let k = 0;
  let last = Number.NaN;
  for (let i = 0; i < n; i++) {
    if (px[i] === last) {
      bad++;
      continue;
    }
    last = px[i];
    if (k < BOOK_LEVELS) {
      out.px[k] = px[i];
      out.qty[k] = qty[i];
      k++;
    }
  }
  out.count = k;
  return bad;
}

/**
 * Insertion sort by price (bids descending, asks ascending). Stable (strict comparison), so among
 * equal prices the first in message order stays first. Only runs on unsorted input, which Binance
 * does not send; n is the message's level count.
 */
function stableSort(px: Float64Array, qty: Float64Array, n: number, desc: boolean): void {
  for (let i = 1; i < n; i++) {
    const p = px[i];
    const q = qty[i];
    let j = i - 1;
    while (j >= 0 && (desc ? px[j] < p : px[j] > p)) {
      px[j + 1] = px[j];
      qty[j + 1] = qty[j];
      j--;
    }
    px[j + 1] = p;
    qty[j + 1] = q;
  }
}
