// The sync state machine under faults, on REAL recorded ETHUSDT diff depth (2024-08-08): a skipped
// diff, a snapshot older than the buffered diffs, a break while buffering, a snapshot ahead of the
// stream, a bad snapshot, and refreshes (including one that finds the running book wrong). Snapshots
// are cut from an independent reference book (the fake exchange's) at the named diff, as the
// exchange's REST would serve them; after every (re)sync the kept book must equal it level for level.
import { describe, expect, test } from "bun:test";
import type { DepthEvent } from "../../src/core/market-events.ts";
import { DepthSync, type DepthSyncOptions } from "../../src/exchange/binance/depth/depth-sync.ts";
import type { Ladder } from "../../src/exchange/binance/depth/ladder.ts";
import { parseSnapshot, type BookSnapshot } from "../../src/exchange/binance/depth/snapshot.ts";
import { parseDepth } from "../../src/exchange/binance/frame-parser.ts";
import { levelsJson, OrderBook } from "../fake-exchange/book.ts";
import type { DepthSnapshot, DiffEvent } from "../fake-exchange/fixtures.ts";
import { loadHftbacktest } from "./depth-support.ts";

const items = loadHftbacktest("ethusdt_20240808.gz").bySymbol.get("ETHUSDT")!;
const recorded = JSON.parse((items.find((i) => i.type === "snapshot") as { body: string }).body) as DepthSnapshot;
const diffs = items.filter((i) => i.type === "diff").map((i) => (i as { data: unknown }).data as DiffEvent);
const start = diffs.findIndex((d) => d.u >= recorded.lastUpdateId);
/** The exchange's book after each diff (index), from the recorded snapshot, computed once lazily. */
const truth: OrderBook[] = [];
function exchangeBookAfter(i: number): OrderBook {
  // Rebuilt from scratch each time (OrderBook has no copy); callers use few indices.
  const b = OrderBook.fromSnapshot(recorded);
  for (let j = start; j <= i; j++) b.apply(diffs[j]!);
  truth[i] = b;
  return b;
}

/** The REST answer the exchange would give right after diff i, limited to `limit` levels. */
function snapshotAt(i: number, limit = 1000, tamper?: (body: { bids: [string, string][] }) => void): BookSnapshot {
  const b = exchangeBookAfter(i);
  const body = { lastUpdateId: diffs[i]!.u, E: diffs[i]!.E, T: diffs[i]!.T, bids: b.bids(limit).map((l) => [l[0], l[1]] as [string, string]), asks: b.asks(limit).map((l) => [l[0], l[1]] as [string, string]) };
  tamper?.(body);
  const p = parseSnapshot(`{"lastUpdateId":${body.lastUpdateId},"E":${body.E},"T":${body.T},"bids":${levelsJson(body.bids)},"asks":${levelsJson(body.asks)}}`, limit);
  if (!p.ok) throw new Error(p.reason);
  return p.snapshot;
}

const ev = (i: number): DepthEvent => {
  const r = parseDepth("ETHUSDT", diffs[i] as unknown as Record<string, unknown>);
  if (!r.ok || r.event.kind !== "depth") throw new Error("bad diff");
  return r.event;
};

function sameInWindow(l: Ladder, ref: readonly (readonly [string, string])[], isBid: boolean): void {
  const floor = l.floorPrice();
  const inWindow = ref.filter(([p]) => floor === null || (isBid ? Number(p) >= floor : Number(p) <= floor));
  expect(l.n).toBe(inWindow.length);
  for (let i = 0; i < l.n; i++) expect([l.priceAt(i), l.qtyAt(i)]).toEqual([Number(inWindow[i]![0]), Number(inWindow[i]![1])]);
}

function expectExchangeBook(sync: DepthSync, i: number): void {
  expect(sync.state).toBe("synced");
  expect(sync.view.lastUpdateId).toBe(diffs[i]!.u);
  const ref = truth[i] ?? exchangeBookAfter(i);
  sameInWindow(sync.view.bids, ref.bids(1e9), true);
  sameInWindow(sync.view.asks, ref.asks(1e9), false);
}

class Harness {
  readonly sync: DepthSync;
  needs = 0;
  tops: DepthEvent[] = [];
  crossedSeen = 0;
  constructor(opts: Partial<DepthSyncOptions> = {}) {
    this.sync = new DepthSync("ETHUSDT", { fullLevels: 100, maxLevels: 5000, snapshotEveryMs: 0, refreshBelow: 250, ...opts }, {
      top: (e) => this.tops.push({ ...e, bids: e.bids.slice(), asks: e.asks.slice() }),
      needSnapshot: () => this.needs++,
    }, null);
  }
  diffs(from: number, to: number, skip: readonly number[] = []): void {
    for (let i = from; i <= to; i++) {
      if (skip.includes(i)) continue;
      this.sync.onDiff(ev(i), diffs[i]!.E);
      if (this.sync.state === "synced" && this.sync.view.crossed()) this.crossedSeen++;
    }
  }
  snapshot(s: BookSnapshot | null): void {
    this.sync.onSnapshot(s, 0);
  }
}

describe("depth sync under faults (real ETHUSDT diffs)", () => {
  test("first sync: diffs buffered before the snapshot, the bracketing one applied first", () => {
    const h = new Harness();
    h.diffs(start - 3, start + 2);
    expect(h.sync.state).toBe("waiting");
    expect(h.needs).toBeGreaterThan(0);
    h.snapshot(snapshotAt(start, 1000));
    // Snapshot at diff `start`'s u: that diff brackets it (U ≤ L ≤ u) and is applied, then the rest.
    expectExchangeBook(h.sync, start + 2);
    expect(h.sync.counters.snapshotsApplied).toBe(1);
  });

  test("a skipped diff breaks the pu chain: resync, a stale snapshot is refused, the next one realigns", () => {
    const h = new Harness();
    h.diffs(start - 2, start + 1);
    h.snapshot(snapshotAt(start));
    h.diffs(start + 2, start + 400, [start + 300]);
    // Nothing after the hole was applied to the old book.
    expect(h.sync.counters.resyncs).toBe(1);
    expect(h.sync.counters.resyncsPuBreak).toBe(1);
    expect(h.sync.state).toBe("resyncing");
    expect(h.sync.counters.applied).toBe(start + 299 - start + 1);
    const topsBefore = h.tops.length;
    // A snapshot from before the hole: older than every buffered diff.
    h.snapshot(snapshotAt(start + 250));
    expect(h.sync.counters.snapshotsStale).toBe(1);
    expect(h.sync.state).toBe("resyncing");
    expect(h.tops.length).toBe(topsBefore);
    h.snapshot(snapshotAt(start + 350));
    expectExchangeBook(h.sync, start + 400);
    h.diffs(start + 401, start + 900);
    expectExchangeBook(h.sync, start + 900);
    expect(h.crossedSeen).toBe(0);
    // The first top-5 event after the resync says the chain broke (its pu is not the last one emitted).
    const after = h.tops[topsBefore]!;
    expect(after.prevLastId).not.toBe(h.tops[topsBefore - 1]!.lastId);
  });

  test("a break while buffering drops what was buffered before it; a snapshot ahead of the stream waits", () => {
    const h = new Harness();
    h.diffs(start - 2, start + 1);
    h.snapshot(snapshotAt(start));
    h.diffs(start + 2, start + 120, [start + 100, start + 110]);
    expect(h.sync.counters.resyncs).toBe(1);
    expect(h.sync.counters.bufferBreaks).toBe(1);
    // Between the two holes: bracketed by a diff that was buffered, but the buffer broke after it.
    h.snapshot(snapshotAt(start + 105));
    expect(h.sync.counters.snapshotsStale).toBe(1);
    // Ahead of everything received: waits for the stream to reach it.
    h.snapshot(snapshotAt(start + 140));
    expect(h.sync.state).toBe("resyncing");
    h.diffs(start + 121, start + 139);
    expect(h.sync.state).toBe("resyncing");
    h.diffs(start + 140, start + 200);
    expectExchangeBook(h.sync, start + 200);
  });

  test("unusable snapshots are counted and another is asked for; an unsorted one is sorted", () => {
    const h = new Harness();
    h.diffs(start - 2, start + 1);
    const needs = h.needs;
    h.snapshot(null);
    expect(h.sync.counters.snapshotsBad).toBe(1);
    expect(h.needs).toBe(needs + 1);
    // A price given twice: refused by the ladder.
    h.snapshot(snapshotAt(start, 1000, (b) => b.bids.push([b.bids[5]![0], "1"])));
    expect(h.sync.counters.snapshotsBad).toBe(2);
    expect(h.sync.state).not.toBe("synced");
    // Levels in another order than best first: the same book.
    h.snapshot(snapshotAt(start + 1, 1000, (b) => b.bids.reverse()));
    expectExchangeBook(h.sync, start + 1);
  });

  test("refresh: a thinning window asks for a snapshot without leaving sync; a wrong running book is caught", () => {
    // 100-level snapshots, refresh below 80 known levels on a side.
    const h = new Harness({ refreshBelow: 80, fullLevels: 20 });
    h.diffs(start - 2, start + 1);
    h.snapshot(snapshotAt(start, 100));
    let i = start + 2;
    let refreshes = 0;
    let tampered = false;
    for (; i < diffs.length && refreshes < 3; i++) {
      const needs = h.needs;
      h.diffs(i, i);
      expect(h.sync.state).toBe("synced");
      if (h.needs > needs) {
        // Served two diffs later, as a REST answer would be; the second refresh's body has one bid changed.
        h.diffs(i + 1, i + 2);
        i += 2;
        const bad = refreshes === 1;
        if (refreshes === 0) {
          // An unusable answer first: the book stays in sync and keeps asking.
          h.snapshot(null);
          const asked = h.needs;
          h.diffs(i + 1, i + 1);
          i += 1;
          expect(h.needs).toBeGreaterThan(asked);
          expect(h.sync.counters.refreshes).toBe(0);
        }
        h.snapshot(snapshotAt(i, 100, bad ? (b) => (b.bids[3]![1] = "999") : undefined));
        tampered ||= bad;
        refreshes++;
        expect(h.sync.counters.refreshes).toBe(refreshes);
        if (!bad) expectExchangeBook(h.sync, i);
      }
    }
    expect(refreshes).toBe(3);
    expect(tampered).toBe(true);
    // Exactly the one tampered level differed from the running book (which was right).
    expect(h.sync.counters.refreshMismatches).toBe(1);
    expect(h.sync.counters.resyncs).toBe(0);
    expect(h.crossedSeen).toBe(0);
  });

  test("refresh: an answer that is the book as it stands (L = the asking diff's u, no diff since) is applied, not refused as stale", () => {
    const h = new Harness({ refreshBelow: 80, fullLevels: 20 });
    h.diffs(start - 2, start + 1);
    h.snapshot(snapshotAt(start, 100));
    let i = start + 2;
    for (; i < diffs.length; i++) {
      const needs = h.needs;
      h.diffs(i, i);
      if (h.needs > needs) break;
    }
    expect(i).toBeLessThan(diffs.length);
    const asked = h.needs;
    // The exchange answers before the next diff: its book at the u of the diff that asked.
    h.snapshot(snapshotAt(i, 100));
    expect(h.sync.counters.snapshotsStale).toBe(0);
    expect(h.sync.counters.refreshes).toBe(1);
    expect(h.sync.counters.refreshMismatches).toBe(0);
    expectExchangeBook(h.sync, i);
    // A quiet symbol: more answers at the same id are not needed any more, and nothing is asked again.
    h.snapshot(snapshotAt(i, 100));
    h.snapshot(snapshotAt(i, 100));
    expect(h.sync.counters.snapshotsStale).toBe(0);
    expect(h.sync.counters.snapshotsUnused).toBe(2);
    expect(h.needs).toBe(asked);
    // An answer older than the asking diff is still stale, and asked again (the initial rule, U ≤ L).
    for (i++; i < diffs.length; i++) {
      const needs = h.needs;
      h.diffs(i, i);
      if (h.needs > needs) break;
    }
    h.snapshot(snapshotAt(i - 1, 100));
    expect(h.sync.counters.snapshotsStale).toBe(1);
    expect(h.sync.counters.refreshes).toBe(1);
    h.snapshot(snapshotAt(i, 100));
    expect(h.sync.counters.refreshes).toBe(2);
    expectExchangeBook(h.sync, i);
    h.diffs(i + 1, i + 300);
    expect(h.sync.counters.resyncs).toBe(0);
    expect(h.crossedSeen).toBe(0);
  });
});
