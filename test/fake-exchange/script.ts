// Turns a recording into a timed, loopable script of pre-serialised frame pieces: depth5@100ms
// snapshots folded from the diff stream, and aggTrades. Built once per recording and shared by every
// fake exchange (and every synthetic clone) in the process.
import { OrderBook, levelsJson, syncIndex } from "./book.ts";
import { foldDiffs, wrapDiff, type DiffItem } from "./diff-depth.ts";
import { loadRecording, type SymbolSeries } from "./fixtures.ts";

export const DEPTH_LEVELS = 5;
const GRID_MS = 100;

export interface TradeItem {
  readonly kind: "trade";
  /** Recorded event time, ms after the recording's start. */
  readonly t: number;
  /** Recorded E − T. */
  readonly lag: number;
  readonly a: number;
  readonly f: number;
  readonly l: number;
  /** `"p":"…","q":"…"` exactly as recorded. */
  readonly pq: string;
  readonly m: boolean;
}

export interface DepthItem {
  readonly kind: "depth";
  readonly t: number;
  readonly lag: number;
  readonly U: number;
  readonly u: number;
  readonly pu: number;
  /** `"b":[…5],"a":[…5]` */
  readonly book: string;
  /** Diffs [sync, diffEnd) of the series make up the book this item shows (for REST depth). */
  readonly diffEnd: number;
}

export type ScriptItem = TradeItem | DepthItem | DiffItem;

export interface SymbolScript {
  readonly symbol: string;
  readonly series: SymbolSeries;
  /** Index of the first diff applied on top of the snapshot. */
  readonly sync: number;
  readonly items: readonly ScriptItem[];
  readonly depthItems: number;
  readonly tradeItems: number;
  /** Loop length in recorded ms; shared by all symbols of a recording so they stay in step. */
  readonly period: number;
  /** Added to the ids once per completed loop so every id series continues seamlessly. */
  readonly shift: { readonly a: number; readonly tradeId: number; readonly updateId: number; readonly diffId: number };
}

/**
 * Folds the diff stream into depth5 snapshots on the 100 ms grid of E: all diffs whose E falls in
 * one grid cell are applied, then a snapshot is emitted at the cell's end if the top 5 differs from
 * the last one emitted. Diffs of a cell that changed nothing visible are folded into the next
 * emission, so consecutive emissions cover contiguous update-id ranges and `pu` chains.
 */
export function foldDepth5(series: SymbolSeries): { readonly sync: number; readonly items: DepthItem[] } {
  const { diffs, snapshot } = series;
  const sync = syncIndex(snapshot, diffs);
  const book = OrderBook.fromSnapshot(snapshot);
  const items: DepthItem[] = [];
  let lastBook = "";
  let prevU = diffs[sync].pu;
  let pendingFrom = sync;
  for (let i = sync; i < diffs.length; i++) {
    book.apply(diffs[i]);
    const cell = Math.floor(diffs[i].E / GRID_MS);
    const cellClosed = i + 1 === diffs.length || Math.floor(diffs[i + 1].E / GRID_MS) !== cell;
    if (!cellClosed) continue;
    const text = `"b":${levelsJson(book.bids(DEPTH_LEVELS))},"a":${levelsJson(book.asks(DEPTH_LEVELS))}`;
    if (text === lastBook) continue;
    const at = (cell + 1) * GRID_MS;
    items.push({
      kind: "depth",
      t: at,
      lag: at - diffs[i].T,
      U: diffs[pendingFrom].U,
      u: diffs[i].u,
      pu: prevU,
      book: text,
      diffEnd: i + 1,
    });
    lastBook = text;
    prevU = diffs[i].u;
    pendingFrom = i + 1;
  }
  return { sync, items };
}

function tradeItems(series: SymbolSeries): TradeItem[] {
  return series.trades.map((tr) => ({
    kind: "trade",
    t: tr.E,
    lag: tr.E - tr.T,
    a: tr.a,
    f: tr.f,
    l: tr.l,
    pq: `"p":"${tr.p}","q":"${tr.q}"`,
    m: tr.m,
  }));
}

const cache = new Map<string, ReadonlyMap<string, SymbolScript>>();

/**
 * Scripts for every symbol of a recording (times made relative to the recording's first item).
 * `withDiffs` adds the diff-depth stream (diff-depth.ts), with its loop-wrap diff.
 */
export function recordingScripts(recordingId: string, withDiffs = false): ReadonlyMap<string, SymbolScript> {
  const key = `${recordingId}|${withDiffs}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const rec = loadRecording(recordingId);
  const raw = [...rec.symbols.values()].map((series) => {
    const depth = foldDepth5(series);
    return { series, sync: depth.sync, depth: depth.items, trades: tradeItems(series), diffs: withDiffs ? foldDiffs(series) : [] };
  });
  let t0 = Infinity;
  let tEnd = -Infinity;
  for (const r of raw) {
    for (const list of [r.depth, r.trades, r.diffs]) {
      if (list.length === 0) continue;
      t0 = Math.min(t0, list[0].t);
      tEnd = Math.max(tEnd, list[list.length - 1].t);
    }
  }
  // One grid step after the last item, so the wrap looks like any other 100 ms of the recording.
  const period = tEnd - t0 + GRID_MS;
  const out = new Map<string, SymbolScript>();
  for (const r of raw) {
    const diffs: DiffItem[] = r.diffs.map((it) => ({ ...it, t: it.t - t0 }));
    // The wrap diff goes out half a grid step before the loop restarts.
    if (diffs.length > 0) diffs.push(wrapDiff(r.series, diffs, period - 50));
    const items: ScriptItem[] = [...r.depth, ...r.trades, ...diffs].map((it) => (it.kind === "diff" ? it : { ...it, t: it.t - t0 }));
    // Stable sort; at equal times the book goes first, as the trade's effect shows in the next one.
    items.sort((x, y) => x.t - y.t || (x.kind === "trade" ? 1 : 0) - (y.kind === "trade" ? 1 : 0));
    const firstTrade = r.trades[0];
    const lastTrade = r.trades[r.trades.length - 1];
    const firstDepth = r.depth[0];
    const lastDepth = r.depth[r.depth.length - 1];
    out.set(r.series.symbol, {
      symbol: r.series.symbol,
      series: r.series,
      sync: r.sync,
      items,
      depthItems: r.depth.length,
      tradeItems: r.trades.length,
      period,
      shift: {
        a: firstTrade ? lastTrade.a - firstTrade.a + 1 : 0,
        tradeId: firstTrade ? lastTrade.l - firstTrade.f + 1 : 0,
        // First pu of loop k+1 must equal the last u of loop k.
        updateId: lastDepth.u - firstDepth.pu,
        // First diff pu of loop k+1 must equal the wrap diff's u of loop k.
        diffId: diffs.length > 0 ? diffs[diffs.length - 1]!.u - diffs[0]!.pu : 0,
      },
    });
  }
  cache.set(key, out);
  return out;
}
