// The full-depth book against REAL recorded Binance diff depth with its inline REST snapshots
// (../shared/fixtures/binance): every recording syncs at its snapshot with 0 resyncs, the kept book
// equals an independent book (the fake exchange's string-keyed one) level for level inside the
// window it knows exactly, and equals the exchange's own best bid/ask (bookTicker) at every update id
// both streams share.
import { describe, expect, test } from "bun:test";
import { parseDepth } from "../../src/exchange/binance/frame-parser.ts";
import { DepthSync, type DepthSyncOutput } from "../../src/exchange/binance/depth/depth-sync.ts";
import { parseSnapshot } from "../../src/exchange/binance/depth/snapshot.ts";
import type { DepthEvent } from "../../src/core/market-events.ts";
import type { Ladder } from "../../src/exchange/binance/depth/ladder.ts";
import { OrderBook } from "../fake-exchange/book.ts";
import type { DepthSnapshot, DiffEvent } from "../fake-exchange/fixtures.ts";
import { REAL_FILES, type ArrivalItem } from "./depth-support.ts";

const OPTS = { fullLevels: 100, maxLevels: 5000, snapshotEveryMs: 0, refreshBelow: 250 };

function diffEvent(symbol: string, data: Record<string, unknown>): DepthEvent {
  const r = parseDepth(symbol, data);
  if (!r.ok || r.event.kind !== "depth") throw new Error(`unparseable diff: ${JSON.stringify(data).slice(0, 80)}`);
  return r.event;
}

const quiet: DepthSyncOutput = { top: () => {}, needSnapshot: () => {} };

/** Compares one ladder with the reference side inside the ladder's known window; returns the first difference. */
function compareSide(l: Ladder, ref: readonly (readonly [string, string])[], isBid: boolean): string | null {
  const floor = l.floorPrice();
  const inWindow = ref.filter(([p]) => floor === null || (isBid ? Number(p) >= floor : Number(p) <= floor));
  if (inWindow.length !== l.n) return `${isBid ? "bid" : "ask"} levels ${l.n} vs reference ${inWindow.length}`;
  for (let i = 0; i < l.n; i++) {
    const [p, q] = inWindow[i]!;
    if (l.priceAt(i) !== Number(p) || l.qtyAt(i) !== Number(q)) return `${isBid ? "bid" : "ask"} level ${i}: ${l.priceAt(i)}/${l.qtyAt(i)} vs ${p}/${q}`;
  }
  return null;
}

interface Run {
  readonly symbol: string;
  readonly sync: DepthSync;
  readonly checkedDiffs: number;
  readonly tickerMatches: number;
  readonly crossedSeen: number;
  readonly windowResyncs: number;
}

/** Drives one symbol's arrival sequence through DepthSync; checks against the reference after every diff. */
function runSymbol(symbol: string, items: readonly ArrivalItem[], fullCompareEvery = 1): Run {
  const sync = new DepthSync(symbol, OPTS, quiet, null);
  let ref: OrderBook | null = null;
  const refSnapshots: DepthSnapshot[] = [];
  const bestByU = new Map<number, readonly [number, number, number, number]>();
  const tickers: { u: number; b: number; B: number; a: number; A: number }[] = [];
  let checked = 0;
  let windowResyncs = 0;
  let crossed = 0;
  let n = 0;
  const allDiffs = items.filter((x) => x.type === "diff").map((x) => (x as { data: unknown }).data as DiffEvent);
  /** The reference starts from the same snapshot by the same rule, independently, up to update id `u`. */
  const startReference = (u: number): OrderBook => {
    const snap = refSnapshots[refSnapshots.length - 1]!;
    const book = OrderBook.fromSnapshot(snap);
    let i = allDiffs.findIndex((x) => x.u >= snap.lastUpdateId);
    expect(allDiffs[i]!.U).toBeLessThanOrEqual(snap.lastUpdateId);
    for (; i < allDiffs.length && allDiffs[i]!.u <= u; i++) book.apply(allDiffs[i]!);
    return book;
  };
  for (const it of items) {
    if (it.type === "bookTicker") {
      tickers.push({ u: it.data.u, b: Number(it.data.b), B: Number(it.data.B), a: Number(it.data.a), A: Number(it.data.A) });
      continue;
    }
    if (it.type === "snapshot") {
      const p = parseSnapshot(it.body, it.limit);
      expect(p.ok).toBe(true);
      if (!p.ok) continue;
      refSnapshots.push(JSON.parse(it.body) as DepthSnapshot);
      sync.onSnapshot(p.snapshot, it.recv);
      // The bracketing diff may have arrived before the snapshot: then it syncs right here.
      if (sync.state === "synced" && ref === null) ref = startReference(sync.view.lastUpdateId);
      continue;
    }
    const wasSynced = sync.state === "synced";
    const floorB = sync.view.bids.floorPrice() ?? -Infinity;
    const floorA = sync.view.asks.floorPrice() ?? Infinity;
    const before = sync.counters.resyncsWindow;
    sync.onDiff(diffEvent(symbol, it.data), it.recv);
    const d = it.data as unknown as DiffEvent;
    if (ref !== null && (wasSynced || sync.state === "synced")) ref.apply(d);
    if (sync.counters.resyncsWindow > before) {
      // The price walked past the window the snapshot covered: the true best level is in unknown territory.
      const bestBid = Number(ref!.bids(1)[0]?.[0] ?? -Infinity);
      const bestAsk = Number(ref!.asks(1)[0]?.[0] ?? Infinity);
      expect(bestBid < floorB || bestAsk > floorA).toBe(true);
      windowResyncs++;
    }
    if (sync.state !== "synced") continue;
    if (ref === null) ref = startReference(d.u);
    const book = sync.view;
    expect(book.lastUpdateId).toBe(d.u);
    if (book.crossed()) crossed++;
    bestByU.set(d.u, [book.bids.best(), book.bids.qtyAt(0), book.asks.best(), book.asks.qtyAt(0)]);
    if (n++ % fullCompareEvery === 0) {
      const diffB = compareSide(book.bids, ref!.bids(1e9), true);
      const diffA = compareSide(book.asks, ref!.asks(1e9), false);
      if (diffB !== null || diffA !== null) throw new Error(`${symbol} u=${d.u}: ${diffB ?? diffA}`);
      checked++;
    }
  }
  let matches = 0;
  for (const t of tickers) {
    const best = bestByU.get(t.u);
    if (best === undefined) continue;
    expect([t.u, ...best]).toEqual([t.u, t.b, t.B, t.a, t.A]);
    matches++;
  }
  return { symbol, sync, checkedDiffs: checked, tickerMatches: matches, crossedSeen: crossed, windowResyncs };
}

describe("full book on the real recordings", () => {
  for (const load of REAL_FILES) {
    const file = load();
    test(`${file.name}: syncs at the recorded snapshot, equals the reference and the exchange's bookTicker`, () => {
      for (const [symbol, items] of file.bySymbol) {
        const diffs = items.filter((i) => i.type === "diff").length;
        const r = runSymbol(symbol, items, file.name.startsWith("btcusdt_20240808") || file.name.startsWith("ethusdt") ? 7 : 1);
        const c = r.sync.counters;
        // The only resyncs allowed: the price left the window the one recorded snapshot covered (no later
        // snapshot exists in the recording to refresh it; a live run fetches one before it gets there).
        expect(c.resyncs).toBe(r.windowResyncs);
        expect(c.resyncsPuBreak + c.resyncsBadLevel + c.resyncsCrossed).toBe(0);
        if (c.resyncs === 0) expect(r.sync.state).toBe("synced");
        expect(c.snapshotsApplied).toBe(1);
        expect(c.bufferBreaks).toBe(0);
        expect(r.crossedSeen).toBe(0);
        // Every diff from the bracketing one on was applied (up to a window resync).
        if (c.resyncs === 0) expect(c.applied).toBeGreaterThan(diffs * 0.9);
        expect(r.checkedDiffs).toBeGreaterThan(0);
        // hftbacktest files carry hundreds of bookTickers at a diff's final id (the 2023 one: 0 before the snapshot).
        if (file.name.startsWith("btcusdt_20240808")) expect(r.tickerMatches).toBeGreaterThan(300);
        if (file.name.startsWith("ethusdt")) expect(r.tickerMatches).toBeGreaterThan(400);
      }
    }, 60_000);
  }
});
