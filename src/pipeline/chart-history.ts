/**
 * The last minutes of mid, CVD and OFI z per symbol, sampled once a second, for the status page's
 * charts. Fixed-size rings of Float64Array (NaN = no value yet), so a months-long run holds exactly
 * `capacity` samples per symbol and series and allocates nothing per sample.
 */

export const CHART_SERIES = ["mid", "cvd", "ofi_z"] as const;
export type ChartSeries = (typeof CHART_SERIES)[number];
export type ChartPoint = Readonly<Record<ChartSeries, number | null>>;

export interface ChartHistoryView {
  /** Sample times (Unix ms), oldest first. */
  readonly t: readonly number[];
  /** Per symbol and series, values aligned with `t` (null = not known at that time). */
  readonly symbols: Readonly<Record<string, Readonly<Record<ChartSeries, readonly (number | null)[]>>>>;
}

/** Ten minutes at one sample per second. */
export const DEFAULT_HISTORY_SECONDS = 600;

export class ChartHistory {
  readonly capacity: number;
  private readonly times: Float64Array;
  private readonly values = new Map<string, Float64Array>();
  /** Next slot to write; `size` slots before it (wrapping) hold samples. */
  private head = 0;
  private size = 0;

  constructor(
    symbols: readonly string[],
    capacity = DEFAULT_HISTORY_SECONDS,
  ) {
    this.capacity = capacity;
    this.times = new Float64Array(capacity);
    for (const s of symbols) this.addSymbol(s);
  }

  /** A symbol whose points are kept from now on (a new listing: no points before it). */
  addSymbol(symbol: string): void {
    if (!this.values.has(symbol)) this.values.set(symbol, new Float64Array(this.capacity * CHART_SERIES.length).fill(Number.NaN));
  }

  /** Records one point per symbol at `tsMs`. */
  sample(tsMs: number, read: (symbol: string) => ChartPoint): void {
    const slot = this.head;
    this.times[slot] = tsMs;
    for (const [symbol, arr] of this.values) {
      const p = read(symbol);
      for (let k = 0; k < CHART_SERIES.length; k++) {
        const v = p[CHART_SERIES[k]!];
        arr[slot * CHART_SERIES.length + k] = v === null || !Number.isFinite(v) ? Number.NaN : v;
      }
    }
    this.head = (slot + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  /** The samples of the last `seconds` (by count, one per second), oldest first. */
  view(seconds: number, only?: readonly string[]): ChartHistoryView {
    const n = Math.max(0, Math.min(this.size, Math.floor(seconds)));
    const first = (this.head - n + this.capacity) % this.capacity;
    const t: number[] = [];
    for (let i = 0; i < n; i++) t.push(this.times[(first + i) % this.capacity]!);
    const symbols: Record<string, Record<ChartSeries, (number | null)[]>> = {};
    for (const symbol of only ?? this.values.keys()) {
      const arr = this.values.get(symbol);
      if (arr === undefined) continue;
      const out = { mid: [], cvd: [], ofi_z: [] } as Record<ChartSeries, (number | null)[]>;
      for (let i = 0; i < n; i++) {
        const slot = (first + i) % this.capacity;
        for (let k = 0; k < CHART_SERIES.length; k++) {
          const v = arr[slot * CHART_SERIES.length + k]!;
          out[CHART_SERIES[k]!].push(Number.isNaN(v) ? null : v);
        }
      }
      symbols[symbol] = out;
    }
    return { t, symbols };
  }
}
