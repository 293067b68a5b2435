/**
 * FeedGroup (src/pipeline/feed-group.ts): the collector's feeds as one — a feed added while running
 * starts at once, totals add up, per-symbol questions go to the feed that has the symbol, and what a
 * later feed collects is no longer "not collected" in the first feed's listing.
 */
import { expect, test } from "bun:test";
import type { ConnectionView, Feed, ListingView, SymbolFeedStats } from "../../src/core/feed.ts";
import { FeedGroup } from "../../src/pipeline/feed-group.ts";
import { RecentHistogram } from "../../src/util/recent-histogram.ts";

class FakeFeed implements Feed {
  started = 0;
  stopped = 0;
  readonly snapshots: string[] = [];
  constructor(
    readonly connections: readonly ConnectionView[],
    private readonly t: Record<string, number>,
    private readonly symbols: readonly string[],
    private readonly view?: ListingView,
  ) {}
  start(): void {
    this.started++;
  }
  stop(): void {
    this.stopped++;
  }
  totals(): Readonly<Record<string, number>> {
    return this.t;
  }
  stats(symbol: string): SymbolFeedStats | undefined {
    return this.symbols.includes(symbol) ? { frames: this.symbols.indexOf(symbol) + 1, badFrames: 0, lastFrameAtMs: 0, lastDepthAtMs: 0, lastTradeAtMs: 0, eventLatencyMs: new RecentHistogram(), secFrames: 0, prevSecFrames: 0, sec: 0 } : undefined;
  }
  counters(symbol: string): Readonly<Record<string, number>> | undefined {
    return this.symbols.includes(symbol) ? { duplicates: this.t.frames! } : undefined;
  }
  requestDepthSnapshot(symbol: string): void {
    this.snapshots.push(symbol);
  }
  listing(): ListingView | undefined {
    return this.view;
  }
}

const conn = (id: string) => ({ id }) as unknown as ConnectionView;

test("a feed added while running starts at once; totals add up; questions go to the symbol's feed; the listing forgets what is collected", () => {
  const listing: ListingView = { checkedAtMs: 1, notTrading: new Map([["OLDUSDT", "SETTLING"]]), notCollected: ["NEWUSDT", "NEXTUSDT"] };
  const first = new FakeFeed([conn("market-0"), conn("public-0")], { frames: 10, held: 1, rest_used_weight_1m: 40 }, ["BTCUSDT", "OLDUSDT"], listing);
  const group = new FeedGroup(first, ["BTCUSDT", "OLDUSDT"]);
  expect(group.listing()).toBe(listing);
  group.start();
  expect(first.started).toBe(1);

  // The IP's weight, which both feeds report (they share one REST client), is not added up.
  const added = new FakeFeed([conn("market-1"), conn("public-1")], { frames: 5, held: 2, extra: 3, rest_used_weight_1m: 60 }, ["NEWUSDT"]);
  group.add(added, ["NEWUSDT"]);
  expect(added.started).toBe(1);
  expect(first.started).toBe(1);
  expect(group.connections.map((c) => c.id)).toEqual(["market-0", "public-0", "market-1", "public-1"]);
  expect(group.totals()).toEqual({ frames: 15, held: 3, extra: 3, rest_used_weight_1m: 60 });
  expect(group.stats("NEWUSDT")?.frames).toBe(1);
  expect(group.stats("OLDUSDT")?.frames).toBe(2);
  expect(group.stats("ETHUSDT")).toBeUndefined();
  expect(group.counters("NEWUSDT")).toEqual({ duplicates: 5 });
  group.requestDepthSnapshot("NEWUSDT");
  group.requestDepthSnapshot("BTCUSDT");
  expect(added.snapshots).toEqual(["NEWUSDT"]);
  expect(first.snapshots).toEqual(["BTCUSDT"]);
  expect(group.listing()).toEqual({ checkedAtMs: 1, notTrading: new Map([["OLDUSDT", "SETTLING"]]), notCollected: ["NEXTUSDT"] });

  group.stop();
  expect([first.stopped, added.stopped]).toEqual([1, 1]);
});

test("a feed added before the start waits for it", () => {
  const first = new FakeFeed([], { frames: 0 }, ["BTCUSDT"]);
  const group = new FeedGroup(first, ["BTCUSDT"]);
  const added = new FakeFeed([], { frames: 0 }, ["NEWUSDT"]);
  group.add(added, ["NEWUSDT"]);
  expect(added.started).toBe(0);
  group.start();
  expect([first.started, added.started]).toEqual([1, 1]);
});
