/**
 * The collector's feeds as one (core/feed.ts `Feed`): the feed it started with, and one more for each
 * batch of symbols the venue listed while it ran (symbols = "ALL"; docs/feed.md, "Listings"). A new
 * listing gets connections of its own, so nothing running is resubscribed or restarted.
 */
import { SHARED_TOTALS, type ConnectionView, type Feed, type ListingView, type SymbolFeedStats } from "../core/feed.ts";

export class FeedGroup implements Feed {
  private readonly feeds: Feed[] = [];
  private readonly bySymbol = new Map<string, Feed>();
  private started = false;

  constructor(first: Feed, symbols: readonly string[]) {
    this.add(first, symbols);
  }

  /** A feed for `symbols`, started at once when the group is running. */
  add(feed: Feed, symbols: readonly string[]): void {
    this.feeds.push(feed);
    for (const s of symbols) this.bySymbol.set(s, feed);
    if (this.started) feed.start();
  }

  get connections(): readonly ConnectionView[] {
    return this.feeds.length === 1 ? this.feeds[0]!.connections : this.feeds.flatMap((f) => f.connections);
  }

  start(): void {
    this.started = true;
    for (const f of this.feeds) f.start();
  }

  stop(): void {
    for (const f of this.feeds) f.stop();
  }

  totals(): Readonly<Record<string, number>> {
    if (this.feeds.length === 1) return this.feeds[0]!.totals();
    const out: Record<string, number> = {};
    for (const f of this.feeds) for (const [k, v] of Object.entries(f.totals())) out[k] = SHARED_TOTALS.has(k) ? Math.max(out[k] ?? v, v) : (out[k] ?? 0) + v;
    return out;
  }

  stats(symbol: string): SymbolFeedStats | undefined {
    return this.bySymbol.get(symbol)?.stats(symbol);
  }

  counters(symbol: string): Readonly<Record<string, number>> | undefined {
    return this.bySymbol.get(symbol)?.counters(symbol);
  }

  requestDepthSnapshot(symbol: string): void {
    this.bySymbol.get(symbol)?.requestDepthSnapshot?.(symbol);
  }

  /** The first feed watches the listing; what a later feed collects is not "not collected". */
  listing(): ListingView | undefined {
    const l = this.feeds[0]!.listing?.();
    if (l === undefined || l.notCollected.every((s) => !this.bySymbol.has(s))) return l;
    return { ...l, notCollected: l.notCollected.filter((s) => !this.bySymbol.has(s)) };
  }
}
