/**
 * The execution seam: what the live trader (trading/live) asks of a trading venue, in neutral terms.
 * An exchange adapter implements `ExecutionVenue` (exchange/binance/execution/venue.ts) and keeps its
 * venue's quirks on its side: endpoints, wire field names, error codes, the user stream's event
 * format. The trader never sees them, as the pipeline never sees the market-data wire format
 * (core/feed.ts `ExchangeAdapter`).
 */

export type VenueSide = "BUY" | "SELL";

export interface OrderState {
  readonly orderId: number;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: VenueSide;
  readonly type: string;
  readonly origQty: number;
  readonly price: number;
  readonly status: string;
  /** No more fills will come (filled, cancelled, expired, rejected). */
  readonly final: boolean;
  readonly executedQty: number;
  readonly avgPrice: number;
  readonly reduceOnly: boolean;
  readonly updateTime: number;
}

/** A resting protective stop (closes the whole position when the trigger price trades). */
export interface StopState {
  readonly stopId: number;
  readonly clientStopId: string;
  readonly symbol: string;
  /** Side of the closing order (SELL protects a long). */
  readonly side: VenueSide;
  readonly triggerPrice: number;
  readonly status: string;
}

export interface PositionState {
  readonly symbol: string;
  /** Signed base quantity. */
  readonly qty: number;
  readonly entryPrice: number;
  readonly markPrice: number;
  readonly unrealizedPnl: number;
}

/** One of the account's trades (a fill) as the venue's trade list gives it. */
export interface VenueTrade {
  readonly id: number;
  readonly orderId: number;
  readonly symbol: string;
  readonly side: VenueSide;
  readonly price: number;
  readonly qty: number;
  readonly commission: number;
  readonly realizedPnl: number;
  readonly maker: boolean;
  readonly time: number;
}

/** Why the venue refused, where the trader acts on the reason. */
export type Refusal =
  /** A stop whose trigger the market has already passed: it would fire at once. */
  | "would-trigger-now"
  /**
   * Refused by the adapter's own check of the venue's symbol rules before anything was sent: no
   * request left the process (attempts 0), so it is no order sent. The suffix names the rule:
   * `filter:min_notional`, `filter:min_qty` (the quantity floored onto the step grid is below the
   * minimum), `filter:max_qty`, `filter:price` (outside the venue's price range), `filter:unlisted`.
   */
  | `filter:${string}`;

/** An order or a stop sent: the venue's answer, or why there is none. */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T; readonly latencyMs: number; readonly attempts: number }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly refusal: Refusal | null;
      readonly latencyMs: number;
      readonly attempts: number;
      /** true when the venue may hold the order after all (it never answered definitely). */
      readonly uncertain: boolean;
    };

/** A request without a result to keep (cancels, settings): done, or why not. */
export type VenueReply =
  | { readonly ok: true; readonly latencyMs: number }
  /** `gone`: what was to be cancelled does not exist (any more), which leaves it as wanted. */
  | { readonly ok: false; readonly gone: boolean; readonly reason: string; readonly latencyMs: number };

export interface NewOrder {
  readonly symbol: string;
  readonly side: VenueSide;
  readonly type: "LIMIT" | "MARKET";
  readonly qty: number;
  /** LIMIT price; null for MARKET. */
  readonly price: number | null;
  /** Price the notional check uses for MARKET orders (the book at the decision). */
  readonly refPrice: number;
  readonly reduceOnly: boolean;
  readonly clientOrderId: string;
  readonly timeInForce?: "GTC" | "IOC" | "FOK" | "GTX";
}

export interface NewStop {
  readonly symbol: string;
  readonly side: VenueSide;
  readonly triggerPrice: number;
  readonly clientStopId: string;
}

/** A fill reported by the account's event stream. */
export interface StreamFill {
  readonly tradeId: number;
  readonly orderId: number;
  readonly clientOrderId: string;
  readonly side: VenueSide;
  readonly price: number;
  readonly qty: number;
  readonly commission: number;
  readonly commissionAsset: string;
  readonly realizedPnl: number;
  readonly maker: boolean;
  readonly time: number;
}

/** The account's event stream, decoded. `raw` is the venue's event as received, for the audit log. */
export type VenueEvent =
  | {
      readonly type: "order";
      readonly raw: unknown;
      readonly symbol: string;
      readonly clientOrderId: string;
      readonly orderId: number;
      readonly side: VenueSide;
      readonly orderType: string;
      readonly qty: number;
      /** Average fill price, else the order's price, else null. */
      readonly price: number | null;
      readonly status: string;
      /** No more fills will come (filled, cancelled, expired, rejected). */
      readonly final: boolean;
      /** The order traded in full (final too). */
      readonly filled: boolean;
      /** Set when this update reports a fill. */
      readonly fill: StreamFill | null;
    }
  | { readonly type: "stop"; readonly raw: unknown; readonly symbol: string; readonly clientStopId: string; readonly stopId: number; readonly side: VenueSide; readonly triggerPrice: number; readonly status: string; readonly resting: boolean }
  | { readonly type: "account"; readonly raw: unknown; readonly unrealized: readonly { readonly symbol: string; readonly unrealizedPnl: number }[] }
  /** Anything else the venue sends: recorded, not acted on. */
  | { readonly type: "other"; readonly raw: unknown };

export interface VenueEventHandlers {
  readonly onEvent: (ev: VenueEvent) => void;
  /** After every (re)connection of the stream; `reconnect` is false for the first. */
  readonly onConnected: (reconnect: boolean) => void;
  readonly onDisconnected: (why: string) => void;
}

/** Request-weight and order-count use the venue reported, for the status page. */
export interface VenueLimits {
  readonly usedWeight1m: number;
  readonly orderCount10s: number;
  readonly orderCount1m: number;
}

/**
 * Where a page of the trade list starts: at a trade id (fills the stream may have missed), at a
 * time (the trades of a day), or the latest page.
 */
export type TradePage = { readonly fromId: number } | { readonly fromTime: number } | "latest";

/** A request to the venue and its answer, for the audit log (secrets already removed). */
export interface VenueAudit {
  readonly ts_ms: number;
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly status: number;
  readonly latency_ms: number;
  readonly response: unknown;
}

export interface ExecutionVenue {
  readonly limits: VenueLimits;
  /** Whether the account's event stream is connected now. */
  readonly streamConnected: boolean;
  /** Quantity step of market orders for the symbol (null: the venue does not list it). */
  marketStep(symbol: string): number | null;
  /**
   * The smallest notional of a MARKET entry the venue accepts for the symbol at `price`: the least
   * quantity on the step grid that meets the minimum quantity and the minimum notional, times `price`
   * (null: the venue does not list the symbol).
   */
  minOrderNotional(symbol: string, price: number): number | null;
  /** Checks the venue answers (and aligns the request clock with it). */
  ping(): Promise<VenueReply>;
  setLeverage(symbol: string, leverage: number): Promise<VenueReply>;
  /** Opens the account's event stream; resolves once the first connection is open or failed (it keeps retrying). */
  startStream(handlers: VenueEventHandlers): Promise<boolean>;
  stopStream(): void;
  placeOrder(o: NewOrder): Promise<Outcome<OrderState>>;
  placeStop(s: NewStop): Promise<Outcome<StopState>>;
  queryOrder(symbol: string, orderId: number): Promise<OrderState | null>;
  cancelOrder(symbol: string, clientOrderId: string): Promise<VenueReply>;
  cancelAllOrders(symbol: string): Promise<VenueReply>;
  cancelStop(symbol: string, clientStopId: string): Promise<VenueReply>;
  cancelAllStops(symbol: string): Promise<VenueReply>;
  /** A stop by its client id, in whatever state (resting, triggered, finished, cancelled); null: no answer or not found. */
  queryStop(symbol: string, clientStopId: string): Promise<StopState | null>;
  openOrders(symbol: string): Promise<OrderState[] | null>;
  openStops(symbol: string): Promise<StopState[] | null>;
  positions(symbol?: string): Promise<PositionState[] | null>;
  /** One page of the account's trade list, oldest first (TradePage says where it starts). */
  trades(symbol: string, page: TradePage): Promise<VenueTrade[] | null>;
  /** Arms (or with 0 disarms) the venue's dead-man switch: open orders cancelled if not renewed in time. */
  armDeadMan(symbol: string, countdownMs: number): Promise<VenueReply>;
}

export type VenueOpen = { readonly ok: true; readonly venue: ExecutionVenue } | { readonly ok: false; readonly error: string };

/** A venue with its credentials resolved, to be opened once the audit log exists. */
export interface VenueOpener {
  /** Strings the audit log must never contain (the key material). */
  readonly secrets: readonly string[];
  /** A stable name of the account that is not a secret (a digest of its key): one trader per account. */
  readonly account: string;
  /** Reads the venue's symbol rules; fails when it cannot be reached or does not list a symbol. */
  open(symbols: readonly string[], onAudit: (e: VenueAudit) => void): Promise<VenueOpen>;
}

/** Credentials found (an opener), or which are missing or malformed. */
export type VenueAccess = { readonly ok: true; readonly opener: VenueOpener } | { readonly ok: false; readonly error: string };
