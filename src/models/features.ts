/**
 * The feature vector of one fusion signal, built from the symbol's rows (core/rows.ts) by the SAME
 * code in training (rows read back from Parquet, dataset.ts) and live (rows as the engine writes
 * them, live.ts). Nothing depends on the order rows of different kinds arrive in: every input is
 * picked by a rule on the rows' own columns, so a row that is known at the signal in one setting is
 * known in the other (docs/models.md, "Features known at the signal"):
 *
 * - `fusion`: the signal's own row (score, z, consistency, dispersion, lag, regime).
 * - `prices`: trades with `agg_trade_id` ≤ the signal's, not backfilled (a backfilled trade reaches a
 *   live process late, after trades with higher ids). Returns, trade rate, aggressor balance, and the
 *   spread from the signal trade's own fills (its book just before it).
 * - `orderbook`: the newest row whose `recv_ts_ms` is at least BOOK_MARGIN_MS before the signal
 *   trade's `recv_ts_ms` (and `ts_ms` not after the signal), so arrival jitter between the two
 *   streams cannot change which book is used.
 * - `features` (1 s table): seconds τ ≤ ⌊(T − FEATURES_DELAY_MS) / 1000⌋·1000 for a signal at event
 *   time T; a second is only emitted once both streams have passed it, and the delay covers that.
 *
 * Flat features feed logistic regression, trees and the MLP; the sequence (the last SEQ_LEN seconds
 * of the 1 s table, oldest first, missing seconds zero with `present` = 0) feeds the LSTM and CNN.
 * Directional inputs are multiplied by the signal's side (+1 buy, −1 sell), so "with the signal" is
 * positive for both sides.
 */
import type { Row, RowKind } from "../core/rows.ts";

/** Names the rules and lists below; a model file trained on another set is refused at start. */
export const FEATURE_SET = "signal-features/1";

export const FLAT_FEATURES = [
  "side",
  "score_signed",
  "z_ofi_signed",
  "z_cvd_signed",
  "consistency",
  "dispersion",
  "degraded",
  "log_lag_ms",
  "regime_A_H",
  "regime_A_L",
  "regime_Q_H",
  "regime_Q_L",
  "spread_bps",
  "book_imbalance_l1_signed",
  "book_imbalance_l5_signed",
  "log_book_age_ms",
  "ret_5s_bps_signed",
  "ret_30s_bps_signed",
  "ret_120s_bps_signed",
  "log_trades_10s",
  "aggressor_balance_10s_signed",
  "realized_vol_bps",
  "log_tps",
  "signals_60s",
] as const;

export const SEQ_CHANNELS = [
  "present",
  "ofi_z_signed",
  "z_cvd_signed",
  "fusion_score_signed",
  "log_trade_count",
  "aggressor_balance_signed",
  "mid_ret_bps_signed",
  "realized_vol_bps",
  "log_tps",
  "spread_bps",
] as const;

export const SEQ_LEN = 30;
export const BOOK_MARGIN_MS = 250;
export const FEATURES_DELAY_MS = 1500;
const TRADE_WINDOW_MS = 120_000;
const SIGNAL_WINDOW_MS = 60_000;
/** Book age used when there is no usable book (as if a minute old). */
const NO_BOOK_AGE_MS = 60_000;
const BOOK_RING = 256;
const FEATURE_RING = SEQ_LEN + 8;

/** The feature set a binary computes; compared with a model file's at load. */
export function featureSignature(): { readonly feature_set: string; readonly flat: readonly string[]; readonly seq_channels: readonly string[]; readonly seq_len: number } {
  return { feature_set: FEATURE_SET, flat: [...FLAT_FEATURES], seq_channels: [...SEQ_CHANNELS], seq_len: SEQ_LEN };
}

export interface SignalVector {
  readonly symbol: string;
  readonly tsMs: number;
  readonly aggTradeId: number;
  /** +1 buy, −1 sell. */
  readonly side: 1 | -1;
  readonly flat: Float64Array;
  /** SEQ_LEN × SEQ_CHANNELS, row-major, oldest second first. */
  readonly seq: Float32Array;
}

const REGIMES = ["A_H", "A_L", "Q_H", "Q_L"] as const;
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : Number.NaN);
const orZero = (v: number): number => (v === v ? v : 0);

/** A growable ring of numeric records (fixed columns), oldest dropped past `cap`. */
class Ring {
  readonly cols: Float64Array[];
  private start = 0;
  length = 0;
  constructor(
    ncols: number,
    private readonly cap: number,
  ) {
    this.cols = Array.from({ length: ncols }, () => new Float64Array(cap));
  }
  push(values: readonly number[]): void {
    const at = (this.start + this.length) % this.cap;
    for (let c = 0; c < this.cols.length; c++) this.cols[c][at] = values[c];
    if (this.length < this.cap) this.length++;
    else this.start = (this.start + 1) % this.cap;
  }
  /** Column c of the i-th record, 0 = oldest. */
  get(i: number, c: number): number {
    return this.cols[c][(this.start + i) % this.cap];
  }
}

/** Trades of the last TRADE_WINDOW_MS (growable, front trimmed). */
class TradeWindow {
  ts: number[] = [];
  price: number[] = [];
  qty: number[] = [];
  buy: number[] = [];
  private head = 0;
  push(ts: number, price: number, qty: number, isBuy: boolean): void {
    this.ts.push(ts);
    this.price.push(price);
    this.qty.push(qty);
    this.buy.push(isBuy ? 1 : 0);
    const cut = ts - TRADE_WINDOW_MS - 1000;
    while (this.head < this.ts.length && this.ts[this.head] < cut) this.head++;
    if (this.head > 4096 && this.head > this.ts.length / 2) {
      this.ts = this.ts.slice(this.head);
      this.price = this.price.slice(this.head);
      this.qty = this.qty.slice(this.head);
      this.buy = this.buy.slice(this.head);
      this.head = 0;
    }
  }
  get first(): number {
    return this.head;
  }
  get end(): number {
    return this.ts.length;
  }
  /** Price of the last trade with ts ≤ t, or NaN when the window does not reach back that far. */
  priceAt(t: number): number {
    let lo = this.head;
    let hi = this.ts.length - 1;
    if (hi < lo || this.ts[lo] > t) return Number.NaN;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.ts[mid] <= t) lo = mid;
      else hi = mid - 1;
    }
    return this.price[lo];
  }
}

// orderbook ring columns
const B_RECV = 0, B_TS = 1, B_IMB1 = 2, B_IMB5 = 3;
// features ring columns
const F_TS = 0, F_MID = 1, F_SPREAD = 2, F_OFIZ = 3, F_ZCVD = 4, F_SCORE = 5, F_COUNT = 6, F_BUY = 7, F_SELL = 8, F_RV = 9, F_TPS = 10;

function imbalance(row: Row, levels: number): number {
  let b = 0;
  let a = 0;
  for (let m = 0; m < levels; m++) {
    b += orZero(num(row[`bid_qty_${m}`]));
    a += orZero(num(row[`ask_qty_${m}`]));
  }
  return b + a > 0 ? (b - a) / (b + a) : Number.NaN;
}

/** One symbol's state: feed it every row of the symbol, then ask `vector` at a fusion signal. */
export class SymbolFeatureState {
  private readonly trades = new TradeWindow();
  private readonly books = new Ring(4, BOOK_RING);
  private readonly secs = new Ring(11, FEATURE_RING);
  /** Signal trade lookup: the newest non-backfilled prices row. */
  private lastAggId = -1;
  private lastRecv = Number.NaN;
  private lastBuyFill = Number.NaN;
  private lastSellFill = Number.NaN;
  private lastSignal: string | null = null;
  private readonly signalTimes: number[] = [];

  constructor(readonly symbol: string) {}

  onRow(kind: RowKind | string, row: Row): void {
    if (kind === "prices") {
      if (row.backfilled === true) return;
      this.lastAggId = num(row.agg_trade_id);
      this.lastRecv = num(row.recv_ts_ms);
      this.lastBuyFill = num(row.best_buy_fill);
      this.lastSellFill = num(row.best_sell_fill);
      this.trades.push(num(row.ts_ms), num(row.price), num(row.qty), row.is_buyer_maker !== true);
    } else if (kind === "orderbook") {
      this.books.push([num(row.recv_ts_ms), num(row.ts_ms), imbalance(row, 1), imbalance(row, 5)]);
    } else if (kind === "features") {
      this.secs.push([
        num(row.ts_ms), num(row.mid), num(row.spread_bps), num(row.ofi_z_last), num(row.z_cvd_last), num(row.fusion_score),
        num(row.trade_count), num(row.buy_volume), num(row.sell_volume), num(row.realized_vol_bps), num(row.tps),
      ]);
    }
  }

  /**
   * Every fusion row, in agg_trade_id order (live and training alike): counts the changes of the
   * fusion `signal` column to buy/sell for `signals_60s`, which must not depend on which signals a
   * strategy later asks about.
   */
  observeFusion(row: Row): void {
    const s = row.signal as string;
    const prev = this.lastSignal;
    this.lastSignal = s;
    if (s !== prev && (s === "buy" || s === "sell")) this.signalTimes.push(num(row.ts_ms));
  }

  /**
   * The vector of a `side` signal fired by `fusion` (a fusion row whose prices row was fed last).
   * Returns null when the signal's own trade was not seen (e.g. a backfilled trade).
   */
  vector(fusion: Row, signal: "buy" | "sell"): SignalVector | null {
    const aggId = num(fusion.agg_trade_id);
    if (aggId !== this.lastAggId) return null;
    const T = num(fusion.ts_ms);
    const side: 1 | -1 = signal === "sell" ? -1 : 1;
    const f = new Float64Array(FLAT_FEATURES.length);
    let i = 0;
    f[i++] = side;
    f[i++] = side * num(fusion.score);
    f[i++] = side * num(fusion.z_ofi);
    f[i++] = side * num(fusion.z_cvd);
    f[i++] = num(fusion.consistency);
    f[i++] = orZero(num(fusion.dispersion));
    f[i++] = fusion.degraded === true ? 1 : 0;
    f[i++] = Math.log1p(Math.max(0, orZero(num(fusion.lag_ms))));
    for (const r of REGIMES) f[i++] = fusion.scenario_2x2 === r ? 1 : 0;
    const mid = (this.lastBuyFill + this.lastSellFill) / 2;
    f[i++] = orZero(((this.lastBuyFill - this.lastSellFill) / mid) * 1e4);
    // book
    let bi = -1;
    for (let k = this.books.length - 1; k >= 0; k--) {
      if (this.books.get(k, B_RECV) <= this.lastRecv - BOOK_MARGIN_MS && this.books.get(k, B_TS) <= T) {
        bi = k;
        break;
      }
    }
    f[i++] = bi < 0 ? 0 : side * orZero(this.books.get(bi, B_IMB1));
    f[i++] = bi < 0 ? 0 : side * orZero(this.books.get(bi, B_IMB5));
    f[i++] = Math.log1p(bi < 0 ? NO_BOOK_AGE_MS : Math.min(NO_BOOK_AGE_MS, Math.max(0, T - this.books.get(bi, B_TS))));
    // trades
    const tw = this.trades;
    const last = tw.price[tw.end - 1];
    for (const w of [5000, 30_000, 120_000]) {
      const p0 = tw.priceAt(T - w);
      f[i++] = p0 === p0 && p0 > 0 ? side * ((last - p0) / p0) * 1e4 : 0;
    }
    let n10 = 0;
    let bq = 0;
    let sq = 0;
    for (let k = tw.end - 1; k >= tw.first && tw.ts[k] > T - 10_000; k--) {
      n10++;
      if (tw.buy[k] === 1) bq += tw.qty[k];
      else sq += tw.qty[k];
    }
    f[i++] = Math.log1p(n10);
    f[i++] = bq + sq > 0 ? (side * (bq - sq)) / (bq + sq) : 0;
    // 1 s table
    const cutoff = Math.floor((T - FEATURES_DELAY_MS) / 1000) * 1000;
    let si = -1;
    for (let k = this.secs.length - 1; k >= 0; k--) {
      if (this.secs.get(k, F_TS) <= cutoff) {
        si = k;
        break;
      }
    }
    f[i++] = si < 0 ? 0 : orZero(this.secs.get(si, F_RV));
    f[i++] = si < 0 ? 0 : Math.log1p(Math.max(0, orZero(this.secs.get(si, F_TPS))));
    while (this.signalTimes.length > 0 && this.signalTimes[0] <= T - SIGNAL_WINDOW_MS) this.signalTimes.shift();
    // earlier signals only (this one was counted by isSignal, if it is one)
    let earlier = 0;
    for (const t of this.signalTimes) if (t < T) earlier++;
    f[i++] = earlier;
    return { symbol: this.symbol, tsMs: T, aggTradeId: aggId, side, flat: f, seq: this.sequence(cutoff, si, side) };
  }

  private sequence(cutoff: number, newest: number, side: number): Float32Array {
    const C = SEQ_CHANNELS.length;
    const out = new Float32Array(SEQ_LEN * C);
    const first = cutoff - (SEQ_LEN - 1) * 1000;
    let prevMid = Number.NaN;
    // walk the ring from older to newer rows within [first − 1 s, cutoff]
    for (let k = 0; k <= newest; k++) {
      const ts = this.secs.get(k, F_TS);
      if (ts > cutoff) break;
      const mid = this.secs.get(k, F_MID);
      if (ts >= first) {
        const o = ((ts - first) / 1000) * C;
        const buy = orZero(this.secs.get(k, F_BUY));
        const sell = orZero(this.secs.get(k, F_SELL));
        out[o] = 1;
        out[o + 1] = side * orZero(this.secs.get(k, F_OFIZ));
        out[o + 2] = side * orZero(this.secs.get(k, F_ZCVD));
        out[o + 3] = side * orZero(this.secs.get(k, F_SCORE));
        out[o + 4] = Math.log1p(Math.max(0, orZero(this.secs.get(k, F_COUNT))));
        out[o + 5] = buy + sell > 0 ? (side * (buy - sell)) / (buy + sell) : 0;
        out[o + 6] = prevMid > 0 && mid > 0 ? side * ((mid - prevMid) / prevMid) * 1e4 : 0;
        out[o + 7] = orZero(this.secs.get(k, F_RV));
        out[o + 8] = Math.log1p(Math.max(0, orZero(this.secs.get(k, F_TPS))));
        out[o + 9] = orZero(this.secs.get(k, F_SPREAD));
      }
      if (mid === mid) prevMid = mid;
    }
    return out;
  }
}
