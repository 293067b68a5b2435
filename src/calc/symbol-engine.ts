/**
 * The per-symbol engine: applies depth and aggTrade events in arrival order (docs/indicators.md §1, §15)
 * and writes every row kind to the sink.
 *
 * Per book message: classify (§2.1) → orderbook row (§3) → on a valid book, regime / divergence /
 * features / fill ring see its mid → on a normal message, OFI (§5) and its row → fusion keeps the last
 * OFI z (§15.7) → bars both streams have passed are evaluated.
 * Per trade: id checks (§2.2) → validation → regime → CVD (§6) and its row → prices row (§4) →
 * divergence / features → fusion when z_cvd exists (§7) and the conflict event (§8.4) → bars.
 *
 * Rows are written through one reused object per kind (see row-scratch.ts for the sink contract);
 * nothing else is allocated per event except the `detail` strings of (rare) events (`row_id` is
 * computed by the sinks, off the ingest thread).
 *
 * Event types written to `events` by this engine (data quality):
 * - `seq_gap`            depth `pu` ≠ previous `u` (§2.1); detail {expected_pu, pu, first_id, last_id};
 *                        no longer written once `seq_chain_broken` has fired (rows keep the flag)
 * - `seq_chain_broken`   once: > 1 % of the first 1000 book messages had sequence gaps (§2.1: `pu`
 *                        does not chain on this stream, a configuration error); detail {gaps, messages}
 * - `trade_id_gap`       agg trade ids skipped (§2.2); detail {from_id, to_id, missing}
 * - `crossed_book`       best bid ≥ best ask (§2.1); strength = spread_bps; detail {best_bid, best_ask}
 * - `ofi_reset`          full OFI reset by time gap or UTC day (§5.5); detail {reason, gap_ms}
 * - `reconnect`          a `disconnect` control line (§15.5); channel = route; detail {route, ofi_reset}
 * and, from the calculators: `ofi_cvd_conflict` (channel `ofi_cvd`), `bear_div`, `bull_div`,
 * `hidden_bear`, `hidden_bull` (channel `cvd` | `ofi`).
 */
import type { IndicatorParams } from "./params.ts";
import type { AggTradeEvent, DepthEvent, Route } from "../core/market-events.ts";
import type { RowSink } from "../core/rows.ts";
import type { DivergenceEvent, Divergence, FeatureRow, Features, Fusion, FusionOutput, Regime, Scenario, Signal } from "./contracts.ts";
import { BOOK_LEVELS, type BookSide } from "./book-input.ts";
import { CvdCalculator } from "./cvd.ts";
import { OfiCalculator } from "./ofi.ts";
import { BookTracker } from "./orderbook.ts";
import { ValidBookRing } from "./prices.ts";
import {
  ASK_PX,
  ASK_QTY,
  BID_PX,
  BID_QTY,
  cvdScratch,
  D_ASK,
  D_BID,
  eventScratch,
  featuresScratch,
  fusionScratch,
  ofiScratch,
  orderbookScratch,
  pricesScratch,
  type CvdScratch,
  type EventScratch,
  type FeaturesScratch,
  type FusionScratch,
  type OfiScratch,
  type OrderbookScratch,
  type PricesScratch,
} from "./row-scratch.ts";
import { assertSupported } from "./supported.ts";
import { DivergenceDetector } from "./divergence.ts";
import { FeatureBars } from "./features.ts";
import { FusionCalculator } from "./fusion.ts";
import { RegimeTracker } from "./regime.ts";

/** The calculators built against contracts.ts (regime.ts, fusion.ts, divergence.ts, features.ts). */
export interface EngineDeps {
  readonly regime: Regime;
  readonly fusion: Fusion;
  readonly divergence: Divergence;
  readonly features: Features;
}

/** The real calculators; the features table reads the same regime instance the engine drives. */
export function defaultEngineDeps(params: IndicatorParams, over: Partial<EngineDeps> = {}): EngineDeps {
  const regime = over.regime ?? new RegimeTracker(params);
  return {
    regime,
    fusion: over.fusion ?? new FusionCalculator(params),
    divergence: over.divergence ?? new DivergenceDetector(params),
    features: over.features ?? new FeatureBars(params, regime),
  };
}

/** Monotone counters (plain numbers). */
export interface EngineCounters {
  /** Accepted trades (rows written). */
  trades: number;
  /** Kept book messages (orderbook rows written). */
  books: number;
  dup_trades: number;
  trade_id_gaps: number;
  /** Agg trade ids missing in total across all gaps. */
  trade_ids_missing: number;
  bad_trades: number;
  backfilled_trades: number;
  bad_levels: number;
  stale_books: number;
  one_sided_books: number;
  seq_gaps: number;
  /** 1 once more than 1 % of the first 1000 book messages had sequence gaps (§2.1), else 0. */
  seq_chain_broken: number;
  crossed: number;
  /** Full OFI resets: time gap, UTC day and public-route reconnects. */
  ofi_resets: number;
  reconnects_public: number;
  reconnects_market: number;
  ofi_rows: number;
  fusion_rows: number;
  conflicts: number;
  divergences: number;
}

export interface LevelView {
  readonly px: number;
  readonly qty: number;
}

/** Small readonly view for the status page. */
export interface EngineSnapshot {
  readonly symbol: string;
  readonly lastPrice: number | null;
  readonly lastTradeTsMs: number | null;
  /** From the latest valid book (§15.4). */
  readonly mid: number | null;
  readonly spreadBps: number | null;
  readonly bestBid: number | null;
  readonly bestAsk: number | null;
  /** Levels of the latest kept book message, best first (empty levels omitted). */
  readonly bids: readonly LevelView[];
  readonly asks: readonly LevelView[];
  readonly bookTsMs: number | null;
  readonly ofiValue: number | null;
  /** Last non-null `ofi_z`. */
  readonly ofiZ: number | null;
  readonly cvd: number;
  /** Last non-null `z_cvd`. */
  readonly zCvd: number | null;
  readonly fusionScore: number | null;
  readonly fusionSignal: Signal | null;
  readonly regime: Scenario | null;
  readonly counters: Readonly<EngineCounters>;
}

function newCounters(): EngineCounters {
  return {
    trades: 0,
    books: 0,
    dup_trades: 0,
    trade_id_gaps: 0,
    trade_ids_missing: 0,
    bad_trades: 0,
    backfilled_trades: 0,
    bad_levels: 0,
    stale_books: 0,
    one_sided_books: 0,
    seq_gaps: 0,
    seq_chain_broken: 0,
    crossed: 0,
    ofi_resets: 0,
    reconnects_public: 0,
    reconnects_market: 0,
    ofi_rows: 0,
    fusion_rows: 0,
    conflicts: 0,
    divergences: 0,
  };
}

export class SymbolEngine {
  readonly counters: Readonly<EngineCounters>;

  private readonly c: EngineCounters;
  private readonly book: BookTracker;
  private readonly ofi: OfiCalculator;
  private readonly cvd: CvdCalculator;
  private readonly fills = new ValidBookRing();
  private readonly regime: Regime;
  private readonly fusion: Fusion;
  private readonly divergence: Divergence;
  private readonly features: Features;

  private readonly rPrices: PricesScratch;
  private readonly rBook: OrderbookScratch;
  private readonly rOfi: OfiScratch;
  private readonly rCvd: CvdScratch;
  private readonly rFusion: FusionScratch;
  private readonly rEvent: EventScratch;
  private readonly rFeatures: FeaturesScratch;
  private readonly divOut: DivergenceEvent[] = [];
  private readonly emitFeature: (row: FeatureRow) => void;

  private lastA = Number.NaN;
  private tradeTsEff = Number.NEGATIVE_INFINITY;
  // status view
  private lastPrice: number | null = null;
  private lastTradeTsMs: number | null = null;
  private mid: number | null = null;
  private spreadBps: number | null = null;
  private validBid: number | null = null;
  private validAsk: number | null = null;
  private lastOfiValue: number | null = null;
  private lastOfiZ: number | null = null;
  private lastZCvd: number | null = null;
  private lastFusionScore: number | null = null;
  private lastFusionSignal: Signal | null = null;
  private lastLabel: Scenario | null = null;

  constructor(
    readonly symbol: string,
    params: IndicatorParams,
    private readonly sink: RowSink,
    deps: Partial<EngineDeps> = {},
  ) {
    assertSupported(params);
    const d = defaultEngineDeps(params, deps);
    this.c = newCounters();
    this.counters = this.c;
    this.book = new BookTracker(params.ofi);
    this.ofi = new OfiCalculator(params.ofi);
    this.cvd = new CvdCalculator(params.cvd);
    this.regime = d.regime;
    this.fusion = d.fusion;
    this.divergence = d.divergence;
    this.features = d.features;
    this.rPrices = pricesScratch(symbol);
    this.rBook = orderbookScratch(symbol);
    this.rOfi = ofiScratch(symbol);
    this.rCvd = cvdScratch(symbol);
    this.rFusion = fusionScratch(symbol);
    this.rEvent = eventScratch(symbol);
    this.rFeatures = featuresScratch(symbol);
    this.emitFeature = (row) => this.writeFeatures(row);
  }

  // ------------------------------------------------------------------------------------------------
  // Book stream

  onDepth(ev: DepthEvent, recvTsMs: number): void {
    const book = this.book;
    const cls = book.process(ev);
    if (cls === "stale") {
      this.c.stale_books = book.stale;
      return;
    }
    const c = this.c;
    c.books = book.kept;
    c.bad_levels = book.badLevels;
    c.seq_gaps = book.seqGaps;
    c.crossed = book.crossed;
    c.one_sided_books = book.oneSided;
    const tsEff = book.tsEff;
    this.regime.onEvent(tsEff);
    const bid = book.bid;
    const ask = book.ask;
    const valid = cls === "first" || cls === "reset" || cls === "normal";

    this.writeOrderbook(ev, recvTsMs, cls === "normal");
    if (book.seqAuditFailed) {
      c.seq_chain_broken = 1;
      this.event(book.tsMs, "seq_chain_broken", null, null, `{"gaps":${book.seqGaps},"messages":${book.kept}}`, null);
    } else if (book.seqGap && c.seq_chain_broken === 0) {
      // Once `pu` is known not to chain, per-message gap events are noise; flag and counter remain.
      this.seqGapEvent(ev);
    }

    if (cls === "crossed") {
      const bb = bid.px[0];
      const ba = ask.px[0];
      const sp = ((ba - bb) / ((bb + ba) / 2)) * 1e4;
      this.event(book.tsMs, "crossed_book", null, sp, `{"best_bid":${bb},"best_ask":${ba}}`, null);
    }

    if (cls === "reset") {
      this.ofi.reset();
      c.ofi_resets++;
      this.divergence.onReset(tsEff);
      this.event(book.tsMs, "ofi_reset", null, null, `{"reason":"${book.resetReason}","gap_ms":${book.gapMs}}`, null);
    }

    if (valid) {
      const bb = bid.px[0];
      const ba = ask.px[0];
      const mid = (bb + ba) / 2;
      const spreadBps = ((ba - bb) / mid) * 1e4;
      this.mid = mid;
      this.spreadBps = spreadBps;
      this.validBid = bb;
      this.validAsk = ba;
      this.fills.push(book.tsMs, bb, ba);
      this.regime.onValidBook(tsEff, mid);
      this.divergence.onValidBook(tsEff, mid);
      this.features.onValidBook(tsEff, mid, spreadBps);
    }

    if (cls === "normal") {
      const ofi = this.ofi;
      ofi.update(book.prevBid, book.prevAsk, bid, ask, tsEff);
      const label = this.regime.label(tsEff);
      this.lastLabel = label;
      this.writeOfi(ev, label);
      const v = ofi.value;
      if (v !== null) {
        this.lastOfiValue = v;
        this.divergence.onOfi(tsEff, v);
        this.features.onOfi(tsEff, v, ofi.z);
      }
      if (ofi.z !== null) {
        this.lastOfiZ = ofi.z;
        this.fusion.onOfiZ(ofi.z, tsEff, book.tsMs);
      }
    }
    this.advance();
  }

  // ------------------------------------------------------------------------------------------------
  // Trade stream

  onTrade(ev: AggTradeEvent, recvTsMs: number, backfilled = false): void {
    const c = this.c;
    const a = ev.aggId;
    const ts = ev.tradeTime ?? ev.eventTime;
    if (this.lastA === this.lastA) {
      if (a <= this.lastA) {
        c.dup_trades++;
        return;
      }
      if (a > this.lastA + 1) this.tradeGap(this.lastA + 1, a - 1, ts);
    }
    // Set before validation so a rejected trade does not create a false gap (§2.2).
    this.lastA = a;
    const price = ev.price;
    const qty = ev.qty;
    const m = ev.buyerIsMaker;
    if (ts === null || m === null || !(price > 0) || !(qty > 0) || price === Number.POSITIVE_INFINITY || qty === Number.POSITIVE_INFINITY) {
      c.bad_trades++;
      return;
    }
    const tsEff = ts > this.tradeTsEff ? ts : this.tradeTsEff;
    this.tradeTsEff = tsEff;
    c.trades++;
    if (backfilled) c.backfilled_trades++;
    const side: 1 | -1 = m ? -1 : 1;

    this.regime.onTrade(tsEff);
    const label = this.regime.label(tsEff);
    this.lastLabel = label;

    const cvd = this.cvd;
    cvd.update(tsEff, price, qty, side);
    this.writeCvd(a, ts, label);
    this.writePrices(ev, ts, recvTsMs, label, backfilled);
    this.lastPrice = price;
    this.lastTradeTsMs = ts;

    this.divergence.onTrade(tsEff, cvd.cvd, price);
    this.features.onTrade(tsEff, price, qty, side, cvd.cvd, cvd.zCvd);

    const zc = cvd.zCvd;
    if (zc !== null) {
      this.lastZCvd = zc;
      const f = this.fusion.onTrade(zc, tsEff, ts);
      if (f !== null) {
        this.writeFusion(f, a, label);
        this.features.onFusion(tsEff, f.score, f.signal);
        if (f.conflict) {
          c.conflicts++;
          this.event(f.tsMs, "ofi_cvd_conflict", "ofi_cvd", f.conflictStrength, `{"z_ofi":${f.zOfi},"z_cvd":${f.zCvd}}`, label);
        }
      }
    }
    this.advance();
  }

  // ------------------------------------------------------------------------------------------------
  // Control

  /**
   * A `disconnect` control line (§15.5). Public route (depth): full OFI reset, the next kept book is
   * "first". Market route: nothing is reset (the trade-id check and the CVD stale freeze cover it).
   * The `reconnect` event carries the latest event time seen on either stream; before any event there
   * is no meaningful time and only the counter moves.
   */
  onDisconnect(route: Route): void {
    const c = this.c;
    const t = this.book.tsEff > this.tradeTsEff ? this.book.tsEff : this.tradeTsEff;
    if (route === "public") {
      c.reconnects_public++;
      c.ofi_resets++;
      this.book.reconnect();
      this.ofi.reset();
      // The reset belongs to the book stream: placed on its clock (a trade clock ahead of it must not
      // close book bars early). Before any book there is nothing to invalidate.
      if (this.book.tsEff > Number.NEGATIVE_INFINITY) this.divergence.onReset(this.book.tsEff);
    } else {
      c.reconnects_market++;
    }
    if (t > Number.NEGATIVE_INFINITY) this.event(t, "reconnect", route, null, `{"route":"${route}","ofi_reset":${route === "public"}}`, null);
  }

  /** End of input: pending divergence bars and feature seconds are emitted. */
  finish(): void {
    const out = this.divOut;
    this.divergence.finish(out);
    this.flushDivergence();
    this.features.finish(this.emitFeature);
  }

  snapshot(): EngineSnapshot {
    const b = this.book;
    const levels = (s: BookSide): LevelView[] => {
      const out: LevelView[] = [];
      for (let m = 0; m < s.count; m++) out.push({ px: s.px[m], qty: s.qty[m] });
      return out;
    };
    return {
      symbol: this.symbol,
      lastPrice: this.lastPrice,
      lastTradeTsMs: this.lastTradeTsMs,
      mid: this.mid,
      spreadBps: this.spreadBps,
      bestBid: this.validBid,
      bestAsk: this.validAsk,
      bids: b.hasBook ? levels(b.bid) : [],
      asks: b.hasBook ? levels(b.ask) : [],
      bookTsMs: b.hasBook ? b.tsMs : null,
      ofiValue: this.lastOfiValue,
      ofiZ: this.lastOfiZ,
      cvd: this.cvd.cvd,
      zCvd: this.lastZCvd,
      fusionScore: this.lastFusionScore,
      fusionSignal: this.lastFusionSignal,
      regime: this.lastLabel,
      counters: { ...this.c },
    };
  }

  /** Calculator internals not in any row (tests and debugging): CVD EWMAs, last OFI e_m vector. */
  diagnostics(): { readonly cvdFast: number; readonly cvdSlow: number; readonly ofiE: readonly number[]; readonly ofiHistory: number } {
    return { cvdFast: this.cvd.fast, cvdSlow: this.cvd.slow, ofiE: Array.from(this.ofi.e), ofiHistory: this.ofi.historySize };
  }

  // ------------------------------------------------------------------------------------------------
  // Rows

  private advance(): void {
    this.divergence.advance(this.book.tsEff, this.tradeTsEff, this.divOut);
    if (this.divOut.length > 0) this.flushDivergence();
    this.features.advance(this.book.tsEff, this.tradeTsEff, this.emitFeature);
  }

  private flushDivergence(): void {
    const out = this.divOut;
    for (let i = 0; i < out.length; i++) {
      const e = out[i];
      this.c.divergences++;
      this.event(e.tsMs, e.type, e.channel, e.strength, JSON.stringify(e.detail), this.regime.label(e.tsMs));
    }
    out.length = 0;
  }

  private writeOrderbook(ev: DepthEvent, recvTsMs: number, normal: boolean): void {
    const r = this.rBook;
    const book = this.book;
    const bid = book.bid;
    const ask = book.ask;
    r.ts_ms = book.tsMs;
    r.recv_ts_ms = recvTsMs;
    const hasBid = bid.count > 0;
    const hasAsk = ask.count > 0;
    r.best_bid = hasBid ? bid.px[0] : null;
    r.best_ask = hasAsk ? ask.px[0] : null;
    if (hasBid && hasAsk) {
      const mid = (bid.px[0] + ask.px[0]) / 2;
      r.mid = mid;
      r.spread_bps = ((ask.px[0] - bid.px[0]) / mid) * 1e4;
    } else {
      r.mid = null;
      r.spread_bps = null;
    }
    r.first_id = ev.firstId;
    r.last_id = ev.lastId;
    r.prev_last_id = ev.prevLastId;
    for (let m = 0; m < BOOK_LEVELS; m++) {
      r[D_BID[m]] = normal ? book.dBid[m] : null;
      r[D_ASK[m]] = normal ? book.dAsk[m] : null;
      const hb = m < bid.count;
      const ha = m < ask.count;
      r[BID_PX[m]] = hb ? bid.px[m] : null;
      r[BID_QTY[m]] = hb ? bid.qty[m] : null;
      r[ASK_PX[m]] = ha ? ask.px[m] : null;
      r[ASK_QTY[m]] = ha ? ask.qty[m] : null;
    }
    r.d_bid_qty_agg = normal ? book.dBidAgg : null;
    r.d_ask_qty_agg = normal ? book.dAskAgg : null;
    r.seq_gap = book.seqGap;
    this.sink.append("orderbook", r);
  }

  private writeOfi(ev: DepthEvent, label: Scenario): void {
    const r = this.rOfi;
    const ofi = this.ofi;
    const book = this.book;
    r.ts_ms = book.tsMs;
    r.last_id = ev.lastId;
    r.ofi_value = ofi.value;
    r.ofi_z = ofi.z;
    r.scale = ofi.scale;
    r.lag_ms_to_trade = this.tradeTsEff === Number.NEGATIVE_INFINITY ? null : Math.abs(book.tsEff - this.tradeTsEff);
    r.std_floor_hit = ofi.stdFloorHit;
    r.seq_gap = book.seqGap;
    r.scenario_2x2 = label;
    this.c.ofi_rows++;
    this.sink.append("ofi", r);
  }

  private writeCvd(aggId: number, tsMs: number, label: Scenario): void {
    const r = this.rCvd;
    const cvd = this.cvd;
    r.ts_ms = tsMs;
    r.agg_trade_id = aggId;
    r.cvd = cvd.cvd;
    r.delta = cvd.delta;
    r.z_raw = cvd.zRaw;
    r.z_cvd = cvd.zCvd;
    r.scale = cvd.scale;
    r.floor = cvd.floor;
    r.floor_used = cvd.floorUsed;
    r.scenario_2x2 = label;
    this.sink.append("cvd", r);
  }

  private writePrices(ev: AggTradeEvent, tsMs: number, recvTsMs: number, label: Scenario, backfilled: boolean): void {
    const r = this.rPrices;
    r.ts_ms = tsMs;
    r.recv_ts_ms = recvTsMs;
    r.price = ev.price;
    r.qty = ev.qty;
    r.agg_trade_id = ev.aggId;
    r.first_trade_id = ev.firstTradeId;
    r.last_trade_id = ev.lastTradeId;
    r.is_buyer_maker = ev.buyerIsMaker === true;
    r.latency_ms = ev.eventTime === null ? null : recvTsMs - ev.eventTime;
    if (this.fills.find(tsMs)) {
      r.best_buy_fill = this.fills.bestAsk;
      r.best_sell_fill = this.fills.bestBid;
    } else {
      r.best_buy_fill = null;
      r.best_sell_fill = null;
    }
    r.scenario_2x2 = label;
    r.backfilled = backfilled;
    this.sink.append("prices", r);
  }

  private writeFusion(f: FusionOutput, aggId: number, label: Scenario): void {
    const r = this.rFusion;
    r.ts_ms = f.tsMs;
    r.agg_trade_id = aggId;
    r.score = f.score;
    r.proba = f.proba;
    r.consistency = f.consistency;
    r.dispersion = f.dispersion;
    r.signal = f.signal;
    r.z_ofi = f.zOfi;
    r.z_cvd = f.zCvd;
    r.lag_ms = f.lagMs;
    r.degraded = f.degraded;
    r.scenario_2x2 = label;
    this.lastFusionScore = f.score;
    this.lastFusionSignal = f.signal;
    this.c.fusion_rows++;
    this.sink.append("fusion", r);
  }

  private writeFeatures(f: FeatureRow): void {
    const r = this.rFeatures;
    r.ts_ms = f.tsMs;
    r.mid = f.mid;
    r.spread_bps = f.spreadBps;
    r.ofi_sum = f.ofiSum;
    r.ofi_z_last = f.ofiZLast;
    r.cvd = f.cvd;
    r.z_cvd_last = f.zCvdLast;
    r.fusion_score = f.fusionScore;
    r.fusion_signal = f.fusionSignal;
    r.trade_count = f.tradeCount;
    r.buy_volume = f.buyVolume;
    r.sell_volume = f.sellVolume;
    r.vwap = f.vwap;
    r.realized_vol_bps = f.realizedVolBps;
    r.tps = f.tps;
    r.scenario_2x2 = f.scenario;
    this.sink.append("features", r);
  }

  private event(tsMs: number, type: string, channel: string | null, strength: number | null, detail: string | null, label: Scenario | null): void {
    const r = this.rEvent;
    r.ts_ms = tsMs;
    r.type = type;
    r.channel = channel;
    r.strength = strength;
    r.detail = detail;
    r.scenario_2x2 = label;
    this.sink.append("events", r);
  }

  private seqGapEvent(ev: DepthEvent): void {
    const b = this.book;
    this.event(b.tsMs, "seq_gap", null, null, `{"expected_pu":${b.expectedPu},"pu":${ev.prevLastId},"first_id":${ev.firstId},"last_id":${ev.lastId}}`, null);
  }

  private tradeGap(fromId: number, toId: number, ts: number | null): void {
    const c = this.c;
    c.trade_id_gaps++;
    c.trade_ids_missing += toId - fromId + 1;
    const t = ts ?? (this.tradeTsEff > Number.NEGATIVE_INFINITY ? this.tradeTsEff : 0);
    this.event(t, "trade_id_gap", null, null, `{"from_id":${fromId},"to_id":${toId},"missing":${toId - fromId + 1}}`, null);
  }
}
