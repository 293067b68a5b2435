/**
 * `row_id` of a prices row: the lower-case hex MD5 of the UTF-8 text `SYMBOL|agg_trade_id|price`
 * (docs/indicators.md §4), for example `BTCUSDT|1001|price`. It is a function of two other columns,
 * so calculators do not send it: the sinks that store rows fill it in (core/rows.ts `computed`),
 * the Parquet sink in its writer thread. On the ingest thread it was ≈ 8 % of the time per trade
 * (the key string and the hash, docs/performance.md).
 */
const digest = new Uint8Array(16);
const HEX = new TextEncoder().encode("0123456789abcdef");

export function priceRowId(symbol: string, aggTradeId: number): string {
  return Bun.MD5.hash(`${symbol}|${aggTradeId}|price`, "hex") as string;
}

/** Bytes of a row_id. */
export const PRICE_ROW_ID_BYTES = 32;

/** Writes the row_id's 32 ASCII hex bytes into `out` at `at`, allocating nothing but the key text. */
export function writePriceRowId(symbol: string, aggTradeId: number, out: Uint8Array, at: number): void {
  Bun.MD5.hash(`${symbol}|${aggTradeId}|price`, digest);
  for (let i = 0; i < 16; i++) {
    const b = digest[i]!;
    out[at + 2 * i] = HEX[b >> 4]!;
    out[at + 2 * i + 1] = HEX[b & 15]!;
  }
}
