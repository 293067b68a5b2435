/**
 * What each custom indicator costs and how often it fails, over all symbols of this process: read by
 * /metrics and the status page. Plain counters and one histogram; hosts update them in place.
 */
import { Histogram } from "../util/histogram.ts";
import type { LoadedIndicator } from "./contract.ts";

/** Handler call durations in ms: a handler typically takes microseconds. */
export const COST_BOUNDS_MS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 100];

export interface IndicatorStatsView {
  readonly name: string;
  readonly kind: string;
  readonly file: string;
  /** Handler calls (trades, books, disconnects, ends) over every symbol. */
  readonly calls: number;
  /** Failing calls (throw, promise, refused row) and emits outside a call. */
  readonly errors: number;
  readonly rows: number;
  readonly rowsDropped: number;
  readonly costMeanUs: number | null;
  readonly costP99Us: number | null;
  readonly costMaxUs: number | null;
  /** Symbols this indicator is switched off for, by the symbol's current host (the latest one started). */
  readonly switchedOff: readonly string[];
  /** Errors per symbol (symbols without errors are absent). */
  readonly errorsBySymbol: Readonly<Record<string, number>>;
  readonly lastError: string | null;
}

/** Over how long an indicator's share of the ingest thread is judged. */
const BUSY_WINDOW_MS = 5_000;
/** An indicator busy this share of the window delays every symbol's frames: /health names it. */
export const BUSY_SHARE_UNHEALTHY = 0.5;

export class IndicatorStats {
  readonly cost = new Histogram(COST_BOUNDS_MS);
  errors = 0;
  rows = 0;
  rowsDropped = 0;
  lastError: string | null = null;
  readonly errorsBySymbol = new Map<string, number>();
  readonly switchedOff = new Set<string>();
  /** Time spent in handler calls at the start of the last whole window, and of the current one (monotonic ms). */
  private busyPrev: { readonly at: number; readonly ms: number } | null = null;
  private busyCur: { readonly at: number; readonly ms: number } | null = null;

  constructor(readonly indicator: Pick<LoadedIndicator, "name" | "kind" | "file">) {}

  recordCall(ms: number): void {
    this.cost.record(ms);
  }

  recordError(symbol: string, message: string): void {
    this.errors++;
    this.errorsBySymbol.set(symbol, (this.errorsBySymbol.get(symbol) ?? 0) + 1);
    this.lastError = `${symbol}: ${message}`;
  }

  recordSwitchOff(symbol: string): void {
    this.switchedOff.add(symbol);
  }

  /**
   * A new host starts the indicator afresh for `symbol`: a switch-off by an earlier host of it (the
   * crash rebuild's, or the previous session's in a replay) no longer holds.
   */
  recordStart(symbol: string): void {
    this.switchedOff.delete(symbol);
  }

  /**
   * The share of the ingest thread's wall time this indicator's handlers took over the last window
   * (about 5–10 s), or null until a window has passed. Every symbol runs on that one thread, so a
   * share near 1 means every frame waits for this indicator.
   */
  busyShare(nowMono = performance.now()): number | null {
    const ms = this.cost.sum;
    if (this.busyCur === null) this.busyCur = { at: nowMono, ms };
    if (nowMono - this.busyCur.at >= BUSY_WINDOW_MS) {
      this.busyPrev = this.busyCur;
      this.busyCur = { at: nowMono, ms };
    }
    const from = this.busyPrev;
    return from === null || nowMono <= from.at ? null : Math.min(1, (ms - from.ms) / (nowMono - from.at));
  }

  view(): IndicatorStatsView {
    const c = this.cost;
    const us = (ms: number | null) => (ms === null ? null : Math.round(ms * 1000 * 100) / 100);
    return {
      name: this.indicator.name,
      kind: this.indicator.kind,
      file: this.indicator.file,
      calls: c.count,
      errors: this.errors,
      rows: this.rows,
      rowsDropped: this.rowsDropped,
      costMeanUs: c.count === 0 ? null : us(c.sum / c.count),
      costP99Us: us(c.quantile(0.99)),
      costMaxUs: c.count === 0 ? null : us(c.max),
      switchedOff: [...this.switchedOff].sort(),
      errorsBySymbol: Object.fromEntries(this.errorsBySymbol),
      lastError: this.lastError,
    };
  }
}
