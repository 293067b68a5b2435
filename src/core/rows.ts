/**
 * The one explicit schema of every Parquet kind: column names, types and nullability.
 *
 * Calculators emit rows as plain records keyed by these names; sinks build columns from them. Nothing
 * is ever inferred from data. Column meanings are documented in docs/schemas.md and defined in
 * docs/indicators.md (§3 orderbook, §4 prices, §5.4 ofi, §6.4 cvd, §7.3 fusion).
 */
import { priceRowId } from "./row-id.ts";

/**
 * Column types.
 * - `ts`: epoch milliseconds, stored as INT64 TIMESTAMP(MILLIS, isAdjustedToUTC=true).
 * - `i64`: integer held in a JS number (exact below 2^53), stored as INT64.
 * - `f64`: DOUBLE. - `str`: UTF-8 string. - `bool`: BOOLEAN.
 */
export type ColumnType = "ts" | "i64" | "f64" | "str" | "bool";

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  /** Nullable columns hold null where a value is not computable (never a fake 0). */
  readonly nullable: boolean;
  /**
   * A function of the row's other columns (only `row_id`, core/row-id.ts): calculators leave it out
   * and every sink that stores rows fills it in (`withComputedCells`; the Parquet sink in its writer
   * thread, off the ingest thread). A value a calculator does send is ignored.
   */
  readonly computed?: boolean;
}

export type Cell = number | string | boolean | null;
export type Row = Readonly<Record<string, Cell>>;

const col = (name: string, type: ColumnType, nullable = false, computed = false): ColumnDef => (computed ? { name, type, nullable, computed } : { name, type, nullable });
const levels = (prefix: string, type: ColumnType): ColumnDef[] =>
  [0, 1, 2, 3, 4].map((m) => col(`${prefix}${m}`, type, true));

/** Raw kinds go under OUTPUT_DIR, derived ones under PREVIEW_DIR. */
export const RAW_KINDS = ["prices", "orderbook", "book_l2"] as const;
export const PREVIEW_KINDS = ["ofi", "cvd", "fusion", "events", "features", "paper", "orders", "fills", "model_decisions"] as const;
export type RawKind = (typeof RAW_KINDS)[number];
export type PreviewKind = (typeof PREVIEW_KINDS)[number];
export type RowKind = RawKind | PreviewKind;
export const ALL_KINDS: readonly RowKind[] = [...RAW_KINDS, ...PREVIEW_KINDS];

export const SCHEMAS: { readonly [K in RowKind]: readonly ColumnDef[] } = {
  // docs/indicators.md §4, plus the trade's own ids and side (research needs the aggressor side) and
  // `backfilled` (true for trades recovered over REST after a disconnect).
  prices: [
    col("symbol", "str"),
    col("ts_ms", "ts"),
    col("recv_ts_ms", "ts"),
    col("price", "f64"),
    col("qty", "f64"),
    col("agg_trade_id", "i64"),
    col("first_trade_id", "i64", true),
    col("last_trade_id", "i64", true),
    col("is_buyer_maker", "bool"),
    col("latency_ms", "i64", true),
    col("best_buy_fill", "f64", true),
    col("best_sell_fill", "f64", true),
    col("row_id", "str", false, true),
    col("scenario_2x2", "str", true),
    col("backfilled", "bool"),
  ],
  // docs/indicators.md §3, plus the five levels themselves (price and quantity; null = empty level) and
  // the `seq_gap` quality flag of §2.1.
  orderbook: [
    col("symbol", "str"),
    col("ts_ms", "ts"),
    col("recv_ts_ms", "ts"),
    col("best_bid", "f64", true),
    col("best_ask", "f64", true),
    col("mid", "f64", true),
    col("spread_bps", "f64", true),
    col("first_id", "i64", true),
    col("last_id", "i64"),
    col("prev_last_id", "i64", true),
    ...levels("d_b", "f64"),
    ...levels("d_a", "f64"),
    col("d_bid_qty_agg", "f64", true),
    col("d_ask_qty_agg", "f64", true),
    ...levels("bid_px_", "f64"),
    ...levels("bid_qty_", "f64"),
    ...levels("ask_px_", "f64"),
    ...levels("ask_qty_", "f64"),
    col("seq_gap", "bool"),
  ],
  // Full-depth mode (docs/depth.md): periodic snapshots of the kept book, one row per level and side,
  // best first (`level` 0 = the touch). `ts_ms` is the period boundary (event time); the book is the
  // one after the diff with `last_update_id`, whose event time is `book_ts_ms`.
  book_l2: [
    col("symbol", "str"),
    col("ts_ms", "ts"),
    col("book_ts_ms", "ts"),
    col("last_update_id", "i64"),
    col("side", "str"),
    col("level", "i64"),
    col("price", "f64"),
    col("qty", "f64"),
  ],
  // docs/indicators.md §5.4 and §15.6.
  ofi: [
    col("symbol", "str"),
    col("ts_ms", "ts"),
    col("last_id", "i64"),
    col("ofi_value", "f64", true),
    col("ofi_z", "f64", true),
    col("scale", "f64", true),
    col("lag_ms_to_trade", "i64", true),
    col("std_floor_hit", "bool"),
    col("seq_gap", "bool"),
    col("scenario_2x2", "str"),
  ],
  // docs/indicators.md §6.4 with the diagnostics of §15.8.
  cvd: [
    col("symbol", "str"),
    col("ts_ms", "ts"),
    col("agg_trade_id", "i64"),
    col("cvd", "f64"),
    col("delta", "f64"),
    col("z_raw", "f64", true),
    col("z_cvd", "f64", true),
    col("scale", "f64"),
    col("floor", "f64"),
    col("floor_used", "bool"),
    col("scenario_2x2", "str"),
  ],
  // docs/indicators.md §7.3 with diagnostics; z_ofi / z_cvd are the clipped inputs ẑo, ẑc.
  fusion: [
    col("symbol", "str"),
    col("ts_ms", "ts"),
    col("agg_trade_id", "i64"),
    col("score", "f64"),
    col("proba", "f64"),
    col("consistency", "f64"),
    col("dispersion", "f64", true),
    col("signal", "str"),
    col("z_ofi", "f64"),
    col("z_cvd", "f64"),
    col("lag_ms", "i64"),
    col("degraded", "bool"),
    col("scenario_2x2", "str"),
  ],
  // Divergence (§8), conflict (§8.4) and data-quality events (gaps, resyncs, reconnects).
  // `detail` is a JSON object with the event's specific figures (e.g. T_P, T_c, id ranges).
  events: [
    col("symbol", "str"),
    col("ts_ms", "ts"),
    col("type", "str"),
    col("channel", "str", true),
    col("strength", "f64", true),
    col("detail", "str", true),
    col("scenario_2x2", "str", true),
  ],
  // One row per symbol per event-time second (docs/schemas.md, "features"): the state as of the second's end.
  features: [
    col("symbol", "str"),
    col("ts_ms", "ts"),
    col("mid", "f64", true),
    col("spread_bps", "f64", true),
    col("ofi_sum", "f64"),
    col("ofi_z_last", "f64", true),
    col("cvd", "f64"),
    col("z_cvd_last", "f64", true),
    col("fusion_score", "f64", true),
    col("fusion_signal", "str", true),
    col("trade_count", "i64"),
    col("buy_volume", "f64"),
    col("sell_volume", "f64"),
    col("vwap", "f64", true),
    col("realized_vol_bps", "f64"),
    col("tps", "f64"),
    col("scenario_2x2", "str"),
  ],
  // Paper trading (docs/research.md): one row per simulated fill, "open" or "close";
  // close rows carry the round trip's result. `equity` is the running realised PnL after the fill.
  paper: [
    col("symbol", "str"),
    col("ts_ms", "ts"),
    col("event", "str"),
    col("position_no", "i64"),
    col("side", "str"),
    col("reason", "str"),
    col("price", "f64"),
    col("qty", "f64"),
    col("fee", "f64"),
    col("entry_ts_ms", "ts"),
    col("entry_price", "f64"),
    col("gross_pnl", "f64", true),
    col("net_pnl", "f64", true),
    col("ret_bps", "f64", true),
    col("hold_ms", "i64", true),
    col("equity", "f64"),
    col("drawdown", "f64"),
    col("agg_trade_id", "i64"),
    col("signal_agg_trade_id", "i64", true),
    col("fee_tier", "str"),
    col("scenario_2x2", "str", true),
  ],
  // Testnet trading (docs/trading.md): one row per order event the trader saw (sent, acknowledged,
  // rejected, final state from the user stream); `latency_ms` is request to answer.
  orders: [
    col("symbol", "str"),
    col("ts_ms", "ts"),
    col("client_order_id", "str"),
    col("order_id", "i64", true),
    col("side", "str"),
    col("type", "str"),
    col("qty", "f64"),
    col("price", "f64", true),
    col("status", "str"),
    col("reason", "str"),
    col("latency_ms", "f64", true),
    col("attempts", "i64"),
    col("error", "str", true),
    col("intent_key", "str", true),
    col("ref_price", "f64", true),
  ],
  // The model filter (docs/models.md): one row per entry signal the strategy asked the model about.
  // `taken` is the model's answer (the strategy's later gates may still skip a taken signal).
  model_decisions: [
    col("symbol", "str"),
    col("ts_ms", "ts"),
    col("agg_trade_id", "i64"),
    col("side", "str"),
    col("score", "f64"),
    col("probability", "f64", true),
    col("threshold", "f64"),
    col("taken", "bool"),
    col("size_factor", "f64"),
    col("mode", "str"),
    col("model", "str"),
    col("reason", "str", true),
    col("scenario_2x2", "str", true),
    col("executor", "str", true),
  ],
  // One row per execution reported by the venue (user stream, or the trade list after a reconnect).
  fills: [
    col("symbol", "str"),
    col("ts_ms", "ts"),
    col("trade_id", "i64"),
    col("order_id", "i64"),
    col("client_order_id", "str"),
    col("side", "str"),
    col("price", "f64"),
    col("qty", "f64"),
    col("commission", "f64"),
    col("commission_asset", "str"),
    col("realized_pnl", "f64"),
    col("maker", "bool"),
    col("intent_key", "str", true),
    col("ref_price", "f64", true),
  ],
};

/**
 * Kinds of custom indicators (src/indicators, docs/indicators-custom.md): `custom_<name>`, written under
 * PREVIEW_DIR like the derived kinds. Their schemas are known only once the modules are loaded, so they
 * are registered at run time (per thread: the Parquet writer Worker receives them in its init message).
 */
export type CustomKind = `custom_${string}`;
/** Every kind a sink accepts: the static kinds above and the registered custom ones. */
export type SinkKind = RowKind | CustomKind;

const customSchemas = new Map<CustomKind, readonly ColumnDef[]>();

export const isCustomKind = (kind: string): kind is CustomKind => kind.startsWith("custom_");

/**
 * Registers the schema of a custom kind in this thread. A kind's schema is fixed once registered
 * (writers cache per-kind layouts): registering the same columns again is a no-op, others throw.
 */
export function registerCustomSchema(kind: CustomKind, defs: readonly ColumnDef[]): void {
  const had = customSchemas.get(kind);
  if (had !== undefined && JSON.stringify(had) !== JSON.stringify(defs)) throw new Error(`${kind} is already registered with other columns`);
  customSchemas.set(kind, defs);
}

/** The custom kinds registered in this thread, with their schemas (to hand to another thread). */
export function customSchemaEntries(): [CustomKind, readonly ColumnDef[]][] {
  return [...customSchemas];
}

/** Every static kind, then the custom kinds registered in this thread so far. */
export function sinkKinds(): SinkKind[] {
  return [...ALL_KINDS, ...customSchemas.keys()];
}

/** The schema of a static or registered custom kind; undefined for anything else. */
export function schemaOf(kind: string): readonly ColumnDef[] | undefined {
  return isCustomKind(kind) ? customSchemas.get(kind) : Object.hasOwn(SCHEMAS, kind) ? SCHEMAS[kind as RowKind] : undefined;
}

/**
 * A copy of `row` with its computed columns (ColumnDef.computed) filled in: what a sink that keeps
 * row objects stores. The row must hold the columns they are computed from.
 */
export function withComputedCells(kind: string, row: Row): Row {
  if (kind !== "prices") return { ...row };
  return { ...row, row_id: priceRowId(row.symbol as string, row.agg_trade_id as number) };
}

/** Where rows go: implemented by every sink (Parquet, in-memory for tests). */
export interface RowSink {
  append(kind: SinkKind, row: Row): void;
}
