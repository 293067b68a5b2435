/**
 * Decides, per stream, which frames reach the raw log and the engine, and in what order
 * (docs/feed.md, docs/indicators.md §2, §15):
 *
 * - Duplicates are dropped by id before anything is written (dedup.ts), so the overlap of a
 *   make-before-break rotation or an exchange resend never produces a second NDJSON line or row.
 * - A trade whose id skips ids (`a > last + 1`: the market connection was interrupted, or the
 *   exchange withheld trades) starts a REST backfill of the missing ids. That stream's live frames
 *   wait in a bounded buffer meanwhile; the recovered trades are emitted in id order, then the held
 *   frames, so the engine and the log see every trade in id order. Ids REST cannot serve, and ids
 *   still missing when the buffer overflows or the hold times out, become a `gap`.
 * - The backfill's first request waits a short grace time: during a rotation overlap the new socket
 *   can deliver trade k+1 before the old one delivers k. A missing trade that arrives meanwhile (from
 *   any socket) is taken at once, in id order; once nothing is missing any more, no request is made.
 * - A book whose `pu` is not the previous kept `u` means book messages were missed (they cannot be
 *   recovered): counted, and recorded as a `gap` of update ids while `pu` is seen to chain.
 * - Frames the engine would reject (no usable id) pass through untouched: the engine counts them and
 *   replay rejects exactly the same lines.
 *
 * Every output goes forward through `FeedOutput` (core/feed.ts) synchronously and in order: the order
 * of the calls is the order of the log and of the engine.
 */
import type { BackfillJob, Backfiller, RecoveredTrade } from "./backfill.ts";
import { StreamIds, type DropReason } from "./dedup.ts";
import type { AcceptedFrame, FeedOutput } from "../../core/feed.ts";
import { eventId, parseData } from "./frame-parser.ts";
import { streamName, type DepthMode, type StreamKind } from "./streams.ts";

/** A frame of a stream this process subscribed to, parsed (or rejected) but not yet validated. */
export interface GateFrame extends AcceptedFrame {
  /** Number of the socket that delivered it (StreamConnection.socket). */
  readonly socket: number;
  /** The JSON-parsed payload when the scanner did not read the frame (undefined when it did). */
  readonly data: unknown;
}

/** The frame's id (`a` of a trade, `u` of a book), or null when the payload is malformed for the engine. */
function frameId(kind: StreamKind, f: GateFrame): number | null {
  if (f.event === null) return f.data === undefined ? null : eventId(kind, f.data);
  return f.event.kind === "aggTrade" ? f.event.aggId : f.event.lastId;
}

/** The book's `pu` (undefined when absent). */
function framePu(f: GateFrame): unknown {
  if (f.event === null) return typeof f.data === "object" && f.data !== null ? (f.data as { pu?: unknown }).pu : undefined;
  return f.event.kind === "depth" ? (f.event.prevLastId ?? undefined) : undefined;
}

/** Per-symbol feed counters (both streams of the symbol). */
export interface FeedSymbolCounters {
  /** Same socket delivered an id again. */
  duplicates: number;
  /** Another socket delivered the id first (rotation overlap). */
  overlapDropped: number;
  /** Never-accepted ids below the last accepted id (arrived out of order). */
  staleDropped: number;
  backfills: number;
  /** Missing trades that arrived late from a socket while their backfill waited (no REST needed). */
  lateFilled: number;
  backfilled: number;
  /** Gap lines written for the trade stream, and the trade ids they cover. */
  tradeGaps: number;
  missingTradeIds: number;
  /** Book messages whose `pu` was not the previous kept `u` (resyncs). */
  depthGaps: number;
  /** Frames waiting behind a backfill right now. */
  held: number;
}

export interface GateTotals extends FeedSymbolCounters {
  /** Backfills abandoned because the hold buffer filled up or the hold timed out. */
  holdsAbandoned: number;
}

export interface GateOptions {
  /** Recent ids remembered per stream (DEDUP_LRU). */
  readonly dedupLru: number;
  /** REST backfill; null records every trade-id gap without trying to recover it. */
  readonly backfiller: Backfiller | null;
  /** Longest a stream's live frames may wait behind its backfill. */
  readonly maxHoldMs: number;
  /** Wait before the first REST request of a backfill, for late frames to fill the hole (default 250). */
  readonly reorderGraceMs?: number;
  readonly maxHeldPerStream: number;
  /** Which book stream is subscribed (default depth5). */
  readonly depthMode?: DepthMode;
  readonly maxHeldTotal: number;
  /** A notable event (abandoned backfill, unrecoverable ids): logged by the caller, rate-limited. */
  readonly onNotice?: (key: string, msg: string, fields: Readonly<Record<string, unknown>>) => void;
}

/** Book messages over which the `pu` chain is audited (as the engine does, docs/indicators.md §2.1). */
const CHAIN_AUDIT_MESSAGES = 1000;

class StreamState {
  ids: StreamIds;
  /** A restarted collector's last stored trade id, until the stream's first trade (resumeAfterRestart). */
  restartFloor: number | null = null;
  /** Frames waiting behind a backfill (null = not holding). */
  held: GateFrame[] | null = null;
  job: BackfillJob | null = null;
  /** performance.now() when the hold began. */
  holdSince = 0;
  chainMessages = 0;
  chainBreaks = 0;
  /** Socket of the last accepted frame (a break right after a socket change is a reconnect gap). */
  lastSocket = -1;
  /** `pu` is seen not to chain on this stream: stop writing per-message gap lines. */
  chainBroken = false;

  constructor(
    readonly symbol: string,
    readonly stream: string,
    readonly kind: StreamKind,
    readonly counters: FeedSymbolCounters,
    dedupLru: number,
  ) {
    this.ids = new StreamIds(dedupLru);
  }
}

const zeroCounters = (): FeedSymbolCounters => ({
  duplicates: 0,
  overlapDropped: 0,
  staleDropped: 0,
  backfills: 0,
  lateFilled: 0,
  backfilled: 0,
  tradeGaps: 0,
  missingTradeIds: 0,
  depthGaps: 0,
  held: 0,
});

export class StreamGate {
  readonly totals: GateTotals = { ...zeroCounters(), holdsAbandoned: 0 };
  readonly bySymbol = new Map<string, FeedSymbolCounters>();
  private readonly streams = new Map<string, StreamState>();
  private closing = false;

  constructor(
    symbols: Iterable<string>,
    private readonly out: FeedOutput,
    private readonly opts: GateOptions,
  ) {
    for (const symbol of symbols) {
      const counters = zeroCounters();
      this.bySymbol.set(symbol, counters);
      for (const kind of ["aggTrade", "depth"] as const) {
        const stream = streamName(symbol, kind, opts.depthMode);
        this.streams.set(stream, new StreamState(symbol, stream, kind, counters, opts.dedupLru));
      }
    }
  }

  /**
   * Continues a stream whose log already holds ids up to `lastId` (a restarted `harvestd store`):
   * ids up to it are duplicates, and a first id above `lastId + 1` is a gap, as within a run.
   */
  resumeAt(stream: string, lastId: number): void {
    const st = this.streams.get(stream);
    if (st !== undefined && !st.ids.hasLast) st.ids.accept(lastId, -1, Date.now());
  }

  /**
   * A restarted collector: the stream continues after `lastId`, the last trade the raw log holds, as
   * with resumeAt (a first trade above `lastId + 1` starts the backfill of the down time). Except that
   * a first trade at or below `lastId` is not taken for an old one: a new connection never delivers
   * trades from before it opened, so such an id means another id sequence (a testnet reset, another
   * venue or a fake exchange on the same data folder). The stream then starts afresh from it, with a
   * notice, instead of dropping every trade until the ids pass the stored one. Call before any frame.
   */
  resumeAfterRestart(stream: string, lastId: number): void {
    const st = this.streams.get(stream);
    if (st === undefined || st.ids.hasLast) return;
    st.ids.accept(lastId, -1, Date.now());
    st.restartFloor = lastId;
  }

  /** True for the exact stream names this process subscribes to. */
  has(stream: string): boolean {
    return this.streams.has(stream);
  }

  /** Symbol of a subscribed stream. */
  symbolOf(stream: string): string | undefined {
    return this.streams.get(stream)?.symbol;
  }

  /** The frames waiting behind a backfill. */
  *heldFrames(): IterableIterator<GateFrame> {
    for (const st of this.streams.values()) if (st.held !== null) yield* st.held;
  }

  /** One frame of a subscribed stream, in arrival order. */
  offer(f: GateFrame): void {
    const st = this.streams.get(f.stream);
    if (st === undefined) throw new Error(`StreamGate: ${f.stream} is not a subscribed stream`);
    if (st.held !== null) {
      if (this.fillIn(st, f)) return;
      st.held.push(f);
      this.addHeld(st, 1);
      if (st.held.length > this.opts.maxHeldPerStream) this.abandon(st, `hold buffer full (${this.opts.maxHeldPerStream} frames)`);
      else if (this.totals.held > this.opts.maxHeldTotal) this.abandon(st, `hold buffers full (${this.opts.maxHeldTotal} frames in all)`);
      return;
    }
    this.process(st, f, false);
  }

  /**
   * Abandons backfills that have held their stream for longer than the limit. `now` is monotonic
   * (`performance.now()`): a wall clock stepped forward must not cut a backfill short.
   */
  tick(now: number): void {
    for (const st of this.streams.values()) {
      if (st.held !== null && now - st.holdSince > this.opts.maxHoldMs) this.abandon(st, `backfill not finished within ${this.opts.maxHoldMs} ms`);
    }
  }

  /**
   * Shutdown: stops every backfill, records what it had not recovered as gaps and releases every held
   * frame, so nothing received is lost. Later trade-id gaps are recorded without a backfill.
   */
  drain(): void {
    this.closing = true;
    for (const st of this.streams.values()) if (st.held !== null) this.abandon(st, "shutdown");
  }

  /**
   * A trade arriving during a backfill that is the next missing id: taken now, ahead of the held
   * frames (they all have higher ids). True when taken. When it closes the hole, the backfill ends.
   */
  private fillIn(st: StreamState, f: GateFrame): boolean {
    const job = st.job;
    if (job === null) return false;
    const id = frameId(st.kind, f);
    if (id === null || id !== st.ids.last + 1 || id > job.toId) return false;
    st.ids.accept(id, f.socket, f.recvTsMs);
    st.lastSocket = f.socket;
    st.counters.lateFilled++;
    this.totals.lateFilled++;
    this.out.frame(st.symbol, f, false);
    if (st.ids.last >= job.toId) {
      st.job = null;
      job.cancel();
      this.release(st);
    }
    return true;
  }

  /** Passes, drops or holds one frame. Returns false when the frame started a hold (it is held). */
  private process(st: StreamState, f: GateFrame, held: boolean): boolean {
    const id = frameId(st.kind, f);
    if (id === null) {
      // Malformed for the engine: it rejects and counts it, replay rejects the same line.
      this.out.frame(st.symbol, f, held);
      return true;
    }
    if (st.restartFloor !== null) {
      const floor = st.restartFloor;
      st.restartFloor = null;
      if (id <= floor) {
        this.opts.onNotice?.(`restart:${st.stream}`, "trade ids start at or below the last stored one: another id sequence, not backfilled", { stream: st.stream, first_id: id, last_stored_id: floor });
        st.ids = new StreamIds(this.opts.dedupLru);
      }
    }
    const ids = st.ids;
    if (ids.isOld(id)) {
      this.countDrop(st, ids.dropReason(id, f.socket));
      return true;
    }
    if (ids.hasLast && id > ids.last + 1 && st.kind === "aggTrade") {
      const from = ids.last + 1;
      const to = id - 1;
      if (this.opts.backfiller !== null && !this.closing) {
        this.startBackfill(st, from, to, f);
        return false;
      }
      this.gap(st, from, to, this.closing ? "shutdown" : "no backfill");
    }
    if (st.kind === "depth" && ids.hasLast) this.checkChain(st, ids.last, framePu(f), f.socket !== st.lastSocket);
    ids.accept(id, f.socket, f.recvTsMs);
    st.lastSocket = f.socket;
    this.out.frame(st.symbol, f, held);
    return true;
  }

  private checkChain(st: StreamState, lastU: number, pu: unknown, newSocket: boolean): void {
    if (st.chainMessages < CHAIN_AUDIT_MESSAGES) st.chainMessages++;
    if (typeof pu !== "number" || !Number.isInteger(pu) || pu === lastU) return;
    st.counters.depthGaps++;
    this.totals.depthGaps++;
    // The audit judges the chain on one socket; the break after a reconnect is expected.
    if (!newSocket && st.chainMessages <= CHAIN_AUDIT_MESSAGES && ++st.chainBreaks * 100 > CHAIN_AUDIT_MESSAGES && !st.chainBroken) {
      st.chainBroken = true;
      this.opts.onNotice?.(`chain:${st.stream}`, "depth pu does not chain on this stream; gap lines stop, the counter goes on", { stream: st.stream, breaks: st.chainBreaks });
    }
    // pu below the last u is not a missed range (the chain went backwards); only the counter moves.
    if (!st.chainBroken && pu > lastU) this.out.gap(st.symbol, st.stream, lastU + 1, pu);
  }

  private startBackfill(st: StreamState, from: number, to: number, first: GateFrame): void {
    st.held = [first];
    st.holdSince = performance.now();
    this.addHeld(st, 1);
    st.counters.backfills++;
    this.totals.backfills++;
    st.job = this.opts.backfiller!.start(st.symbol, from, to, {
      trades: (list: readonly RecoveredTrade[]) => {
        for (const t of list) {
          // Ids arrive ascending from last + 1; anything else would be a bug in the backfiller.
          if (t.a <= st.ids.last) continue;
          st.ids.accept(t.a, -1, Date.now());
          st.counters.backfilled++;
          this.totals.backfilled++;
          const parsed = parseData("aggTrade", st.symbol, JSON.parse(t.text));
          this.out.backfill(st.symbol, st.stream, t.text, parsed.ok ? parsed.event : null, parsed.ok ? null : parsed.reason);
        }
      },
      // Late live frames may have filled part of the range meanwhile.
      missing: (fromId, toId, reason) => this.gap(st, Math.max(fromId, st.ids.last + 1), toId, reason),
      done: () => {
        st.job = null;
        this.release(st);
      },
    }, this.opts.reorderGraceMs ?? 250);
  }

  /** Stops the stream's backfill; what it had not recovered becomes a gap; held frames go on. */
  private abandon(st: StreamState, reason: string): void {
    const job = st.job;
    if (job !== null) {
      st.job = null;
      job.cancel();
      if (job.cursor <= job.toId) this.gap(st, Math.max(job.cursor, st.ids.last + 1), job.toId, reason);
    }
    this.totals.holdsAbandoned++;
    this.opts.onNotice?.(`abandon:${st.stream}`, "backfill abandoned", { stream: st.stream, reason });
    this.release(st);
  }

  /** Processes held frames in arrival order until one starts a new hold. */
  private release(st: StreamState): void {
    const q = st.held;
    if (q === null) return;
    st.held = null;
    this.addHeld(st, -q.length);
    for (let i = 0; i < q.length; i++) {
      if (!this.process(st, q[i]!, true)) {
        // q[i] started a new hold and is its first frame; the rest wait behind it.
        for (let j = i + 1; j < q.length; j++) st.held!.push(q[j]!);
        this.addHeld(st, q.length - i - 1);
        return;
      }
    }
  }

  private gap(st: StreamState, from: number, to: number, reason: string): void {
    if (to < from) return;
    st.ids.skipTo(to);
    st.counters.tradeGaps++;
    this.totals.tradeGaps++;
    st.counters.missingTradeIds += to - from + 1;
    this.totals.missingTradeIds += to - from + 1;
    this.opts.onNotice?.(`gap:${st.stream}`, "trade ids not recovered", { stream: st.stream, from_id: from, to_id: to, reason });
    this.out.gap(st.symbol, st.stream, from, to);
  }

  private countDrop(st: StreamState, reason: DropReason): void {
    const c = st.counters;
    const t = this.totals;
    if (reason === "duplicate") {
      c.duplicates++;
      t.duplicates++;
    } else if (reason === "overlap") {
      c.overlapDropped++;
      t.overlapDropped++;
    } else {
      c.staleDropped++;
      t.staleDropped++;
    }
  }

  private addHeld(st: StreamState, n: number): void {
    st.counters.held += n;
    this.totals.held += n;
  }
}
