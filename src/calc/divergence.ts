/**
 * Price-vs-flow divergence, slope method (indicators.md §8.1, §8.2, §13 D16, §15.12).
 *
 * Bars. τ_k = k·DIV_BAR_MS, from the first whole bar boundary ≥ the symbol's first event (the first
 * `on*` call or the first finite clock given to `advance`). Each stream records its own as-of values
 * at τ_k when it passes τ_k, i.e. just before applying its first event with ts_eff > τ_k:
 *   book stream:  P_k = latest valid mid (NaN = undefined), O_k = Σ ofi_value, the latest reset time;
 *   trade stream: C_k = cvd after the latest trade (0 before the first), and the latest trade price
 *                 (P_k when DIV_PRICE_SOURCE=last_trade).
 * So an event exactly at τ_k belongs to bar k, and several events at the same ts_eff all do.
 *
 * Clock rule. Bar k is evaluated once both streams have passed τ_k (ts_eff > τ_k), in bar order; at
 * `finish` every bar up to the first boundary ≥ the newest event is evaluated with what is known.
 *
 * Windows. Bar k is evaluated over bars k−W+1..k. The window is not evaluated — and both channel
 * states become `none`, so a persisting divergence fires again afterwards — when it reaches before
 * the first bar, when some P in it is undefined, or when a reset (full OFI reset / public-route
 * reconnect) lies in (τ_{k−W+1}, τ_k]. A reset is placed at max(its ts_eff, the book clock): it
 * happens after the books already processed, so it can never slip into an already recorded bar.
 *
 * Events are edge-triggered per channel: emitted when the state changes into bear or bull (the state
 * before the first valid window is `none`). Event objects are allocated per emitted event (rare);
 * nothing is allocated per input event.
 */
import type { DivergenceParams, IndicatorParams } from "../config/indicator-params.ts";
import type { Divergence, DivergenceEvent } from "./contracts.ts";
import { IndexedRing } from "./indexed-ring.ts";
import { type TrendStat, trendStat } from "./ols-window.ts";

/**
 * `DIV_METHOD=pivot` is not built. Called by the constructor and meant for `validate` (§15.13).
 */
export function assertDivergenceSupported(params: IndicatorParams): void {
  if (params.divergence.method === "pivot") {
    throw new Error("divergence.method=pivot is not built yet (only divergence.method=slope is supported)");
  }
}

const NONE = 0;
const BEAR = 1;
const BULL = -1;

/** Channel state from the trend statistics (§8.2). */
export function channelState(tP: number, tC: number, theta: number): -1 | 0 | 1 {
  if (tP >= theta && tC <= -theta) return BEAR;
  if (tP <= -theta && tC >= theta) return BULL;
  return NONE;
}

export class DivergenceDetector implements Divergence {
  private readonly p: DivergenceParams;
  private readonly bar: number;
  private readonly w: number;
  private readonly priceFromTrades: boolean;

  /** First bar; NaN before the first event. */
  private k0 = Number.NaN;
  /** Next bar each stream has not passed yet. */
  private bookK = Number.NaN;
  private tradeK = Number.NaN;
  private nextEvalK = Number.NaN;

  private bookTs = Number.NEGATIVE_INFINITY;
  private tradeTs = Number.NEGATIVE_INFINITY;

  // Live values of each stream.
  private mid = Number.NaN;
  private ofiCum = 0;
  private lastReset = Number.NEGATIVE_INFINITY;
  private cvd = 0;
  private lastPrice = Number.NaN;

  // As-of values per bar, index k.
  private readonly barMid = new IndexedRing(128);
  private readonly barO = new IndexedRing(128);
  private readonly barReset = new IndexedRing(128);
  private readonly barC = new IndexedRing(128);
  private readonly barTradePx = new IndexedRing(128);

  private readonly xs: Float64Array;
  private readonly stP: TrendStat = { beta: 0, s: 0, t: 0 };
  private readonly stC: TrendStat = { beta: 0, s: 0, t: 0 };
  private readonly stO: TrendStat = { beta: 0, s: 0, t: 0 };
  private stateCvd = NONE;
  private stateOfi = NONE;

  constructor(params: IndicatorParams) {
    assertDivergenceSupported(params);
    this.p = params.divergence;
    this.bar = this.p.bar_ms;
    this.w = this.p.window_bars;
    this.priceFromTrades = this.p.price_source === "last_trade";
    this.xs = new Float64Array(this.w);
  }

  onValidBook(tsEff: number, mid: number): void {
    this.start(tsEff);
    this.rollBook(tsEff);
    this.mid = mid;
  }

  onTrade(tsEff: number, cvd: number, price: number): void {
    this.start(tsEff);
    this.rollTrade(tsEff);
    this.cvd = cvd;
    this.lastPrice = price;
  }

  onOfi(tsEff: number, ofiValue: number): void {
    this.start(tsEff);
    this.rollBook(tsEff);
    this.ofiCum += ofiValue;
  }

  onReset(tsEff: number): void {
    this.start(tsEff);
    this.rollBook(tsEff);
    const t = tsEff > this.bookTs ? tsEff : this.bookTs;
    if (t > this.lastReset) this.lastReset = t;
  }

  advance(bookTsEff: number, tradeTsEff: number, out: DivergenceEvent[]): void {
    const lo = Math.min(bookTsEff, tradeTsEff);
    const first = lo > Number.NEGATIVE_INFINITY ? lo : Math.max(bookTsEff, tradeTsEff);
    if (first === Number.NEGATIVE_INFINITY) return;
    this.start(first);
    if (bookTsEff > Number.NEGATIVE_INFINITY) this.rollBook(bookTsEff);
    if (tradeTsEff > Number.NEGATIVE_INFINITY) this.rollTrade(tradeTsEff);
    this.evaluateUpTo(Math.min(this.bookK, this.tradeK), out);
  }

  finish(out: DivergenceEvent[]): void {
    if (this.k0 !== this.k0) return;
    const newest = Math.max(this.bookTs, this.tradeTs);
    const kLast = Math.ceil(newest / this.bar);
    while (this.bookK <= kLast) this.closeBookBar();
    while (this.tradeK <= kLast) this.closeTradeBar();
    this.evaluateUpTo(kLast + 1, out);
  }

  private start(tsEff: number): void {
    if (this.k0 === this.k0) return;
    const k = Math.ceil(tsEff / this.bar);
    this.k0 = this.bookK = this.tradeK = this.nextEvalK = k;
    this.barMid.resetAt(k);
    this.barO.resetAt(k);
    this.barReset.resetAt(k);
    this.barC.resetAt(k);
    this.barTradePx.resetAt(k);
  }

  /** Records the book stream's values at every boundary before `tsEff`. */
  private rollBook(tsEff: number): void {
    if (tsEff > this.bookTs) this.bookTs = tsEff;
    while (this.bookK * this.bar < tsEff) this.closeBookBar();
  }

  private rollTrade(tsEff: number): void {
    if (tsEff > this.tradeTs) this.tradeTs = tsEff;
    while (this.tradeK * this.bar < tsEff) this.closeTradeBar();
  }

  private closeBookBar(): void {
    this.barMid.push(this.mid);
    this.barO.push(this.ofiCum);
    this.barReset.push(this.lastReset);
    this.bookK++;
  }

  private closeTradeBar(): void {
    this.barC.push(this.cvd);
    this.barTradePx.push(this.lastPrice);
    this.tradeK++;
  }

  /** Evaluates bars nextEvalK..kEnd−1 (both streams have recorded them). */
  private evaluateUpTo(kEnd: number, out: DivergenceEvent[]): void {
    while (this.nextEvalK < kEnd) {
      this.evaluateBar(this.nextEvalK, out);
      this.nextEvalK++;
      const keep = this.nextEvalK - this.w + 1;
      this.barMid.dropBefore(keep);
      this.barO.dropBefore(keep);
      this.barReset.dropBefore(keep);
      this.barC.dropBefore(keep);
      this.barTradePx.dropBefore(keep);
    }
  }

  private evaluateBar(k: number, out: DivergenceEvent[]): void {
    const w = this.w;
    const a = k - w + 1;
    const price = this.priceFromTrades ? this.barTradePx : this.barMid;
    let valid = a >= this.k0 && this.barReset.get(k) <= a * this.bar;
    if (valid) {
      for (let j = a; j <= k; j++) {
        const v = price.get(j);
        if (v !== v) {
          valid = false;
          break;
        }
        this.xs[j - a] = v;
      }
    }
    if (!valid) {
      this.stateCvd = NONE;
      this.stateOfi = NONE;
      return;
    }
    trendStat(this.xs, w, this.stP);
    for (let j = a; j <= k; j++) this.xs[j - a] = this.barC.get(j);
    trendStat(this.xs, w, this.stC);
    for (let j = a; j <= k; j++) this.xs[j - a] = this.barO.get(j);
    trendStat(this.xs, w, this.stO);

    const theta = this.p.min_trend;
    const tP = this.stP.t;
    const ts = k * this.bar;
    const sc = channelState(tP, this.stC.t, theta);
    if (sc !== NONE && sc !== this.stateCvd) out.push(makeEvent(ts, sc, "cvd", tP, this.stC.t));
    this.stateCvd = sc;
    const so = channelState(tP, this.stO.t, theta);
    if (so !== NONE && so !== this.stateOfi) out.push(makeEvent(ts, so, "ofi", tP, this.stO.t));
    this.stateOfi = so;
  }
}

function makeEvent(tsMs: number, state: number, channel: "cvd" | "ofi", tP: number, tC: number): DivergenceEvent {
  return {
    tsMs,
    type: state === BEAR ? "bear_div" : "bull_div",
    channel,
    strength: Math.min(Math.abs(tP), Math.abs(tC)),
    detail: { T_P: tP, T_c: tC },
  };
}
