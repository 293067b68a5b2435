/**
 * Synthetic markets whose truth the test controls, written as the Parquet rows the trainer reads
 * (prices and orderbook under raw/, fusion and features under preview/) with the project's own
 * writer (ColumnBatchBuilder + encodeBatch + the Hive layout), so they are real files.
 *
 * - `edge: "none"`: the price is a random walk independent of the order-flow score; no signal can
 *   know its future.
 * - `edge: "regime"`: after a signal, the price drifts WITH the signal while the regime is A_H and
 *   AGAINST it while the regime is Q_L (other regimes: nothing). Over all signals the plain rule
 *   wins about as often as a coin; a model that looks at the regime finds the edge.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Cell, Row, RowKind } from "../../src/core/rows.ts";
import { DAY_MS } from "../../src/sinks/parquet/columns.ts";
import { ColumnBatchBuilder } from "../../src/sinks/parquet/batch-builder.ts";
import { encodeBatch } from "../../src/sinks/parquet/encode.ts";
import { partitionDir, partFileName } from "../../src/sinks/parquet/files.ts";
import { prng } from "../helpers/prng.ts";
import { EntrySignals, FusionSignalChanges } from "../../src/models/signals.ts";
import { FLAT_FEATURES, featureSignature } from "../../src/models/features.ts";
import type { TrainRequest } from "../../src/models/train.ts";
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelFile } from "../../src/models/model-file.ts";
import { StrategyParamsSchema } from "../../src/trading/strategy/params.ts";

export interface MarketSpec {
  readonly symbol: string;
  readonly startMs: number;
  readonly minutes: number;
  readonly seed: number;
  readonly edge: "none" | "regime";
  /** Trade spacing. */
  readonly tradeMs?: number;
  /** Drift per trade after a signal in an edge regime, bps. */
  readonly driftBps?: number;
  /** Which signals the edge follows: fusion signal changes (default) or the strategy's entries. */
  readonly plantAt?: "fusion" | "strategy";
}

export interface Market {
  readonly rows: Record<"prices" | "orderbook" | "fusion" | "features", Row[]>;
}

const REGIMES = ["A_H", "A_L", "Q_H", "Q_L"] as const;

function gauss(r: () => number): number {
  let u = 0;
  while (u === 0) u = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

export function makeMarket(spec: MarketSpec): Market {
  const r = prng(spec.seed);
  const dt = spec.tradeMs ?? 250;
  const n = Math.floor((spec.minutes * 60_000) / dt);
  const drift = spec.driftBps ?? 0.15;
  const prices: Row[] = [];
  const fusion: Row[] = [];
  const orderbook: Row[] = [];
  const features: Row[] = [];
  let mid = 100;
  let score = 0;
  let regime: (typeof REGIMES)[number] = "A_H";
  let regimeUntil = 0;
  const entries = spec.plantAt === "strategy" ? new EntrySignals(StrategyParamsSchema.parse({})) : new FusionSignalChanges();
  // active planted drifts: [remaining trades, bps per trade]
  const drifts: [number, number][] = [];
  let cvd = 0;
  // per-second accumulators
  let secEnd = Math.ceil(spec.startMs / 1000) * 1000;
  let count = 0, buyV = 0, sellV = 0, lastMidSec = mid;
  const rets: number[] = [];
  for (let i = 0; i < n; i++) {
    const ts = spec.startMs + i * dt;
    while (ts > secEnd) {
      const ret = ((mid - lastMidSec) / lastMidSec) * 1e4;
      rets.push(ret);
      if (rets.length > 60) rets.shift();
      const rv = Math.sqrt(rets.reduce((a, b) => a + b * b, 0) / rets.length);
      features.push({
        symbol: spec.symbol, ts_ms: secEnd, mid, spread_bps: 1, ofi_sum: 0, ofi_z_last: score * 0.8, cvd, z_cvd_last: score * 0.9, fusion_score: score,
        fusion_signal: "neutral", trade_count: count, buy_volume: buyV, sell_volume: sellV, vwap: count > 0 ? mid : null, realized_vol_bps: rv, tps: count, scenario_2x2: regime,
      });
      lastMidSec = mid;
      count = 0; buyV = 0; sellV = 0;
      secEnd += 1000;
    }
    if (ts >= regimeUntil) {
      regime = REGIMES[Math.floor(r() * 4)];
      regimeUntil = ts + 60_000 + Math.floor(r() * 180_000);
    }
    // price: random walk plus planted drifts
    let step = gauss(r) * 0.8;
    for (const d of drifts) {
      step += d[1];
      d[0]--;
    }
    while (drifts.length > 0 && drifts[0][0] <= 0) drifts.shift();
    mid *= 1 + step / 1e4;
    const half = mid * 0.5e-4;
    const isBuy = r() < 0.5;
    const qty = 0.1 + r();
    cvd += isBuy ? qty : -qty;
    count++;
    if (isBuy) buyV += qty; else sellV += qty;
    const priceRow: Row = {
      symbol: spec.symbol, ts_ms: ts, recv_ts_ms: ts + 3, price: isBuy ? mid + half : mid - half, qty, agg_trade_id: 1000 + i, first_trade_id: 1000 + i, last_trade_id: 1000 + i,
      is_buyer_maker: !isBuy, latency_ms: 3, best_buy_fill: mid + half, best_sell_fill: mid - half, row_id: `r${i}`, scenario_2x2: regime, backfilled: false,
    };
    prices.push(priceRow);
    entries.onPrices(priceRow);
    // the order-flow score: AR(1), independent of the price's future unless an edge is planted
    score = 0.93 * score + gauss(r) * 0.55;
    const signal = score > 1 ? "buy" : score < -1 ? "sell" : "neutral";
    const fusionRow: Row = {
      symbol: spec.symbol, ts_ms: ts, agg_trade_id: 1000 + i, score, proba: 1 / (1 + Math.exp(-score)), consistency: 0.8, dispersion: 0.1, signal,
      z_ofi: score * 0.9, z_cvd: score * 1.1, lag_ms: 20, degraded: false, scenario_2x2: regime,
    };
    fusion.push(fusionRow);
    // plant the edge at the signals (fusion signal changes, or the strategy's threshold crossings)
    const entry = entries.onFusion(fusionRow);
    if (spec.edge === "regime" && entry !== null) {
      const side = entry === "buy" ? 1 : -1;
      if (regime === "A_H") drifts.push([120, side * drift]);
      else if (regime === "Q_L") drifts.push([120, -side * drift]);
    }
    if (i % 2 === 0) {
      const bq = 1 + r() * 5;
      const aq = 1 + r() * 5;
      const book: Record<string, Cell> = {
        symbol: spec.symbol, ts_ms: ts, recv_ts_ms: ts + 2, best_bid: mid - half, best_ask: mid + half, mid, spread_bps: 1, first_id: i, last_id: i + 1, prev_last_id: i, seq_gap: false,
      };
      for (let m = 0; m < 5; m++) {
        book[`d_b${m}`] = null; book[`d_a${m}`] = null;
        book[`bid_px_${m}`] = mid - half * (1 + m); book[`ask_px_${m}`] = mid + half * (1 + m);
        book[`bid_qty_${m}`] = bq; book[`ask_qty_${m}`] = aq;
      }
      book.d_bid_qty_agg = null; book.d_ask_qty_agg = null;
      orderbook.push(book);
    }
  }
  return { rows: { prices, orderbook, fusion, features } };
}

/** Writes a market's rows as Parquet part files (one per kind and UTC day) under raw/ and preview/. */
export function writeMarket(root: string, symbol: string, m: Market): { rawDir: string; previewDir: string } {
  const rawDir = join(root, "raw");
  const previewDir = join(root, "preview");
  for (const kind of ["prices", "orderbook", "fusion", "features"] as const) {
    const base = kind === "prices" || kind === "orderbook" ? rawDir : previewDir;
    const byDay = new Map<number, Row[]>();
    for (const row of m.rows[kind]) {
      const d = Math.floor((row.ts_ms as number) / DAY_MS);
      if (!byDay.has(d)) byDay.set(d, []);
      byDay.get(d)!.push(row);
    }
    for (const [day, rows] of byDay) {
      const b = new ColumnBatchBuilder(kind as RowKind, symbol, day);
      for (const row of rows) if (!b.append(row)) throw new Error(`${kind}: ${b.lastRejection}`);
      const dir = partitionDir(base, kind as RowKind, symbol, day);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, partFileName(rows[0].ts_ms as number, 0, "synthetic")), encodeBatch(b.take()!));
    }
  }
  return { rawDir, previewDir };
}

/** A logistic model with seeded random weights over the binary's feature list: a valid model file with no edge. */
export function randomLogisticModel(o: { readonly seed: number; readonly threshold: number; readonly flatStd: number; readonly bias: number }): ModelFile {
  const r = prng(o.seed);
  const d = FLAT_FEATURES.length;
  return {
    format: MODEL_FORMAT,
    format_version: MODEL_FORMAT_VERSION,
    name: "logistic",
    created_at: "",
    code_version: "test",
    features: featureSignature(),
    training: { from: "2026-01-01", to: "2026-01-02", symbols: [], samples: 0, wins: 0, seed: 0, folds: 0, embargo_ms: 0, signals: "strategy", data_hash: "0".repeat(64), barrier: { stop_bps: 0, take_profit: [], max_hold_ms: 0, taker_bps: 0, fee_tier: "T" } },
    threshold: o.threshold,
    members: [
      {
        family: "logistic",
        body: { family: "logistic", weights: Array.from({ length: d }, () => r() * 2 - 1), bias: o.bias },
        normalisation: { flat_mean: new Array(d).fill(0), flat_std: new Array(d).fill(o.flatStd), seq_mean: [], seq_std: [] },
      },
    ],
    fold_metrics: [],
    oos: { auc: null, auc_lo: null, auc_hi: null, log_loss: 0, n: 0 },
    verdict: "no edge",
  };
}

/**
 * A training request over a market written by writeMarket on 2026-01-05: fusion signals, barriers of
 * 8 bps a side and a 20 s time stop at 1 bp taker fees, 3 folds, seed 1; `extra` overrides.
 */
export function syntheticTrainRequest(stores: { rawDir: string; previewDir: string }, out: string, families: TrainRequest["families"], extra: Partial<TrainRequest> = {}): TrainRequest {
  return {
    ...stores,
    from: "2026-01-05",
    to: "2026-01-05",
    symbols: null,
    families,
    out,
    seed: 1,
    folds: 3,
    threshold: 0.6,
    barrier: { stopBps: 8, takeProfit: [{ at_bps: 8, fraction: 1 }], maxHoldMs: 20_000, takerBps: 1, feeTier: "T" },
    strategy: StrategyParamsSchema.parse({}),
    signals: "fusion",
    codeVersion: "test",
    epochs: { mlp: 8, lstm: 1, cnn: 1 },
    randomKFold: ["gbdt"],
    ...extra,
  };
}
