/**
 * Contracts between the per-symbol engine (symbol-engine.ts: orderbook, prices, OFI, CVD, and the
 * order of operations of docs/indicators.md §15) and the calculators it drives: regime (§9), fusion (§7,
 * conflict §8.4), divergence (§8) and the 1 s features table.
 *
 * All times are event times in ms. `tsEff` is the monotone effective time of the stream the event
 * came from (§1): the book stream and the trade stream each keep their own. Calculators know nothing
 * of sockets, files or wall clocks; they are driven in arrival order, so replay reproduces live.
 * Implementations keep their windows in typed arrays and return reused objects (no allocation per
 * event on the hot path): a returned object is valid until the next call.
 */

export type Scenario = "A_H" | "A_L" | "Q_H" | "Q_L";
export type Signal = "buy" | "sell" | "neutral";

/** §9: 2x2 activity/volatility regime. */
export interface Regime {
  /**
   * Any kept message of either stream (valid or not, §15.2), in arrival order, before its other
   * calls. Only the first call matters: the symbol's first event starts `ready` and the reference
   * samples (§9.1, §15.11). onTrade / onValidBook imply it, so it only matters when the first kept
   * message is a one-sided or crossed book.
   */
  onEvent(tsEff: number): void;
  /** An accepted trade (one aggTrade = one trade) at its trade-stream ts_eff. */
  onTrade(tsEff: number): void;
  /** A valid book (§15.4: first, time-gap or normal) at its book-stream ts_eff. */
  onValidBook(tsEff: number, mid: number): void;
  /** Label at `t` (an event's ts_eff) after that event has been applied (§15.11). */
  label(t: number): Scenario;
  /** False until the activity window and the volatility reference are warm (§9.1, §9.2). */
  ready(t: number): boolean;
  /** `rv_t` in bps (§9.2). */
  realizedVolBps(t: number): number;
  /** `tps_t` (§9.1). */
  tradesPerSecond(t: number): number;
}

/** One fusion evaluation (§7.2, §7.3) and the conflict check (§8.4, §15.10). */
export interface FusionOutput {
  readonly tsMs: number;
  readonly score: number;
  readonly proba: number;
  readonly consistency: number;
  readonly dispersion: number | null;
  readonly signal: Signal;
  /** ẑo, ẑc: the clipped inputs. */
  readonly zOfi: number;
  readonly zCvd: number;
  readonly lagMs: number;
  readonly degraded: boolean;
  /** True when an `ofi_cvd_conflict` event is emitted at this evaluation. */
  readonly conflict: boolean;
  /** min(|ẑo|, |ẑc|) when `conflict`. */
  readonly conflictStrength: number;
}

export interface Fusion {
  /** Every OFI row with a non-null `ofi_z` (§15.7: the last one is kept, also across OFI resets). */
  onOfiZ(ofiZ: number, tsEff: number, tsMs: number): void;
  /**
   * An accepted trade with non-null `z_cvd` (FUSION_TRIGGER=trade). Returns null when no OFI row
   * with a z exists yet.
   */
  onTrade(zCvd: number, tsEff: number, tsMs: number): FusionOutput | null;
}

/** A divergence (§8.2/§8.3) event. */
export interface DivergenceEvent {
  readonly tsMs: number;
  readonly type: "bear_div" | "bull_div" | "hidden_bear" | "hidden_bull";
  readonly channel: "cvd" | "ofi";
  readonly strength: number;
  /** Figures for the event's `detail` JSON (e.g. T_P, T_c). */
  readonly detail: Readonly<Record<string, number>>;
}

export interface Divergence {
  /** A valid book's mid (§8.1 `P` with DIV_PRICE_SOURCE=mid). */
  onValidBook(tsEff: number, mid: number): void;
  /** An accepted trade: the CVD level after it, and its price (for DIV_PRICE_SOURCE=last_trade). */
  onTrade(tsEff: number, cvd: number, price: number): void;
  /** An OFI row's `ofi_value` (adds to the cumulative OFI level `O`). */
  onOfi(tsEff: number, ofiValue: number): void;
  /** A full OFI reset or a public-route reconnect at `tsEff` (invalidates windows containing it). */
  onReset(tsEff: number): void;
  /**
   * Evaluate every bar boundary both streams have now passed (§15.12). `bookTsEff` / `tradeTsEff` are
   * the streams' current ts_eff (-Infinity before their first event). Events are pushed to `out`.
   */
  advance(bookTsEff: number, tradeTsEff: number, out: DivergenceEvent[]): void;
  /** End of input: evaluate the bars still pending. */
  finish(out: DivergenceEvent[]): void;
}

/** The 1 s `features` row (core/rows.ts `features`), as plain values. */
export interface FeatureRow {
  readonly tsMs: number;
  readonly mid: number | null;
  readonly spreadBps: number | null;
  readonly ofiSum: number;
  readonly ofiZLast: number | null;
  readonly cvd: number;
  readonly zCvdLast: number | null;
  readonly fusionScore: number | null;
  readonly fusionSignal: Signal | null;
  readonly tradeCount: number;
  readonly buyVolume: number;
  readonly sellVolume: number;
  readonly vwap: number | null;
  readonly realizedVolBps: number;
  readonly tps: number;
  readonly scenario: Scenario;
}

export interface Features {
  onValidBook(tsEff: number, mid: number, spreadBps: number): void;
  onOfi(tsEff: number, ofiValue: number, ofiZ: number | null): void;
  /** `side` +1 aggressor buy, −1 aggressor sell; `cvd`/`zCvd` after this trade. */
  onTrade(tsEff: number, price: number, qty: number, side: 1 | -1, cvd: number, zCvd: number | null): void;
  onFusion(tsEff: number, score: number, signal: Signal): void;
  /** Emit a row for every whole second both streams have passed, in time order. */
  advance(bookTsEff: number, tradeTsEff: number, emit: (row: FeatureRow) => void): void;
  /** End of input: emit the seconds still pending. */
  finish(emit: (row: FeatureRow) => void): void;
}
