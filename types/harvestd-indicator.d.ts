/**
 * Types of a harvestd custom indicator module (docs/indicators-custom.md).
 *
 * Copy this file next to your module (or print it: `harvestd indicator-types > harvestd-indicator.d.ts`) and write
 *
 *   import type { Indicator } from "./harvestd-indicator.d.ts";
 *   export default { name: "my_ind", columns: { x: "double" }, create(ctx) { ... } } satisfies Indicator;
 *
 * for editor help and type checking. The import is erased when harvestd loads the module, so the file
 * need not be present on the server.
 */

/** Parquet type of a declared column: DOUBLE, INT64, UTF-8 string, BOOLEAN. Every column is nullable. */
export type IndicatorColumnType = "double" | "int64" | "string" | "bool";

/** Declared columns, in file order: `[a-z][a-z0-9_]*`, not `symbol` or `ts_ms` (added by harvestd). */
export type IndicatorColumns = Readonly<Record<string, IndicatorColumnType>>;

/** The JavaScript value a column of each type takes in an emitted row (or null). */
export type IndicatorCellOf<T extends IndicatorColumnType> = T extends "double"
  ? number
  : T extends "int64"
    ? number
    : T extends "string"
      ? string
      : boolean;

/**
 * An emitted row: `ts_ms` (epoch ms, an integer: the event time the row belongs to) plus every
 * declared column, each a value of its type or null. A row missing a column, with an extra key, a
 * value of the wrong type, a non-finite double or a non-integer int64 is counted as an error of the
 * handler and dropped.
 */
export type IndicatorRow<C extends IndicatorColumns = IndicatorColumns> = { readonly ts_ms: number } & {
  readonly [K in keyof C]: IndicatorCellOf<C[K]> | null;
};

/** Writes one row of the indicator's kind; harvestd adds `symbol`. Valid only during a handler call. */
export type Emit<C extends IndicatorColumns = IndicatorColumns> = (row: IndicatorRow<C>) => void;

/** One aggregate trade, as accepted by the built-in calculators (valid, in id order, no duplicates). */
export interface Trade {
  /** Exchange trade time (`T`), else event time (`E`), epoch ms. */
  readonly ts_ms: number;
  /** When harvestd received it (the raw log's `ts_recv`), epoch ms; replay hands the same value. */
  readonly recv_ts_ms: number;
  readonly price: number;
  readonly qty: number;
  /** True when the buyer was the maker, i.e. the aggressor sold. */
  readonly is_buyer_maker: boolean;
  readonly agg_trade_id: number;
  /** True for a trade fetched back over REST after a disconnect (it arrives late, in id order). */
  readonly backfilled: boolean;
}

/** `[price, quantity]`, both finite and > 0. */
export type Level = readonly [price: number, qty: number];

/** One order-book snapshot (top levels), as accepted by the built-in calculators. */
export interface Book {
  /** Exchange transaction time (`T`), else event time (`E`), epoch ms. */
  readonly ts_ms: number;
  /** When harvestd received it, epoch ms. */
  readonly recv_ts_ms: number;
  /** The exchange's final update id of this snapshot (`u`). */
  readonly update_id: number;
  /** Valid levels only, best first (bids descending, asks ascending); a side may be empty. */
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
}

/** A connection carrying one of the symbol's streams dropped; see docs/indicators-custom.md. */
export interface Disconnect {
  /** `book`: snapshots were missed (lost for good). `trade`: missed trades follow, backfilled. */
  readonly stream: "book" | "trade";
}

/** What `create` returns: every handler is optional and must be synchronous. */
export interface IndicatorHandlers<C extends IndicatorColumns = IndicatorColumns> {
  onTrade?(trade: Trade, emit: Emit<C>): void;
  onBook?(book: Book, emit: Emit<C>): void;
  onDisconnect?(info: Disconnect, emit: Emit<C>): void;
  /** End of input (the run stops, or replay reaches the end of a process's log): flush open state. */
  onEnd?(emit: Emit<C>): void;
}

export interface IndicatorContext {
  /** Upper-case exchange symbol, e.g. `BTCUSDT`. */
  readonly symbol: string;
  /** `params` of the `[[indicators.custom]]` entry (a frozen copy; `{}` when absent). */
  readonly params: Readonly<Record<string, unknown>>;
}

/** The default export of an indicator module. */
export interface Indicator<C extends IndicatorColumns = IndicatorColumns> {
  /** `[a-z][a-z0-9_]*`, at most 48 characters. */
  readonly name: string;
  readonly columns: C;
  /**
   * Optional check of the configured params, run once at start (`validate`, `run`, `replay`): return
   * a message to refuse them (harvestd exits 78 naming the module), or null/undefined to accept.
   */
  validateParams?(params: Readonly<Record<string, unknown>>): string | null | undefined;
  /** Called once per symbol (and again after a process restart in replay); state lives in the closure. */
  create(ctx: IndicatorContext): IndicatorHandlers<C>;
}
