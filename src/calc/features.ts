/**
 * The 1 s `features` table (docs/schemas.md, "features"; core/rows.ts `features`): one row per symbol per
 * event-time second, for research and models.
 *
 * Seconds. Row `ts_ms` = τ = a whole epoch second, the END of its second: the row covers events with
 * ts_eff ∈ (τ − 1000, τ] and every "as of" value uses ts_eff ≤ τ. This is the clock of the divergence
 * bars and of the regime's mid boundaries (docs/indicators.md §8.1, §9.2), so `mid` equals the bar's P_k,
 * and a row never contains anything later than its own `ts_ms` (no look-ahead when it is joined with
 * forward returns from mid as-of ts_ms, §12.1). The first row is the first whole second ≥ the
 * symbol's first event (the first `on*` call or finite clock given to `advance`).
 *
 * Columns (null only where stated; "as of τ" = after the latest event with ts_eff ≤ τ):
 *   mid, spread_bps   mid and spread of the latest valid book as of τ (forward-filled through invalid
 *                     books); null before the first valid book.
 *   ofi_sum           Σ ofi_value of the OFI rows in the second (0 if none).
 *   ofi_z_last        ofi_z of the latest OFI row as of τ; null if that row had none (warm-up after
 *                     the start or an OFI reset) or there is no OFI row yet. Unlike fusion (§15.7) the
 *                     last non-null z is not carried through a warm-up.
 *   cvd               CVD level after the latest trade as of τ (0 before the first trade).
 *   z_cvd_last        z_cvd of the latest trade as of τ; null if it had none (warm-up/freeze) or none yet.
 *   fusion_score,     score and signal of the latest fusion evaluation as of τ (fusion rows are
 *   fusion_signal     attached to their triggering trade); null before the first.
 *   trade_count       accepted trades in the second.
 *   buy_volume,       Σ qty (base asset) of the second's trades with aggressor buy / aggressor sell.
 *   sell_volume
 *   vwap              Σ price·qty / Σ qty over the second's trades; null if there were none.
 *   realized_vol_bps, the Regime's rv_τ, tps_τ and label at τ (§9; evaluated when the row is emitted,
 *   tps, scenario_2x2 with data ts_eff ≤ τ only).
 *
 * Grid. A second τ gets a row iff some event of either stream (any kept message, valid or not, as
 * seen through `on*` calls and the clocks given to `advance`) has ts_eff ∈ (τ − maxGapMs, τ]. So the
 * grid is regular from the first event on and through quiet spells (the book stream alone ticks every
 * 100 ms); after the last event it runs on for maxGapMs (default 60 s, forward-filled state and zero
 * counts) and then pauses until the next event, so a long outage costs at most 60 empty rows.
 *
 * Emission (the divergence clock rule). Each stream records its per-second values when it passes τ
 * (its first event with ts_eff > τ); second τ is emitted once both streams have passed it. At
 * `finish`, every second up to the first whole second ≥ the newest event is emitted with what is known.
 * Rows are emitted in time order. The emitted row object is reused: it is valid until the next call.
 */
import type { IndicatorParams } from "./params.ts";
import type { FeatureRow, Features, Regime, Scenario, Signal } from "./contracts.ts";
import { IndexedRing } from "./indexed-ring.ts";
import { BarClock } from "./bar-clock.ts";

export const FEATURES_BAR_MS = 1000;
/** Empty seconds emitted after the latest event before the grid pauses. */
export const FEATURES_MAX_GAP_MS = 60_000;

export interface FeatureBarsOptions {
  readonly maxGapMs?: number;
}

const SIGNALS: readonly (Signal | null)[] = [null, "buy", "sell", "neutral"];
const signalCode = (s: Signal): number => (s === "buy" ? 1 : s === "sell" ? 2 : 3);
const nullable = (v: number): number | null => (v === v ? v : null);

type MutableFeatureRow = { -readonly [K in keyof FeatureRow]: FeatureRow[K] };

export class FeatureBars implements Features {
  private readonly regime: Regime;
  private readonly maxGapMs: number;

  private readonly clock = new BarClock(FEATURES_BAR_MS, {
    onStart: (k) => {
      for (let i = 0; i < this.rings.length; i++) this.rings[i].resetAt(k);
    },
    closeBook: () => this.closeBookSecond(),
    closeTrade: () => this.closeTradeSecond(),
  });

  // Book stream, live (NaN = null).
  private mid = Number.NaN;
  private spread = Number.NaN;
  private ofiSum = 0;
  private ofiZ = Number.NaN;
  private bookAct = Number.NEGATIVE_INFINITY;
  // Trade stream, live.
  private cvd = 0;
  private zCvd = Number.NaN;
  private score = Number.NaN;
  private signal = 0;
  private count = 0;
  private buyVol = 0;
  private sellVol = 0;
  private pq = 0;
  private q = 0;
  private tradeAct = Number.NEGATIVE_INFINITY;

  // Recorded seconds, index k (τ = k·1000).
  private readonly bMid = new IndexedRing(64);
  private readonly bSpread = new IndexedRing(64);
  private readonly bOfiSum = new IndexedRing(64);
  private readonly bOfiZ = new IndexedRing(64);
  private readonly bAct = new IndexedRing(64);
  private readonly tCvd = new IndexedRing(64);
  private readonly tZ = new IndexedRing(64);
  private readonly tScore = new IndexedRing(64);
  private readonly tSignal = new IndexedRing(64);
  private readonly tCount = new IndexedRing(64);
  private readonly tBuy = new IndexedRing(64);
  private readonly tSell = new IndexedRing(64);
  private readonly tPq = new IndexedRing(64);
  private readonly tQ = new IndexedRing(64);
  private readonly tAct = new IndexedRing(64);
  private readonly rings = [
    this.bMid, this.bSpread, this.bOfiSum, this.bOfiZ, this.bAct,
    this.tCvd, this.tZ, this.tScore, this.tSignal, this.tCount, this.tBuy, this.tSell, this.tPq, this.tQ, this.tAct,
  ];

  private readonly row: MutableFeatureRow = {
    tsMs: 0,
    mid: null,
    spreadBps: null,
    ofiSum: 0,
    ofiZLast: null,
    cvd: 0,
    zCvdLast: null,
    fusionScore: null,
    fusionSignal: null,
    tradeCount: 0,
    buyVolume: 0,
    sellVolume: 0,
    vwap: null,
    realizedVolBps: 0,
    tps: 0,
    scenario: "Q_L" as Scenario,
  };

  constructor(_params: IndicatorParams, regime: Regime, options: FeatureBarsOptions = {}) {
    this.regime = regime;
    this.maxGapMs = options.maxGapMs ?? FEATURES_MAX_GAP_MS;
  }

  onValidBook(tsEff: number, mid: number, spreadBps: number): void {
    this.bookEvent(tsEff);
    this.mid = mid;
    this.spread = spreadBps;
  }

  onOfi(tsEff: number, ofiValue: number, ofiZ: number | null): void {
    this.bookEvent(tsEff);
    this.ofiSum += ofiValue;
    this.ofiZ = ofiZ ?? Number.NaN;
  }

  onTrade(tsEff: number, price: number, qty: number, side: 1 | -1, cvd: number, zCvd: number | null): void {
    this.tradeEvent(tsEff);
    this.count++;
    if (side === 1) this.buyVol += qty;
    else this.sellVol += qty;
    this.pq += price * qty;
    this.q += qty;
    this.cvd = cvd;
    this.zCvd = zCvd ?? Number.NaN;
  }

  /** The fusion evaluation of the trade just given to `onTrade` (it belongs to that trade's second). */
  onFusion(_tsEff: number, score: number, signal: Signal): void {
    this.score = score;
    this.signal = signalCode(signal);
  }

  advance(bookTsEff: number, tradeTsEff: number, emit: (row: FeatureRow) => void): void {
    if (bookTsEff > Number.NEGATIVE_INFINITY) this.bookEvent(bookTsEff);
    if (tradeTsEff > Number.NEGATIVE_INFINITY) this.tradeEvent(tradeTsEff);
    if (!this.clock.started) return;
    this.emitUpTo(this.clock.completeEnd(), emit);
  }

  finish(emit: (row: FeatureRow) => void): void {
    if (!this.clock.started) return;
    this.emitUpTo(this.clock.closeAll(), emit);
  }

  /** Closes the book seconds before `tsEff`; the event then counts in the open second. */
  private bookEvent(tsEff: number): void {
    this.clock.start(tsEff);
    this.clock.passBook(tsEff);
    if (tsEff > this.bookAct) this.bookAct = tsEff;
  }

  private tradeEvent(tsEff: number): void {
    this.clock.start(tsEff);
    this.clock.passTrade(tsEff);
    if (tsEff > this.tradeAct) this.tradeAct = tsEff;
  }

  private closeBookSecond(): void {
    this.bMid.push(this.mid);
    this.bSpread.push(this.spread);
    this.bOfiSum.push(this.ofiSum);
    this.bOfiZ.push(this.ofiZ);
    this.bAct.push(this.bookAct);
    this.ofiSum = 0;
  }

  private closeTradeSecond(): void {
    this.tCvd.push(this.cvd);
    this.tZ.push(this.zCvd);
    this.tScore.push(this.score);
    this.tSignal.push(this.signal);
    this.tCount.push(this.count);
    this.tBuy.push(this.buyVol);
    this.tSell.push(this.sellVol);
    this.tPq.push(this.pq);
    this.tQ.push(this.q);
    this.tAct.push(this.tradeAct);
    this.count = 0;
    this.buyVol = 0;
    this.sellVol = 0;
    this.pq = 0;
    this.q = 0;
  }

  private emitUpTo(kEnd: number, emit: (row: FeatureRow) => void): void {
    while (this.clock.nextK < kEnd) {
      const k = this.clock.nextK;
      const tau = k * FEATURES_BAR_MS;
      const act = Math.max(this.bAct.get(k), this.tAct.get(k));
      if (act > tau - this.maxGapMs) emit(this.fill(k, tau));
      this.clock.nextK = k + 1;
      for (let i = 0; i < this.rings.length; i++) this.rings[i].dropBefore(k + 1);
    }
  }

  private fill(k: number, tau: number): FeatureRow {
    const r = this.row;
    r.tsMs = tau;
    r.mid = nullable(this.bMid.get(k));
    r.spreadBps = nullable(this.bSpread.get(k));
    r.ofiSum = this.bOfiSum.get(k);
    r.ofiZLast = nullable(this.bOfiZ.get(k));
    r.cvd = this.tCvd.get(k);
    r.zCvdLast = nullable(this.tZ.get(k));
    r.fusionScore = nullable(this.tScore.get(k));
    r.fusionSignal = SIGNALS[this.tSignal.get(k)];
    const n = this.tCount.get(k);
    r.tradeCount = n;
    r.buyVolume = this.tBuy.get(k);
    r.sellVolume = this.tSell.get(k);
    r.vwap = n > 0 ? this.tPq.get(k) / this.tQ.get(k) : null;
    r.realizedVolBps = this.regime.realizedVolBps(tau);
    r.tps = this.regime.tradesPerSecond(tau);
    r.scenario = this.regime.label(tau);
    return r;
  }
}
