/**
 * Keeps one symbol's full-depth book in step with the diff-depth stream (`<sym>@depth@100ms`), by
 * Binance's documented procedure for USDⓈ-M futures (docs/depth.md):
 *
 * 1. Diffs are buffered from the first one received; a snapshot is asked for (`needSnapshot`).
 * 2. When a snapshot (lastUpdateId L) is there: buffered diffs with `u < L` are dropped; the first one
 *    kept must have `U ≤ L ≤ u`, and then it and every later diff are applied. If the first kept diff
 *    starts after L (`U > L`), the snapshot is older than what was buffered: it is discarded and
 *    another is asked for. If no buffered diff reaches L yet, the snapshot waits for one.
 * 3. While in sync, every diff's `pu` must equal the previous diff's `u`; anything else is a break:
 *    the book is dropped, counted as a resync, and the procedure starts again at 1 with this diff
 *    as the first buffered one. Update ids are a global sequence across symbols on futures, so only
 *    the `pu` rule chains (`U = previous u + 1` does not hold).
 * 4. The buffer itself must chain by `pu`: a break inside it drops what was buffered before it.
 *
 * A diff with an unparseable level, or one that leaves the book crossed, also forces a resync (the
 * book would be wrong).
 *
 * Refresh: a side's exactly known window (ladder.ts) shrinks as the price walks away from where the
 * snapshot was cut. Below `refreshBelow` levels a new snapshot is asked for WITHOUT leaving sync: the
 * diffs applied meanwhile are kept, and when the snapshot is there a second book is built from it
 * and those diffs (same alignment rule) up to the current `u`, compared with the running book inside
 * the window both know (every differing level is counted in `refreshMismatches`: it would mean the
 * running book had gone wrong), and swapped in. The kept diffs start with the one that asked for the
 * refresh, so an answer that is the book as it stands (L = its u, nothing since) aligns and is applied;
 * only an answer older than that diff is stale. Only a side thinner than the top 5 before the new
 * snapshot arrives forces a real resync (reason `window`).
 *
 * Everything here depends only on the order of diffs and snapshots handed in, never on the clock:
 * replay of the raw log, which holds every diff and every snapshot answer at the place it arrived
 * (applied, waiting for the diffs that reach it, refused as stale, or not needed any more), hands
 * them in in the same order and so rebuilds the same book, the same top-5 events and the same
 * `book_l2` rows.
 *
 * While in sync, each applied diff that changes the top 5 levels (price or quantity, either side)
 * yields a depth5-shaped event for the engine; `book_l2` rows (top `fullLevels` per side) are written
 * when a diff's event time passes a `snapshotEveryMs` boundary, holding the book as of that boundary.
 */
import type { DepthEvent } from "../../../core/market-events.ts";
import type { Row, RowSink } from "../../../core/rows.ts";
import { FullBook } from "./full-book.ts";
import type { BookSnapshot } from "./snapshot.ts";

/** Top levels per side handed to the engine: the depth5 shape. */
export const TOP_LEVELS = 5;
/** Most diffs buffered while waiting for a snapshot; past it the oldest go (a later snapshot is needed). */
export const MAX_BUFFERED_DIFFS = 4096;
/** A snapshot that no diff reaches within this many diffs is given up (its id lies implausibly far ahead). */
export const PENDING_MAX_DIFFS = 1000;

export type SyncState = "waiting" | "synced" | "resyncing";
export type ResyncReason = "pu_break" | "bad_level" | "crossed" | "window";

export interface DepthSyncOptions {
  /** Levels per side in `book_l2` rows. */
  readonly fullLevels: number;
  /** Most levels kept per side; farther ones are trimmed. */
  readonly maxLevels: number;
  /** `book_l2` period in event-time ms (0 = no rows). */
  readonly snapshotEveryMs: number;
  /** A side with a floor and fewer levels than this asks for a refresh snapshot. */
  readonly refreshBelow: number;
}

export interface DepthSyncOutput {
  /** The top 5 changed: a depth5-shaped event (reused object; consume it before returning). */
  top(ev: DepthEvent, recvTsMs: number): void;
  /** A snapshot is wanted now (live: fetch one unless one is in flight; replay: the log holds it). */
  needSnapshot(): void;
  /** A resync started, for the log. */
  resync?(reason: ResyncReason, detail: Readonly<Record<string, number>>): void;
  /** The book is in sync (a snapshot aligned with the diffs); `outOfSyncMs`: since it was dropped, null at the first sync. */
  synced?(outOfSyncMs: number | null): void;
}

/** Monotone counters and the current state, for status and metrics. */
export interface DepthSyncCounters {
  diffs: number;
  applied: number;
  /** A book in sync had to be dropped (any reason). */
  resyncs: number;
  resyncsPuBreak: number;
  resyncsBadLevel: number;
  resyncsCrossed: number;
  resyncsWindow: number;
  /** Breaks of the `pu` chain among buffered diffs (the older ones were dropped). */
  bufferBreaks: number;
  /** Buffered diffs dropped for the buffer bound. */
  bufferDropped: number;
  snapshotsApplied: number;
  /** Snapshots older than every buffered diff (`U > lastUpdateId` for the first kept diff). */
  snapshotsStale: number;
  /** Snapshots that did not parse or were not ordered. */
  snapshotsBad: number;
  /** Snapshots that arrived while the book was in sync (not needed any more). */
  snapshotsUnused: number;
  /** Snapshots given up because no diff reached their id within PENDING_MAX_DIFFS diffs. */
  snapshotsExpired: number;
  /** Refresh snapshots swapped in while in sync. */
  refreshes: number;
  /** Levels that differed between the running book and a refresh snapshot inside their common window. */
  refreshMismatches: number;
  /** Top-5 events handed to the engine. */
  topEvents: number;
  bookRows: number;
}

const newCounters = (): DepthSyncCounters => ({
  diffs: 0,
  applied: 0,
  resyncs: 0,
  resyncsPuBreak: 0,
  resyncsBadLevel: 0,
  resyncsCrossed: 0,
  resyncsWindow: 0,
  bufferBreaks: 0,
  bufferDropped: 0,
  snapshotsApplied: 0,
  snapshotsStale: 0,
  snapshotsBad: 0,
  snapshotsUnused: 0,
  snapshotsExpired: 0,
  refreshes: 0,
  refreshMismatches: 0,
  topEvents: 0,
  bookRows: 0,
});

/** The depth5-shaped event handed to the engine, reused for every emission. */
interface TopEvent {
  kind: "depth";
  symbol: string;
  eventTime: number | null;
  transactTime: number | null;
  firstId: number | null;
  lastId: number;
  prevLastId: number | null;
  bids: Float64Array;
  asks: Float64Array;
}

/** The reused `book_l2` row (see core/rows.ts SCHEMAS.book_l2 and row-scratch.ts for the contract). */
interface BookRow {
  symbol: string;
  ts_ms: number;
  book_ts_ms: number;
  last_update_id: number;
  side: string;
  level: number;
  price: number;
  qty: number;
}

export class DepthSync {
  readonly counters: DepthSyncCounters = newCounters();
  state: SyncState = "waiting";
  /** Receipt time of the last snapshot applied (0 = none yet). */
  lastSnapshotAtMs = 0;
  lastSnapshotId = 0;
  /** Receipt time of the diff since which the book has been out of sync (0 = in sync, or no diff yet). */
  outOfSyncSinceMs = 0;

  private book: FullBook;
  /** The book a refresh snapshot is built into before it is swapped in. */
  private spare: FullBook;
  /** A refresh was asked for: applied diffs are kept in `recent` until its snapshot is swapped in. */
  private refreshing = false;
  private recent: DepthEvent[] = [];
  private pendingRefresh: BookSnapshot | null = null;
  private pendingRefreshAtMs = 0;
  private buffer: DepthEvent[] = [];
  private pending: BookSnapshot | null = null;
  private pendingDiffs = 0;
  private lastE = 0;
  private lastRecv = 0;

  // Top-5 emission state: the last emitted levels, and the id range folded since.
  private readonly topBids = new Float64Array(2 * TOP_LEVELS);
  private readonly topAsks = new Float64Array(2 * TOP_LEVELS);
  private readonly topBidViews: Float64Array[];
  private readonly topAskViews: Float64Array[];
  private topNb = -1;
  private topNa = -1;
  private readonly scratchB = new Float64Array(2 * TOP_LEVELS);
  private readonly scratchA = new Float64Array(2 * TOP_LEVELS);
  private foldU: number | null = null;
  private foldPu: number | null = null;
  private readonly ev: TopEvent;

  private readonly row: BookRow;
  private lastCell = Number.NaN;

  constructor(
    readonly symbol: string,
    private readonly opts: DepthSyncOptions,
    private readonly out: DepthSyncOutput,
    private readonly rows: RowSink | null,
  ) {
    this.book = new FullBook(opts.maxLevels);
    this.spare = new FullBook(opts.maxLevels);
    this.topBidViews = Array.from({ length: TOP_LEVELS + 1 }, (_, m) => this.topBids.subarray(0, 2 * m));
    this.topAskViews = Array.from({ length: TOP_LEVELS + 1 }, (_, m) => this.topAsks.subarray(0, 2 * m));
    this.ev = { kind: "depth", symbol, eventTime: null, transactTime: null, firstId: null, lastId: 0, prevLastId: null, bids: this.topBidViews[0]!, asks: this.topAskViews[0]! };
    this.row = { symbol, ts_ms: 0, book_ts_ms: 0, last_update_id: 0, side: "bid", level: 0, price: 0, qty: 0 };
  }

  /** (A method, so the compiler does not narrow `state` across calls that change it.) */
  private inSync(): boolean {
    return this.state === "synced";
  }

  /** The book, read-only for views (status page, /orderbook); meaningful while `state === "synced"`. */
  get view(): FullBook {
    return this.book;
  }

  /** Diffs waiting for a snapshot right now. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** One diff of the symbol's stream, in stream order (duplicates already removed by id). */
  onDiff(ev: DepthEvent, recvTsMs: number): void {
    this.counters.diffs++;
    if (this.state === "synced") {
      if (ev.prevLastId !== this.book.lastUpdateId) {
        this.breakSync("pu_break", ev, { expected_pu: this.book.lastUpdateId, pu: ev.prevLastId ?? Number.NaN, u: ev.lastId });
        return;
      }
      this.applyDiff(ev, recvTsMs);
      return;
    }
    if (this.outOfSyncSinceMs === 0) this.outOfSyncSinceMs = recvTsMs;
    this.bufferDiff(ev);
    if (this.pending !== null) {
      this.tryAlign(recvTsMs);
      if (this.pending !== null && ++this.pendingDiffs > PENDING_MAX_DIFFS) {
        this.pending = null;
        this.counters.snapshotsExpired++;
      }
    }
    if (!this.inSync() && this.pending === null) this.out.needSnapshot();
  }

  /** A REST snapshot arrived (live) or its raw-log line was read (replay). */
  onSnapshot(snap: BookSnapshot | null, recvTsMs: number): void {
    if (snap === null) {
      this.counters.snapshotsBad++;
      if (!this.inSync() && this.pending === null) this.out.needSnapshot();
      return;
    }
    if (this.state === "synced") {
      if (!this.refreshing) {
        this.counters.snapshotsUnused++;
        return;
      }
      this.pendingRefresh = snap;
      this.pendingRefreshAtMs = recvTsMs;
      this.tryRefresh();
      return;
    }
    this.pending = snap;
    this.pendingDiffs = 0;
    this.tryAlign(recvTsMs);
    if (!this.inSync() && this.pending === null) this.out.needSnapshot();
  }

  private bufferDiff(ev: DepthEvent): void {
    const buf = this.buffer;
    if (buf.length > 0 && ev.prevLastId !== buf[buf.length - 1]!.lastId) {
      this.counters.bufferBreaks++;
      buf.length = 0;
    }
    if (buf.length >= MAX_BUFFERED_DIFFS) {
      buf.shift();
      this.counters.bufferDropped++;
    }
    buf.push(own(ev));
  }

  /** Step 2 with the pending snapshot: apply, keep waiting, or discard it as stale. */
  private tryAlign(recvTsMs: number): void {
    const snap = this.pending!;
    const L = snap.lastUpdateId;
    const buf = this.buffer;
    let i = 0;
    while (i < buf.length && buf[i]!.lastId < L) i++;
    if (i === buf.length) {
      buf.length = 0;
      return; // no diff reaches L yet
    }
    const first = buf[i]!;
    if (first.firstId === null || first.firstId > L) {
      this.pending = null;
      this.counters.snapshotsStale++;
      if (i > 0) buf.splice(0, i);
      return;
    }
    this.pending = null;
    if (!this.book.load(snap)) {
      this.counters.snapshotsBad++;
      if (i > 0) buf.splice(0, i);
      return;
    }
    this.counters.snapshotsApplied++;
    this.lastSnapshotAtMs = recvTsMs;
    this.lastSnapshotId = L;
    this.state = "synced";
    const outOfSyncMs = this.counters.resyncs > 0 && this.outOfSyncSinceMs > 0 ? recvTsMs - this.outOfSyncSinceMs : null;
    this.outOfSyncSinceMs = 0;
    this.out.synced?.(outOfSyncMs);
    this.topNb = -1; // the first state after a (re)sync is always emitted
    this.foldU = null;
    this.foldPu = first.prevLastId;
    this.lastCell = Number.NaN;
    const todo = buf.slice(i);
    this.buffer = [];
    for (const ev of todo) {
      if (this.state !== "synced") {
        // A resync inside the buffered run: the rest is buffered again behind it.
        this.bufferDiff(ev);
        continue;
      }
      this.applyDiff(ev, recvTsMs);
    }
  }

  private applyDiff(ev: DepthEvent, recvTsMs: number): void {
    const E = ev.eventTime ?? ev.transactTime ?? this.lastE;
    this.maybeWriteRows(E);
    const r = this.book.apply(ev.bids, ev.asks, ev.lastId);
    if (r !== "ok") {
      this.breakSync(r, null, { u: ev.lastId });
      return;
    }
    const b = this.book;
    if (thinner(b.bids, TOP_LEVELS) || thinner(b.asks, TOP_LEVELS)) {
      this.breakSync("window", null, { u: ev.lastId, bid_levels: b.bids.n, ask_levels: b.asks.n });
      return;
    }
    this.counters.applied++;
    this.lastE = E;
    this.lastRecv = recvTsMs;
    if (this.foldU === null) this.foldU = ev.firstId;
    this.emitTopIfChanged(ev, recvTsMs);
    if (this.refreshing) {
      if (this.recent.length >= MAX_BUFFERED_DIFFS) this.recent.shift();
      this.recent.push(own(ev));
      // Asked on every diff until an answer is there (the fetcher keeps one in flight, and backs off
      // after a failure): a failed or unusable refresh answer is retried like a resync's.
      if (this.pendingRefresh !== null) this.tryRefresh();
      else this.out.needSnapshot();
    } else if (thinner(b.bids, this.opts.refreshBelow) || thinner(b.asks, this.opts.refreshBelow)) {
      this.refreshing = true;
      // The diff that showed it is kept too: an answer whose lastUpdateId is its u (the book as it is
      // now, on a quiet symbol the usual answer) aligns on it like any other (U ≤ L ≤ u), and is applied.
      this.recent = [own(ev)];
      this.out.needSnapshot();
    }
  }

  /**
   * A refresh snapshot against the diffs applied since it was asked for: build, compare, swap; or wait
   * (it is ahead of the stream), or ask again (it is older than the kept diffs, or unusable).
   */
  private tryRefresh(): void {
    const snap = this.pendingRefresh!;
    const L = snap.lastUpdateId;
    const recent = this.recent;
    let i = 0;
    while (i < recent.length && recent[i]!.lastId < L) i++;
    if (i === recent.length) {
      if (L > this.book.lastUpdateId) return; // ahead of the stream: wait for the diffs that reach it
      this.pendingRefresh = null;
      this.counters.snapshotsStale++;
      this.out.needSnapshot();
      return;
    }
    this.pendingRefresh = null;
    const first = recent[i]!;
    if (first.firstId === null || first.firstId > L) {
      this.counters.snapshotsStale++;
      this.out.needSnapshot();
      return;
    }
    const fresh = this.spare;
    let ok = fresh.load(snap);
    for (let j = i; ok && j < recent.length; j++) ok = fresh.apply(recent[j]!.bids, recent[j]!.asks, recent[j]!.lastId) === "ok";
    if (!ok) {
      this.counters.snapshotsBad++;
      this.out.needSnapshot();
      return;
    }
    this.counters.refreshMismatches += FullBook.mismatches(this.book.bids, fresh.bids) + FullBook.mismatches(this.book.asks, fresh.asks);
    this.spare = this.book;
    this.book = fresh;
    this.refreshing = false;
    this.recent = [];
    this.counters.refreshes++;
    this.counters.snapshotsApplied++;
    this.lastSnapshotId = L;
    const last = recent[recent.length - 1]!;
    this.lastSnapshotAtMs = this.pendingRefreshAtMs;
    // A corrected book may show a different top 5.
    this.emitTopIfChanged(last, this.lastRecv);
  }

  /** Leaves sync: the book is no longer trusted; `restart` (the breaking diff) is buffered first. */
  private breakSync(reason: ResyncReason, restart: DepthEvent | null, detail: Readonly<Record<string, number>>): void {
    this.state = "resyncing";
    this.outOfSyncSinceMs = this.lastRecv;
    const c = this.counters;
    c.resyncs++;
    if (reason === "pu_break") c.resyncsPuBreak++;
    else if (reason === "bad_level") c.resyncsBadLevel++;
    else if (reason === "crossed") c.resyncsCrossed++;
    else c.resyncsWindow++;
    this.book.bids.clear();
    this.book.asks.clear();
    this.buffer = restart === null ? [] : [own(restart)];
    this.pending = null;
    this.refreshing = false;
    this.recent = [];
    this.pendingRefresh = null;
    this.out.resync?.(reason, detail);
    this.out.needSnapshot();
  }

  private emitTopIfChanged(ev: DepthEvent, recvTsMs: number): void {
    const nb = FullBook.top(this.book.bids, TOP_LEVELS, this.scratchB);
    const na = FullBook.top(this.book.asks, TOP_LEVELS, this.scratchA);
    if (nb === this.topNb && na === this.topNa && same(this.scratchB, this.topBids, nb) && same(this.scratchA, this.topAsks, na)) return;
    this.topBids.set(this.scratchB);
    this.topAsks.set(this.scratchA);
    this.topNb = nb;
    this.topNa = na;
    const e = this.ev;
    e.eventTime = ev.eventTime;
    e.transactTime = ev.transactTime;
    e.firstId = this.foldU;
    e.lastId = ev.lastId;
    e.prevLastId = this.foldPu;
    e.bids = this.topBidViews[nb]!;
    e.asks = this.topAskViews[na]!;
    this.foldU = null;
    this.foldPu = ev.lastId;
    this.counters.topEvents++;
    this.out.top(e, recvTsMs);
  }

  /** Writes `book_l2` rows when `E` enters a later period than the last diff applied. */
  private maybeWriteRows(E: number): void {
    const every = this.opts.snapshotEveryMs;
    if (this.rows === null || every <= 0) return;
    const cell = Math.floor(E / every);
    const prev = this.lastCell;
    this.lastCell = cell;
    // The first diff after a (re)sync only sets the period; the book before it is the snapshot's.
    if (prev !== prev || cell <= prev) return;
    const r = this.row;
    r.ts_ms = cell * every;
    r.book_ts_ms = this.lastE;
    r.last_update_id = this.book.lastUpdateId;
    this.writeSide(this.book.bids, "bid");
    this.writeSide(this.book.asks, "ask");
  }

  private writeSide(side: FullBook["bids"], name: string): void {
    const r = this.row;
    r.side = name;
    const m = Math.min(this.opts.fullLevels, side.n);
    for (let i = 0; i < m; i++) {
      r.level = i;
      r.price = side.priceAt(i);
      r.qty = side.qtyAt(i);
      this.rows!.append("book_l2", r as unknown as Row);
      this.counters.bookRows++;
    }
  }

  /** Levels held per side, for status. */
  depth(): { readonly bids: number; readonly asks: number } {
    return this.state === "synced" ? { bids: this.book.bids.n, asks: this.book.asks.n } : { bids: 0, asks: 0 };
  }

  /** Bytes held by the book arrays. */
  bytes(): number {
    return this.book.bytes();
  }

  /** Receipt time of the last diff applied (0 = none). */
  get lastAppliedAtMs(): number {
    return this.lastRecv;
  }
}

/** A side with a floor (not completely known) holding fewer than `levels` levels. */
function thinner(side: FullBook["bids"], levels: number): boolean {
  return side.floorKey !== Number.NEGATIVE_INFINITY && side.n < levels;
}

/** An owned copy: events handed in may be reused by their producer (the raw-log decoder). */
function own(ev: DepthEvent): DepthEvent {
  return { ...ev, bids: ev.bids.slice(), asks: ev.asks.slice() };
}

function same(a: Float64Array, b: Float64Array, levels: number): boolean {
  for (let i = 0; i < 2 * levels; i++) if (a[i] !== b[i]) return false;
  return true;
}
