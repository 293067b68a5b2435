/**
 * Sum of values whose time lies in `(t − W, t]` (docs/indicators.md §5.2, OFI_SUM_WINDOW_MS: the rolling
 * OFI in the CKS sense). Times are pushed non-decreasing (they are `ts_eff`).
 *
 * The running sum is re-summed from the ring every `capacity` pushes so add/subtract rounding cannot
 * accumulate. The ring doubles when a burst puts more events into one window than it holds; that is
 * the only allocation and it stops once the ring fits the busiest window seen.
 */
export class TimeWindowSum {
  private t = new Float64Array(64);
  private v = new Float64Array(64);
  private head = 0;
  private n = 0;
  private sum = 0;
  private sinceResum = 0;

  constructor(readonly windowMs: number) {}

  clear(): void {
    this.head = 0;
    this.n = 0;
    this.sum = 0;
    this.sinceResum = 0;
  }

  /** Adds `(tMs, x)` and returns the sum over `(tMs − W, tMs]`. */
  push(tMs: number, x: number): number {
    const lo = tMs - this.windowMs;
    let cap = this.t.length;
    while (this.n > 0 && this.t[this.head] <= lo) {
      this.sum -= this.v[this.head];
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
      this.n--;
    }
    if (this.n === cap) {
      this.grow();
      cap = this.t.length;
    }
    const tail = this.head + this.n;
    const i = tail < cap ? tail : tail - cap;
    this.t[i] = tMs;
    this.v[i] = x;
    this.n++;
    this.sum += x;
    if (++this.sinceResum >= cap) this.resum();
    return this.sum;
  }

  private resum(): void {
    this.sinceResum = 0;
    const cap = this.t.length;
    let s = 0;
    for (let k = 0, j = this.head; k < this.n; k++, j = j + 1 === cap ? 0 : j + 1) s += this.v[j];
    this.sum = s;
  }

  private grow(): void {
    const cap = this.t.length;
    const t = new Float64Array(cap * 2);
    const v = new Float64Array(cap * 2);
    for (let k = 0, j = this.head; k < this.n; k++, j = j + 1 === cap ? 0 : j + 1) {
      t[k] = this.t[j];
      v[k] = this.v[j];
    }
    this.t = t;
    this.v = v;
    this.head = 0;
  }
}
