/**
 * The training set: one sample per signal (by default each change of the fusion signal to buy or sell) in the stored Parquet (docs/schemas.md),
 * its features built by features.ts from the symbol's rows exactly as live inference builds them,
 * the fusion signal or the strategy's entry rule picking the signals (signals.ts), and its label from paper trading's exit
 * rules (labels.ts).
 *
 * Rows are read back per symbol (prices and orderbook under storage.output_dir, fusion and features
 * under storage.preview_dir) and fed to a SymbolFeatureState in an order that gives it at least what
 * a live process had at each signal: per trade in agg_trade_id order, first the books received up to
 * that trade, then the 1 s rows up to its time, then the prices row, then its fusion row. The feature
 * rules pick inputs by their own columns, so handing over a row early changes nothing.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import type { Row, RowKind } from "../core/rows.ts";
import type { StrategyParams } from "../trading/strategy/params.ts";
import { FLAT_FEATURES, SymbolFeatureState, type SignalVector } from "./features.ts";
import { tripleBarrierLabel, type BarrierParams, type Label, type PriceSeries } from "./labels.ts";
import { EntrySignals, FusionSignalChanges, type SignalRule } from "./signals.ts";

export interface Sample extends SignalVector {
  readonly label: Label;
}

export interface DatasetRequest {
  readonly rawDir: string;
  readonly previewDir: string;
  /** UTC dates, inclusive. */
  readonly from: string;
  readonly to: string;
  readonly symbols: readonly string[] | null;
  readonly barrier: BarrierParams;
  /** The strategy's entry rule (which fusion rows are signals). */
  readonly strategy: Pick<StrategyParams, "regimes" | "min_consistency" | "allow_degraded">;
  /** "fusion": every change of the fusion signal to buy/sell; "strategy": the strategy's entry rule. */
  readonly signals: SignalRule;
}

export interface Dataset {
  readonly samples: readonly Sample[];
  readonly symbols: readonly string[];
  /** Signals without a label (the data ended before a barrier) or without their own trade. */
  readonly unlabelled: number;
  readonly files: number;
  readonly rows: Readonly<Record<string, number>>;
}

const DATE_DIR = /^date=(\d{4}-\d{2}-\d{2})$/;
const SYMBOL_DIR = /^symbol=(.+)$/;
const ZSTD = { ZSTD: (input: Uint8Array): Uint8Array => Bun.zstdDecompressSync(input) };
const PARSERS = { timestampFromMilliseconds: (v: bigint) => Number(v) };

function subdirs(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** Symbols with any partition in the date range under either root. */
export function symbolsInStore(roots: readonly string[], from: string, to: string): string[] {
  const found = new Set<string>();
  for (const root of roots) {
    for (const d of subdirs(root)) {
      const date = DATE_DIR.exec(d)?.[1];
      if (date === undefined || date < from || date > to) continue;
      for (const s of subdirs(join(root, d))) {
        const sym = SYMBOL_DIR.exec(s)?.[1];
        if (sym !== undefined) found.add(sym);
      }
    }
  }
  return [...found].sort();
}

/** Every committed part file of one symbol and kind in the range, in date then name order. */
function partFiles(root: string, kind: RowKind, symbol: string, from: string, to: string): string[] {
  const out: string[] = [];
  if (!existsSync(root)) return out;
  for (const d of subdirs(root)) {
    const date = DATE_DIR.exec(d)?.[1];
    if (date === undefined || date < from || date > to) continue;
    const dir = join(root, d, `symbol=${symbol}`, `kind=${kind}`);
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(".parquet")).sort();
    } catch {
      continue;
    }
    for (const n of names) out.push(join(dir, n));
  }
  return out;
}

const BOOK_COLUMNS = ["ts_ms", "recv_ts_ms", ...[0, 1, 2, 3, 4].flatMap((m) => [`bid_qty_${m}`, `ask_qty_${m}`])];
const COLUMNS: Readonly<Partial<Record<RowKind, readonly string[]>>> = {
  prices: ["ts_ms", "recv_ts_ms", "price", "qty", "agg_trade_id", "is_buyer_maker", "best_buy_fill", "best_sell_fill", "scenario_2x2", "backfilled"],
  orderbook: BOOK_COLUMNS,
  fusion: ["ts_ms", "agg_trade_id", "score", "proba", "consistency", "dispersion", "signal", "z_ofi", "z_cvd", "lag_ms", "degraded", "scenario_2x2"],
  features: ["ts_ms", "mid", "spread_bps", "ofi_z_last", "z_cvd_last", "fusion_score", "trade_count", "buy_volume", "sell_volume", "realized_vol_bps", "tps"],
};

/** Columns without which a kind's rows mean nothing; any other column may be absent (its inputs count as missing). */
const REQUIRED: Readonly<Partial<Record<RowKind, readonly string[]>>> = {
  prices: ["ts_ms", "agg_trade_id", "best_buy_fill", "best_sell_fill"],
  orderbook: ["ts_ms"],
  fusion: ["ts_ms", "agg_trade_id", "score", "signal"],
  features: ["ts_ms"],
};

/** A file that cannot be read stops training with its name: a silently smaller training set would mislead. */
async function readRows(path: string, kind: RowKind, symbol: string): Promise<Row[]> {
  try {
    const file = await Bun.file(path).arrayBuffer();
    const metadata = parquetMetadata(file);
    const present = new Set(metadata.schema.map((s) => s.name));
    const missing = REQUIRED[kind]!.filter((c) => !present.has(c));
    if (missing.length > 0) throw new Error(`no column ${missing.join(", ")}`);
    const columns = COLUMNS[kind]!.filter((c) => present.has(c));
    const rows = (await parquetReadObjects({ file, metadata, columns, compressors: ZSTD, parsers: PARSERS })) as Record<string, unknown>[];
    for (const r of rows) {
      r.symbol = symbol;
      for (const k in r) if (typeof r[k] === "bigint") r[k] = Number(r[k]);
    }
    return rows as Row[];
  } catch (e) {
    throw new Error(`cannot read ${kind} file ${path}: ${(e as Error).message}`);
  }
}

async function readKind(root: string, kind: RowKind, symbol: string, from: string, to: string): Promise<{ rows: Row[]; files: number }> {
  const files = partFiles(root, kind, symbol, from, to);
  const rows: Row[] = [];
  for (const f of files) for (const r of await readRows(f, kind, symbol)) rows.push(r);
  return { rows, files: files.length };
}

const n = (v: unknown): number => (typeof v === "number" ? v : Number.NaN);

/** Samples of one symbol from its rows (exported for tests that build rows in memory). */
export function symbolSamples(
  symbol: string,
  rows: { prices: Row[]; orderbook: Row[]; fusion: Row[]; features: Row[] },
  req: Pick<DatasetRequest, "barrier" | "strategy" | "signals">,
): { samples: Sample[]; unlabelled: number } {
  const prices = [...rows.prices].sort((a, b) => n(a.agg_trade_id) - n(b.agg_trade_id));
  const books = [...rows.orderbook].sort((a, b) => n(a.recv_ts_ms) - n(b.recv_ts_ms) || n(a.ts_ms) - n(b.ts_ms));
  const secs = [...rows.features].sort((a, b) => n(a.ts_ms) - n(b.ts_ms));
  const fusionById = new Map<number, Row>();
  for (const f of rows.fusion) fusionById.set(n(f.agg_trade_id), f);
  const series: PriceSeries = {
    tsMs: Float64Array.from(prices, (r) => n(r.ts_ms)),
    buyFill: Float64Array.from(prices, (r) => n(r.best_buy_fill)),
    sellFill: Float64Array.from(prices, (r) => n(r.best_sell_fill)),
  };
  const entries = req.signals === "strategy" ? new EntrySignals(req.strategy) : new FusionSignalChanges();
  const state = new SymbolFeatureState(symbol);
  const samples: Sample[] = [];
  let unlabelled = 0;
  let bi = 0;
  let si = 0;
  for (let k = 0; k < prices.length; k++) {
    const p = prices[k];
    // a backfilled trade reached the live process late; it takes no earlier inputs along with it
    if (p.backfilled !== true) {
      while (bi < books.length && n(books[bi].recv_ts_ms) <= n(p.recv_ts_ms)) state.onRow("orderbook", books[bi++]);
      while (si < secs.length && n(secs[si].ts_ms) <= n(p.ts_ms)) state.onRow("features", secs[si++]);
    }
    state.onRow("prices", p);
    entries.onPrices(p);
    const f = fusionById.get(n(p.agg_trade_id));
    if (f === undefined) continue;
    state.observeFusion(f);
    const side = entries.onFusion(f);
    if (side === null) continue;
    const v = state.vector(f, side);
    const label = v === null ? null : tripleBarrierLabel(side, series, k, req.barrier);
    if (v === null || label === null) {
      unlabelled++;
      continue;
    }
    samples.push({ ...v, label });
  }
  return { samples, unlabelled };
}

export async function buildDataset(req: DatasetRequest, progress: (line: string) => void): Promise<Dataset> {
  const symbols = req.symbols ?? symbolsInStore([req.rawDir, req.previewDir], req.from, req.to);
  const samples: Sample[] = [];
  let unlabelled = 0;
  let files = 0;
  const counts: Record<string, number> = { prices: 0, orderbook: 0, fusion: 0, features: 0 };
  for (const symbol of symbols) {
    const got: Record<string, Row[]> = {};
    for (const [kind, root] of [["prices", req.rawDir], ["orderbook", req.rawDir], ["fusion", req.previewDir], ["features", req.previewDir]] as const) {
      const r = await readKind(root, kind, symbol, req.from, req.to);
      got[kind] = r.rows;
      files += r.files;
      counts[kind] += r.rows.length;
    }
    const s = symbolSamples(symbol, { prices: got.prices, orderbook: got.orderbook, fusion: got.fusion, features: got.features }, req);
    for (const x of s.samples) samples.push(x);
    unlabelled += s.unlabelled;
    progress(`train: ${symbol}: ${got.prices.length} trades, ${got.fusion.length} fusion rows → ${s.samples.length} labelled signals (${s.unlabelled} without a label)`);
  }
  samples.sort((a, b) => a.tsMs - b.tsMs || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.aggTradeId - b.aggTradeId));
  return { samples, symbols, unlabelled, files, rows: counts };
}

/** SHA-256 over the samples in order: what they are, when, their features and their labels. */
export function dataHash(samples: readonly Sample[]): string {
  const h = new Bun.CryptoHasher("sha256");
  h.update(FLAT_FEATURES.join(","));
  for (const s of samples) {
    h.update(`${s.symbol}|${s.tsMs}|${s.aggTradeId}|${s.side}|${s.label.win ? 1 : 0}|${s.label.retBps}|${s.label.exitTsMs}\n`);
    h.update(new Uint8Array(s.flat.buffer, s.flat.byteOffset, s.flat.byteLength));
    h.update(new Uint8Array(s.seq.buffer, s.seq.byteOffset, s.seq.byteLength));
  }
  return h.digest("hex");
}
