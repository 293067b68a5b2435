/**
 * Normalised market events: what the feed hands to the calculators.
 *
 * The frame parser produces these from combined-stream frames (live) or NDJSON lines (replay).
 * Structurally malformed frames (docs/indicators.md §15.3: a book without `u`, without both `T` and `E`,
 * without `b`/`a` lists; a trade without an integer `a`) never become events. Numeric strings that do
 * not parse become NaN here, so the calculators can apply the per-level / per-trade validation rules
 * of docs/indicators.md §2 themselves (they count what they drop).
 */

/** Which exchange route a connection lives on (docs/binance.md §0). */
export type Route = "public" | "market";

/** A `<sym>@depth5@100ms` message: a complete top-N snapshot, not a delta. */
export interface DepthEvent {
  readonly kind: "depth";
  /** Upper-case symbol, e.g. `BTCUSDT`. */
  readonly symbol: string;
  /** `E`, event time in ms, or null when absent. */
  readonly eventTime: number | null;
  /** `T`, transaction time in ms, or null when absent. */
  readonly transactTime: number | null;
  /** `U`, first update id, or null when absent. */
  readonly firstId: number | null;
  /** `u`, final update id. */
  readonly lastId: number;
  /** `pu`, the previous message's `u`, or null when absent. */
  readonly prevLastId: number | null;
  /** Bids as received: flat `[p0, q0, p1, q1, …]`; NaN where a value did not parse. */
  readonly bids: Float64Array;
  /** Asks as received, same layout as `bids`. */
  readonly asks: Float64Array;
}

/** A `<sym>@aggTrade` message (or a trade recovered over REST, in the same shape). */
export interface AggTradeEvent {
  readonly kind: "aggTrade";
  readonly symbol: string;
  /** `E`, event time in ms, or null (REST trades have none). */
  readonly eventTime: number | null;
  /** `T`, trade time in ms, or null when absent. */
  readonly tradeTime: number | null;
  /** `a`, aggregate trade id (always an integer). */
  readonly aggId: number;
  /** `p`; NaN if it did not parse. */
  readonly price: number;
  /** `q`; NaN if it did not parse. */
  readonly qty: number;
  /** `f`, or null when absent. */
  readonly firstTradeId: number | null;
  /** `l`, or null when absent. */
  readonly lastTradeId: number | null;
  /** `m` (buyer is maker ⇒ the aggressor sold); null when missing or not a boolean. */
  readonly buyerIsMaker: boolean | null;
}

export type MarketEvent = DepthEvent | AggTradeEvent;

/**
 * A REST order-book snapshot for the full-depth book (docs/depth.md): levels best first, as sent.
 * Not a MarketEvent: it moves the full book, and reaches the engine only through the top 5 it yields.
 */
export interface DepthSnapshotEvent {
  readonly lastUpdateId: number;
  /** `E` (message output time), or null when absent. */
  readonly eventTime: number | null;
  readonly bidPx: Float64Array;
  readonly bidQty: Float64Array;
  readonly askPx: Float64Array;
  readonly askQty: Float64Array;
  /** The limit it was requested with: a side with fewer levels was sent completely. */
  readonly limit: number;
}
