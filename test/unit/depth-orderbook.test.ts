// /orderbook in full-depth mode (src/pipeline/status.ts buildOrderbook): while the kept book is out of
// sync its sides are empty, and the touch the engine last saw (the dropped book's) is not shown
// either: best bid/ask, mid and spread are null, and `state` says why.
import { describe, expect, test } from "bun:test";
import type { DepthEvent } from "../../src/core/market-events.ts";
import { DepthSync } from "../../src/exchange/binance/depth/depth-sync.ts";
import type { BookSnapshot } from "../../src/exchange/binance/depth/snapshot.ts";
import { buildOrderbook, type CollectorParts } from "../../src/pipeline/status.ts";

const SYMBOL = "TESTUSDT";
const range = (from: number, n: number, step: number) => Array.from({ length: n }, (_, i) => from + i * step);
const snap = (L: number, bids: number[], asks: number[]): BookSnapshot =>
  ({ lastUpdateId: L, eventTime: null, bidPx: Float64Array.from(bids), bidQty: Float64Array.from(bids, () => 1), askPx: Float64Array.from(asks), askQty: Float64Array.from(asks, () => 1), limit: 10 }) as unknown as BookSnapshot;
const diff = (U: number, u: number, pu: number, bids: number[][] = [], asks: number[][] = []): DepthEvent =>
  ({ kind: "depth", symbol: SYMBOL, eventTime: u, transactTime: u, firstId: U, lastId: u, prevLastId: pu, bids: Float64Array.from(bids.flat()), asks: Float64Array.from(asks.flat()) }) as DepthEvent;

/** The parts buildOrderbook reads: the feed keys, the engine's snapshot (its last top 5), the book. */
function parts(book: DepthSync): CollectorParts {
  const engine = { snapshot: () => ({ bookTsMs: 1000, bestBid: 100, bestAsk: 101, mid: 100.5, spreadBps: 99.5, bids: [], asks: [] }) };
  return {
    cfg: { feed: { depth: "full", enable_orderbook: true } },
    engines: new Map([[SYMBOL, engine]]),
    pipeline: { symbols: new Map([[SYMBOL, { book }]]) },
  } as unknown as CollectorParts;
}

describe("/orderbook in full-depth mode", () => {
  test("in sync: the kept book and the engine's touch; resyncing: empty sides and a null touch", () => {
    const book = new DepthSync(SYMBOL, { fullLevels: 5, maxLevels: 1000, snapshotEveryMs: 0, refreshBelow: 6 }, { top() {}, needSnapshot() {} }, null);
    const p = parts(book);
    const waiting = buildOrderbook(p, SYMBOL, 3) as Record<string, unknown>;
    expect(waiting).toMatchObject({ mode: "full", state: "waiting", best_bid: null, best_ask: null, mid: null, spread_bps: null, bids: [], asks: [], last_update_id: null });
    book.onDiff(diff(99, 100, 98), 1);
    book.onSnapshot(snap(100, range(100, 10, -1), range(101, 10, 1)), 2);
    const synced = buildOrderbook(p, SYMBOL, 2) as Record<string, unknown>;
    expect(synced).toMatchObject({ mode: "full", state: "synced", best_bid: 100, best_ask: 101, mid: 100.5, spread_bps: 99.5, last_update_id: 100 });
    expect(synced.bids).toEqual([{ px: 100, qty: 1 }, { px: 99, qty: 1 }]);
    expect(synced.asks).toEqual([{ px: 101, qty: 1 }, { px: 102, qty: 1 }]);
    // A pu break: the book is dropped, and /orderbook shows nothing of it until a snapshot aligns.
    book.onDiff(diff(110, 111, 105), 3);
    expect(book.state).toBe("resyncing");
    const resyncing = buildOrderbook(p, SYMBOL, 2) as Record<string, unknown>;
    expect(resyncing).toMatchObject({ mode: "full", state: "resyncing", best_bid: null, best_ask: null, mid: null, spread_bps: null, bids: [], asks: [], last_update_id: null });
  });
});
