/**
 * The seam between an exchange adapter and the pipeline (docs/extending.md). An adapter turns its
 * venue's connections into neutral records and hands them forward, once each, in the order the log
 * and the engines must see them; nothing is called back upstream. A connection event is a record
 * like any other (a disconnect resets what depends on continuity downstream).
 */
import type { RecentHistogram } from "../util/recent-histogram.ts";
import type { DepthSnapshotEvent, MarketEvent, Route } from "./market-events.ts";

/** The two stream kinds every adapter delivers per symbol. */
export type StreamKind = MarketEvent["kind"];

/** A frame the adapter accepted for the raw log and the engine. */
export interface AcceptedFrame {
  readonly stream: string;
  /** Wall-clock receipt time (ms). */
  readonly recvTsMs: number;
  /** `performance.now()` at receipt, for the pipeline latency. */
  readonly t0: number;
  /** The parsed event; null when the payload is malformed for the engine (`bad` says why). */
  readonly event: MarketEvent | null;
  readonly bad: string | null;
  /** The exact payload text as received: what the raw log keeps. */
  readonly dataText: string;
}

/**
 * The reason of a disconnect the collector made itself, on stopping. It is logged like any other,
 * but it is not a break in the data: nothing downstream resets for it (no `reconnect` event, no
 * custom indicator's onDisconnect), live or in replay; the end of input that follows is the stop.
 */
export const DISCONNECT_SHUTDOWN = "shutdown";

/** Where an adapter's records go. Each call is one raw-log line, applied in call order. */
export interface FeedOutput {
  /** `held`: the frame waited behind a recovery (its line carries the time it was written). */
  frame(symbol: string, f: AcceptedFrame, held: boolean): void;
  /** A trade recovered over REST after ids were skipped, in the live payload's shape. */
  backfill(symbol: string, stream: string, dataText: string, event: MarketEvent | null, bad: string | null): void;
  /** Ids that will never be seen. */
  gap(symbol: string, stream: string, fromId: number, toId: number): void;
  /** A connection carrying some of the symbol's streams opened or closed. */
  connection(symbol: string, event: "connect" | "disconnect", route: Route, connId: string, reason?: string): void;
  /**
   * Full-depth mode: the answer to a depth snapshot request, in arrival order. `body` is the exact
   * response text (null when the request failed; `error` says why).
   */
  depthSnapshot?(symbol: string, stream: string, limit: number, body: string | null, error: string | null): void;
}

export type ConnectionState = "connecting" | "open" | "backoff" | "stopped";

/** One connection, read-only, for the status page and /health. */
export interface ConnectionView {
  readonly id: string;
  readonly route: Route;
  readonly streams: readonly string[];
  readonly state: ConnectionState;
  readonly reconnects: number;
  readonly rotations: number;
  readonly frames: number;
  readonly bytes: number;
  readonly lastFrameAtMs: number;
  /** The last connection error ("" = none yet), kept as history while the connection is open again. */
  readonly lastError: string;
  /** When lastError happened (wall-clock ms; 0 = never). */
  readonly lastErrorAtMs: number;
}

/** What the adapter counts per symbol at receipt. */
export interface SymbolFeedStats {
  frames: number;
  badFrames: number;
  lastFrameAtMs: number;
  /** Receipt time of the last frame per stream kind (0 = none yet), for /health's per-stream timeouts. */
  lastDepthAtMs: number;
  lastTradeAtMs: number;
  /** Receipt time minus the exchange's event time: lifetime (/metrics) and the last minute (/api/status). */
  readonly eventLatencyMs: RecentHistogram;
  /** Frames counted in the current and previous whole second, for messages/s. */
  secFrames: number;
  prevSecFrames: number;
  sec: number;
}

/** The status in `ListingView.notTrading` of a collected symbol the venue does not list at all. */
export const LISTING_ABSENT = "absent";

/** What the venue last said of the collected symbols (docs/feed.md, "Listings"). */
export interface ListingView {
  /** When the venue last answered (0: not yet). */
  readonly checkedAtMs: number;
  /** Collected symbols the venue no longer lists as trading, with its status for each (LISTING_ABSENT: not listed at all). */
  readonly notTrading: ReadonlyMap<string, string>;
  /** symbols = "ALL": symbols the venue lists as trading that this feed does not collect. */
  readonly notCollected: readonly string[];
}

/**
 * Totals every feed of a process reports alike because they describe something the feeds share (the
 * IP's REST weight used in the current minute, as the venue reports it; the seconds left of a pause
 * the venue imposed on the IP): a group reports them once.
 */
export const SHARED_TOTALS: ReadonlySet<string> = new Set(["rest_used_weight_1m", "rest_paused_s"]);

/** A running feed: the adapter's connections for a set of symbols. */
export interface Feed {
  start(): void;
  /**
   * End of input: unfinished recoveries are given up (what they had not recovered becomes gap
   * records), held frames are emitted, then the connections close (disconnect records).
   */
  stop(): void;
  readonly connections: readonly ConnectionView[];
  /**
   * Totals over all symbols (frames, duplicates, backfills, REST use, …): plain counters, which add
   * up across feeds, but for SHARED_TOTALS.
   */
  totals(): Readonly<Record<string, number>>;
  stats(symbol: string): SymbolFeedStats | undefined;
  /** Per-symbol recovery counters (duplicates, backfills, gaps): plain counters. */
  counters(symbol: string): Readonly<Record<string, number>> | undefined;
  /** Full-depth mode: the symbol's book wants a snapshot (fetched unless one is in flight; the answer comes forward). */
  requestDepthSnapshot?(symbol: string): void;
  /** The venue's listing of the collected symbols; undefined when it is not watched. */
  listing?(): ListingView | undefined;
}

/** Where a relay resumes a symbol: the last ids the store's own raw log holds (null: none). */
export interface RelayResume {
  readonly trade: number | null;
  readonly depth: number | null;
}

export interface RelayOptions {
  /** Records at or below these ids are already logged (dropped); a hole after them is recovered. */
  readonly resume: ReadonlyMap<string, RelayResume>;
  /** Longest a record waits for earlier records of its stream arriving after it (other collectors, a catch-up). */
  readonly reorderWindowMs: number;
  /** Called before a symbol's first record goes forward, with that record's receipt time. */
  readonly beginSession: (symbol: string, firstTsRecv: number) => void;
}

/** What became of one relayed record. */
export type RelayOutcome =
  /** Taken: it goes forward (now, or once the records before it are in). `event` null: a payload the collector rejected too. */
  | { readonly type: "frame"; readonly event: MarketEvent | null; readonly recvTsMs: number }
  /** Its id is at or below what the store's log already holds (redelivered after a restart). */
  | { readonly type: "logged" }
  /** A line of the collector's own story (session, connect, disconnect, gap): counted, never applied. */
  | { readonly type: "control"; readonly event: string }
  | { readonly type: "bad"; readonly reason: string };

/**
 * Raw-log lines of this venue that collectors relayed (the `store` command, docs/scale-out.md),
 * turned back into frames, put in id order, deduplicated and gap-checked exactly as the venue's own
 * feed would, then handed forward: the store writes what one collector with a perfect connection
 * would have written.
 */
export interface Relay {
  /**
   * One line as a collector logged it; `source` numbers that collector (duplicate counters), `tag`
   * names the record for `holding`.
   */
  offer(line: string, symbol: string, source: number, t0: number, tag: number): RelayOutcome;
  tick(nowMs: number): void;
  /** Records taken whose lines are not handed forward yet (waiting for order or behind a recovery). */
  readonly pending: number;
  /** The tags of those records: every other record taken has its line handed forward. */
  holding(): ReadonlySet<number>;
  /** Records that arrived after a later record of their stream and were put back in sequence. */
  readonly reordered: number;
  /** End of input: everything waiting goes forward, recoveries still running are given up. */
  drain(): void;
  totals(): Readonly<Record<string, number>>;
  counters(symbol: string): Readonly<Record<string, number>> | undefined;
  /** Full-depth mode: as `Feed.requestDepthSnapshot` (the store fetches its own). */
  requestDepthSnapshot?(symbol: string): void;
}

export interface FeedOptions {
  /**
   * Per symbol, the last trade id the raw log already holds (an earlier process stored it): trades
   * after it that the first live trade skips are recovered before it (docs/feed.md, restarts).
   */
  readonly resume?: ReadonlyMap<string, number>;
  /** The symbols were asked as "ALL": the venue's new listings are reported as not collected. */
  readonly all?: boolean;
  /**
   * Watch the venue's listing and the local clock against the venue's (default true; a feed added
   * for new listings leaves both to the first).
   */
  readonly watchVenue?: boolean;
}

/** A venue: how to find its symbols, open its feed, and read back its raw log (docs/extending.md). */
export interface ExchangeAdapter {
  readonly name: string;
  /** The symbols to collect; `"ALL"` asks the venue. Rejects with a message naming the venue's answer. */
  resolveSymbols(requested: readonly string[] | "ALL"): Promise<readonly string[]>;
  openFeed(symbols: readonly string[], out: FeedOutput, opts?: FeedOptions): Feed;
  /** Takes this venue's raw-log lines relayed by collectors instead of its connections (`store`). */
  openRelay(symbols: readonly string[], out: FeedOutput, opts: RelayOptions): Relay;
  /** Which symbol and kind a stream name of this venue carries (null: not one of ours). */
  parseStream(stream: string): { readonly symbol: string; readonly kind: StreamKind } | null;
  readonly rawLog: RawLogDecoder;
}

/**
 * A raw-log line decoded back into what the live run applied (docs/storage.md, raw log). A decoder
 * may reuse the object it returns for the next line: apply it before decoding another.
 */
export type DecodedLine =
  | { readonly type: "data"; readonly tsRecv: number; readonly event: MarketEvent; readonly backfilled: boolean }
  | { readonly type: "disconnect"; readonly tsRecv: number; readonly route: Route }
  /** A depth snapshot line (full-depth mode); null when its body does not parse. */
  | { readonly type: "snapshot"; readonly tsRecv: number; readonly snapshot: DepthSnapshotEvent | null }
  /** connect and gap lines: they change nothing in the engines. */
  | { readonly type: "control"; readonly tsRecv: number }
  /** A new process started here: fresh engines from this line on. */
  | { readonly type: "session"; readonly tsRecv: number }
  /** Not a JSON object: a corrupt (or, when last, truncated) line. */
  | { readonly type: "bad"; readonly reason: string }
  /** A line that applies nothing: another symbol's stream, or a payload the live run rejected too. */
  | { readonly type: "skip" };

export interface RawLogDecoder {
  /** Decodes one line of `symbol`'s log. Fast path for data lines; never throws. */
  decode(line: string, symbol: string): DecodedLine;
  /** The symbol of the first stream named in a line, for files outside a `symbol=` folder. */
  sniffSymbol(line: string): string | null;
}
