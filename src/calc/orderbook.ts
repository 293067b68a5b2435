/**
 * Book-message classification and sequencing (docs/indicators.md §2.1) and the raw orderbook row (§3).
 *
 * `BookTracker.process` decides what a depth message is; the engine then runs OFI on "normal"
 * messages against `prevBid/prevAsk` (the baseline before the message). Two level buffers are swapped
 * instead of copied: after a valid message the old baseline becomes the spare buffer, so it stays
 * readable as `prev*` until the next call.
 */
import type { OfiParams } from "./params.ts";
import type { DepthEvent } from "../core/market-events.ts";
import { BOOK_LEVELS, BookSide, readSide, SideScratch } from "./book-input.ts";

/**
 * - `stale`: `u ≤ last_u`, dropped (no row, no state change);
 * - `one_sided`: a side has no valid level; row with null mid/spread/d_*; baseline kept;
 * - `crossed`: best bid ≥ best ask; row with d_* null; baseline kept;
 * - `first`: no baseline (start, or after a reconnect); baseline := message;
 * - `reset`: full OFI reset (time gap > OFI_RESET_GAP_MS, or UTC day change with
 *   OFI_RESET_ON_UTC_DAY); baseline := message;
 * - `normal`: OFI row; baseline := message.
 */
export type BookClass = "stale" | "one_sided" | "crossed" | "first" | "reset" | "normal";
export type ResetReason = "time_gap" | "utc_day";

const DAY_MS = 86_400_000;
/** §2.1: gaps in more than 1 % of the first 1000 messages mean `pu` does not chain on this stream. */
const SEQ_AUDIT_MESSAGES = 1000;
const SEQ_AUDIT_MAX_GAPS = 10;

export class BookTracker {
  // ---- counters (plain numbers, monotone) ----
  /** Messages kept (every class but `stale`). */
  kept = 0;
  stale = 0;
  badLevels = 0;
  seqGaps = 0;
  crossed = 0;
  oneSided = 0;
  /** Full OFI resets by time gap / UTC day (reconnects are counted by the engine). */
  resets = 0;

  // ---- the last processed message (valid until the next call) ----
  cls: BookClass = "stale";
  tsMs = 0;
  /** Book-stream ts_eff after this message; −∞ before the first kept message. */
  tsEff = Number.NEGATIVE_INFINITY;
  seqGap = false;
  /** `last_u` the message was checked against (NaN when unset): the expected `pu`. */
  expectedPu = Number.NaN;
  resetReason: ResetReason | null = null;
  /** ts_eff − previous kept message's ts_eff (0 for the first kept message). */
  gapMs = 0;
  /** True exactly once: when the §2.1 sequence audit finds `pu` not chaining. */
  seqAuditFailed = false;
  /** Levels of the message. */
  bid: BookSide;
  ask: BookSide;
  /** Baseline before the message (meaningful for `normal`). */
  prevBid: BookSide;
  prevAsk: BookSide;
  /** Index-wise quantity changes vs the baseline (meaningful for `normal`). */
  readonly dBid = new Float64Array(BOOK_LEVELS);
  readonly dAsk = new Float64Array(BOOK_LEVELS);
  dBidAgg = 0;
  dAskAgg = 0;

  // ---- state ----
  private lastU = Number.NaN;
  private lastTsEff = Number.NEGATIVE_INFINITY;
  private hasBaseline = false;
  private baseBid: BookSide;
  private baseAsk: BookSide;
  private spareBid: BookSide;
  private spareAsk: BookSide;
  private readonly scratch = new SideScratch();
  private readonly gapLimitMs: number;
  private readonly resetOnUtcDay: boolean;
  private auditGaps = 0;
  private auditDone = false;

  constructor(p: Pick<OfiParams, "reset_gap_ms" | "reset_on_utc_day">) {
    this.gapLimitMs = p.reset_gap_ms;
    this.resetOnUtcDay = p.reset_on_utc_day;
    this.baseBid = new BookSide(true);
    this.baseAsk = new BookSide(false);
    this.spareBid = new BookSide(true);
    this.spareAsk = new BookSide(false);
    this.bid = this.spareBid;
    this.ask = this.spareAsk;
    this.prevBid = this.baseBid;
    this.prevAsk = this.baseAsk;
  }

  /** Whether a message has been kept since start (for snapshots). */
  get hasBook(): boolean {
    return this.kept > 0;
  }

  /** A websocket reconnect of the depth route (§2.1, §15.5): the next kept message is `first`. */
  reconnect(): void {
    this.lastU = Number.NaN;
    this.hasBaseline = false;
  }

  /** Classifies `ev` and updates the book state. Returns the class (also in `cls`). */
  process(ev: DepthEvent): BookClass {
    const u = ev.lastId;
    this.seqAuditFailed = false;
    if (this.lastU === this.lastU && u <= this.lastU) {
      this.stale++;
      this.cls = "stale";
      return "stale";
    }
    const ts = ev.transactTime ?? ev.eventTime;
    // Unreachable for parsed events (§15.3: the parser rejects a book without T and E); no state touched.
    if (ts === null) {
      this.cls = "stale";
      return "stale";
    }

    const bid = this.spareBid;
    const ask = this.spareAsk;
    this.badLevels += readSide(ev.bids, bid, this.scratch) + readSide(ev.asks, ask, this.scratch);
    this.bid = bid;
    this.ask = ask;

    const tsEff = ts > this.lastTsEff ? ts : this.lastTsEff;
    this.tsMs = ts;
    this.gapMs = this.kept === 0 ? 0 : tsEff - this.lastTsEff;
    this.tsEff = tsEff;
    this.resetReason = null;

    const pu = ev.prevLastId;
    this.expectedPu = this.lastU;
    this.seqGap = pu !== null && this.lastU === this.lastU && pu !== this.lastU;
    if (this.seqGap) this.seqGaps++;
    this.kept++;
    this.audit();

    let cls: BookClass;
    if (bid.count === 0 || ask.count === 0) {
      cls = "one_sided";
      this.oneSided++;
    } else if (bid.px[0] >= ask.px[0]) {
      cls = "crossed";
      this.crossed++;
    } else if (!this.hasBaseline) {
      cls = "first";
    } else if (this.gapMs > this.gapLimitMs) {
      cls = "reset";
      this.resetReason = "time_gap";
    } else if (this.resetOnUtcDay && Math.floor(tsEff / DAY_MS) !== Math.floor(this.lastTsEff / DAY_MS)) {
      cls = "reset";
      this.resetReason = "utc_day";
    } else {
      cls = "normal";
    }
    if (cls === "reset") this.resets++;
    if (cls === "normal") this.diff(bid, ask, this.baseBid, this.baseAsk);

    if (cls === "first" || cls === "reset" || cls === "normal") {
      // baseline := message; the old baseline becomes the spare (and stays readable as prev*).
      this.prevBid = this.baseBid;
      this.prevAsk = this.baseAsk;
      this.baseBid = bid;
      this.baseAsk = ask;
      this.spareBid = this.prevBid;
      this.spareAsk = this.prevAsk;
      this.hasBaseline = true;
    }
    this.lastU = u;
    this.lastTsEff = tsEff;
    this.cls = cls;
    return cls;
  }

  private diff(bid: BookSide, ask: BookSide, pb: BookSide, pa: BookSide): void {
    let sb = 0;
    let sa = 0;
    for (let m = 0; m < BOOK_LEVELS; m++) {
      const db = bid.qty[m] - pb.qty[m];
      const da = ask.qty[m] - pa.qty[m];
      this.dBid[m] = db;
      this.dAsk[m] = da;
      sb += db;
      sa += da;
    }
    this.dBidAgg = sb;
    this.dAskAgg = sa;
  }

  private audit(): void {
    if (this.auditDone) return;
    if (this.seqGap) this.auditGaps++;
    if (this.auditGaps > SEQ_AUDIT_MAX_GAPS) {
      this.auditDone = true;
      this.seqAuditFailed = true;
    } else if (this.kept >= SEQ_AUDIT_MESSAGES) {
      this.auditDone = true;
    }
  }
}
