/**
 * Price-vs-flow divergence, slope method (docs/indicators.md §8.1, §8.2, §13 D16, §15.12).
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
import type { DivergenceParams, IndicatorParams } from "./params.ts";
import type { Divergence, DivergenceEvent } from "./contracts.ts";
import { IndexedRing } from "./indexed-ring.ts";
import { type TrendStat, trendStat } from "./ols-window.ts";
import { BarClock } from "./bar-clock.ts";

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

  private readonly clock: BarClock;

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
    this.clock = new BarClock(this.bar, {
      onStart: (k) => {
        this.barMid.resetAt(k);
        this.barO.resetAt(k);
        this.barReset.resetAt(k);
        this.barC.resetAt(k);
        this.barTradePx.resetAt(k);
      },
      closeBook: () => {
        this.barMid.push(this.mid);
        this.barO.push(this.ofiCum);
        this.barReset.push(this.lastReset);
      },
      closeTrade: () => {
        this.barC.push(this.cvd);
        this.barTradePx.push(this.lastPrice);
      },
    });
    this.w = this.p.window_bars;
    this.priceFromTrades = this.p.price_source === "last_trade";
    this.xs = new Float64Array(this.w);
  }

  onValidBook(tsEff: number, mid: number): void {
    this.clock.start(tsEff);
    this.clock.passBook(tsEff);
    this.mid = mid;
  }

  onTrade(tsEff: number, cvd: number, price: number): void {
    this.clock.start(tsEff);
    this.clock.passTrade(tsEff);
    this.cvd = cvd;
    this.lastPrice = price;
  }

  onOfi(tsEff: number, ofiValue: number): void {
    this.clock.start(tsEff);
    this.clock.passBook(tsEff);
    this.ofiCum += ofiValue;
  }

  onReset(tsEff: number): void {
    this.clock.start(tsEff);
    this.clock.passBook(tsEff);
    const t = tsEff > this.clock.bookTs ? tsEff : this.clock.bookTs;
    if (t > this.lastReset) this.lastReset = t;
  }

  advance(bookTsEff: number, tradeTsEff: number, out: DivergenceEvent[]): void {
    const lo = Math.min(bookTsEff, tradeTsEff);
    const first = lo > Number.NEGATIVE_INFINITY ? lo : Math.max(bookTsEff, tradeTsEff);
    if (first === Number.NEGATIVE_INFINITY) return;
    this.clock.start(first);
    if (bookTsEff > Number.NEGATIVE_INFINITY) this.clock.passBook(bookTsEff);
    if (tradeTsEff > Number.NEGATIVE_INFINITY) this.clock.passTrade(tradeTsEff);
    this.evaluateUpTo(this.clock.completeEnd(), out);
  }

  finish(out: DivergenceEvent[]): void {
    if (!this.clock.started) return;
    this.evaluateUpTo(this.clock.closeAll(), out);
  }

  /** Evaluates bars clock.nextK..kEnd−1 (both streams have recorded them). */
  private evaluateUpTo(kEnd: number, out: DivergenceEvent[]): void {
    const c = this.clock;
    while (c.nextK < kEnd) {
      this.evaluateBar(c.nextK, out);
      c.nextK++;
      const keep = c.nextK - this.w + 1;
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
    let valid = a >= this.clock.k0 && this.barReset.get(k) <= a * this.bar;
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
