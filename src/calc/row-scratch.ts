/**
 * One mutable row object per kind, reused for every row the engine emits.
 *
 * Contract with `RowSink.append`: a sink copies the values it needs before returning and keeps no
 * reference to the row object, so the engine may overwrite the same object for the next row. This
 * keeps the hot path free of per-row allocation (strings such as `detail` excepted).
 * Keys are created in schema column order (core/rows.ts), with every nullable column present and
 * no computed one (`row_id`: the sinks fill it in).
 */
import type { Cell } from "../core/rows.ts";

type Num = number | null;

export type PricesScratch = {
  symbol: string;
  ts_ms: number;
  recv_ts_ms: number;
  price: number;
  qty: number;
  agg_trade_id: number;
  first_trade_id: Num;
  last_trade_id: Num;
  is_buyer_maker: boolean;
  latency_ms: Num;
  best_buy_fill: Num;
  best_sell_fill: Num;
  scenario_2x2: string | null;
  backfilled: boolean;
};

export type OfiScratch = {
  symbol: string;
  ts_ms: number;
  last_id: number;
  ofi_value: Num;
  ofi_z: Num;
  scale: Num;
  lag_ms_to_trade: Num;
  std_floor_hit: boolean;
  seq_gap: boolean;
  scenario_2x2: string;
};

export type CvdScratch = {
  symbol: string;
  ts_ms: number;
  agg_trade_id: number;
  cvd: number;
  delta: number;
  z_raw: Num;
  z_cvd: Num;
  scale: number;
  floor: number;
  floor_used: boolean;
  scenario_2x2: string;
};

export type FusionScratch = {
  symbol: string;
  ts_ms: number;
  agg_trade_id: number;
  score: number;
  proba: number;
  consistency: number;
  dispersion: Num;
  signal: string;
  z_ofi: number;
  z_cvd: number;
  lag_ms: number;
  degraded: boolean;
  scenario_2x2: string;
};

export type EventScratch = {
  symbol: string;
  ts_ms: number;
  type: string;
  channel: string | null;
  strength: Num;
  detail: string | null;
  scenario_2x2: string | null;
};

export type FeaturesScratch = {
  symbol: string;
  ts_ms: number;
  mid: Num;
  spread_bps: Num;
  ofi_sum: number;
  ofi_z_last: Num;
  cvd: number;
  z_cvd_last: Num;
  fusion_score: Num;
  fusion_signal: string | null;
  trade_count: number;
  buy_volume: number;
  sell_volume: number;
  vwap: Num;
  realized_vol_bps: number;
  tps: number;
  scenario_2x2: string;
};

/** The orderbook row has 50 columns; it is kept as a string-keyed record built in schema order. */
export type OrderbookScratch = Record<string, Cell>;

export function pricesScratch(symbol: string): PricesScratch {
  return {
    symbol,
    ts_ms: 0,
    recv_ts_ms: 0,
    price: 0,
    qty: 0,
    agg_trade_id: 0,
    first_trade_id: null,
    last_trade_id: null,
    is_buyer_maker: false,
    latency_ms: null,
    best_buy_fill: null,
    best_sell_fill: null,
    scenario_2x2: null,
    backfilled: false,
  };
}

export function ofiScratch(symbol: string): OfiScratch {
  return {
    symbol,
    ts_ms: 0,
    last_id: 0,
    ofi_value: null,
    ofi_z: null,
    scale: null,
    lag_ms_to_trade: null,
    std_floor_hit: false,
    seq_gap: false,
    scenario_2x2: "",
  };
}

export function cvdScratch(symbol: string): CvdScratch {
  return {
    symbol,
    ts_ms: 0,
    agg_trade_id: 0,
    cvd: 0,
    delta: 0,
    z_raw: null,
    z_cvd: null,
    scale: 0,
    floor: 0,
    floor_used: false,
    scenario_2x2: "",
  };
}

export function fusionScratch(symbol: string): FusionScratch {
  return {
    symbol,
    ts_ms: 0,
    agg_trade_id: 0,
    score: 0,
    proba: 0,
    consistency: 0,
    dispersion: null,
    signal: "neutral",
    z_ofi: 0,
    z_cvd: 0,
    lag_ms: 0,
    degraded: false,
    scenario_2x2: "",
  };
}

export function eventScratch(symbol: string): EventScratch {
  return { symbol, ts_ms: 0, type: "", channel: null, strength: null, detail: null, scenario_2x2: null };
}

export function featuresScratch(symbol: string): FeaturesScratch {
  return {
    symbol,
    ts_ms: 0,
    mid: null,
    spread_bps: null,
    ofi_sum: 0,
    ofi_z_last: null,
    cvd: 0,
    z_cvd_last: null,
    fusion_score: null,
    fusion_signal: null,
    trade_count: 0,
    buy_volume: 0,
    sell_volume: 0,
    vwap: null,
    realized_vol_bps: 0,
    tps: 0,
    scenario_2x2: "",
  };
}

/** Column names of the per-level orderbook columns, precomputed so the hot path builds no strings. */
export const D_BID = ["d_b0", "d_b1", "d_b2", "d_b3", "d_b4"] as const;
export const D_ASK = ["d_a0", "d_a1", "d_a2", "d_a3", "d_a4"] as const;
export const BID_PX = ["bid_px_0", "bid_px_1", "bid_px_2", "bid_px_3", "bid_px_4"] as const;
export const BID_QTY = ["bid_qty_0", "bid_qty_1", "bid_qty_2", "bid_qty_3", "bid_qty_4"] as const;
export const ASK_PX = ["ask_px_0", "ask_px_1", "ask_px_2", "ask_px_3", "ask_px_4"] as const;
export const ASK_QTY = ["ask_qty_0", "ask_qty_1", "ask_qty_2", "ask_qty_3", "ask_qty_4"] as const;

export function orderbookScratch(symbol: string): OrderbookScratch {
  const r: OrderbookScratch = {
    symbol,
    ts_ms: 0,
    recv_ts_ms: 0,
    best_bid: null,
    best_ask: null,
    mid: null,
    spread_bps: null,
    first_id: null,
    last_id: 0,
    prev_last_id: null,
  };
  for (const k of D_BID) r[k] = null;
  for (const k of D_ASK) r[k] = null;
  r.d_bid_qty_agg = null;
  r.d_ask_qty_agg = null;
  for (const k of BID_PX) r[k] = null;
  for (const k of BID_QTY) r[k] = null;
  for (const k of ASK_PX) r[k] = null;
  for (const k of ASK_QTY) r[k] = null;
  r.seq_gap = false;
  return r;
}
