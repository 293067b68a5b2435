/**
 * Exchange filters applied before an order is sent (exchangeInfo `symbols[].filters`): prices on
 * the tick grid, quantities on the step grid, and the minimum notional. Rounding is done in integer
 * units of the grid so the text sent never carries binary noise ("0.30000000000000004").
 */

export interface SymbolFilters {
  readonly symbol: string;
  readonly tickSize: number;
  readonly tickDecimals: number;
  readonly minPrice: number;
  readonly maxPrice: number;
  readonly stepSize: number;
  readonly stepDecimals: number;
  readonly minQty: number;
  readonly maxQty: number;
  readonly marketStepSize: number;
  readonly marketStepDecimals: number;
  readonly marketMinQty: number;
  readonly marketMaxQty: number;
  readonly minNotional: number;
}

export interface RateLimits {
  readonly weight1m: number;
  readonly orders10s: number;
  readonly orders1m: number;
}

function decimalsOf(text: string): number {
  const t = text.includes(".") ? text.replace(/0+$/, "") : text;
  const i = t.indexOf(".");
  return i < 0 ? 0 : t.length - i - 1;
}

interface RawFilter {
  readonly filterType: string;
  readonly [k: string]: unknown;
}

/** Parses exchangeInfo; symbols without the three filters are left out (they cannot be traded safely). */
export function parseExchangeInfo(info: unknown): { filters: Map<string, SymbolFilters>; limits: RateLimits } {
  const o = info as { symbols?: { symbol: string; filters: RawFilter[] }[]; rateLimits?: { rateLimitType: string; interval: string; intervalNum: number; limit: number }[] };
  const filters = new Map<string, SymbolFilters>();
  for (const s of o.symbols ?? []) {
    const f = (t: string) => s.filters.find((x) => x.filterType === t);
    const pf = f("PRICE_FILTER");
    const lot = f("LOT_SIZE");
    const mlot = f("MARKET_LOT_SIZE") ?? lot;
    if (pf === undefined || lot === undefined || mlot === undefined) continue;
    const mn = f("MIN_NOTIONAL");
    filters.set(s.symbol, {
      symbol: s.symbol,
      tickSize: Number(pf.tickSize),
      tickDecimals: decimalsOf(String(pf.tickSize)),
      minPrice: Number(pf.minPrice),
      maxPrice: Number(pf.maxPrice),
      stepSize: Number(lot.stepSize),
      stepDecimals: decimalsOf(String(lot.stepSize)),
      minQty: Number(lot.minQty),
      maxQty: Number(lot.maxQty),
      marketStepSize: Number(mlot.stepSize),
      marketStepDecimals: decimalsOf(String(mlot.stepSize)),
      marketMinQty: Number(mlot.minQty),
      marketMaxQty: Number(mlot.maxQty),
      minNotional: mn === undefined ? 0 : Number(mn.notional),
    });
  }
  const lim = (type: string, interval: string, num: number, dflt: number) =>
    o.rateLimits?.find((r) => r.rateLimitType === type && r.interval === interval && r.intervalNum === num)?.limit ?? dflt;
  return { filters, limits: { weight1m: lim("REQUEST_WEIGHT", "MINUTE", 1, 2400), orders10s: lim("ORDERS", "SECOND", 10, 300), orders1m: lim("ORDERS", "MINUTE", 1, 1200) } };
}

/** `value` on the grid `step` (with `base` as origin), rounded down / to nearest, as decimal text. */
function toGrid(value: number, step: number, decimals: number, base: number, mode: "floor" | "nearest" | "ceil"): string {
  const units = (value - base) / step;
  // A hair of tolerance so 0.3 / 0.1 = 2.9999999999999996 counts as 3.
  const n = mode === "floor" ? Math.floor(units + 1e-9) : mode === "ceil" ? Math.ceil(units - 1e-9) : Math.round(units);
  return (base + n * step).toFixed(decimals);
}

/** The rule an order was refused by before sending (core/execution.ts `Refusal` `filter:<rule>`). */
export type FilterRule = "min_qty" | "max_qty" | "price" | "min_notional";

export type Checked = { readonly ok: true; readonly qty: string; readonly price: string | null } | { readonly ok: false; readonly reason: string; readonly rule: FilterRule };

/**
 * Rounds an order onto the symbol's grids (quantity down, so it never exceeds what was sized; price
 * to the nearest tick, or away from the market for stops with `priceMode`) and checks the limits the
 * exchange would reject it for.
 */
export function applyFilters(
  f: SymbolFilters,
  o: { readonly type: "LIMIT" | "MARKET" | "STOP"; readonly qty: number; readonly price: number | null; readonly refPrice: number; readonly reduceOnly: boolean; readonly priceMode?: "floor" | "nearest" | "ceil" },
): Checked {
  const market = o.type !== "LIMIT";
  const step = market ? f.marketStepSize : f.stepSize;
  const qty = toGrid(o.qty, step, market ? f.marketStepDecimals : f.stepDecimals, 0, "floor");
  const q = Number(qty);
  const minQ = market ? f.marketMinQty : f.minQty;
  const maxQ = market ? f.marketMaxQty : f.maxQty;
  if (!(q >= minQ)) return { ok: false, reason: `quantity ${o.qty} rounds to ${qty}, below the minimum ${minQ} of ${f.symbol}`, rule: "min_qty" };
  if (q > maxQ) return { ok: false, reason: `quantity ${qty} above the maximum ${maxQ} of ${f.symbol}`, rule: "max_qty" };
  let price: string | null = null;
  if (o.price !== null) {
    price = toGrid(o.price, f.tickSize, f.tickDecimals, f.minPrice, o.priceMode ?? "nearest");
    const p = Number(price);
    if (p < f.minPrice || p > f.maxPrice) return { ok: false, reason: `price ${price} outside [${f.minPrice}, ${f.maxPrice}] of ${f.symbol}`, rule: "price" };
  }
  const notional = q * (o.type === "LIMIT" && price !== null ? Number(price) : o.refPrice);
  if (!o.reduceOnly && notional < f.minNotional) return { ok: false, reason: `notional ${notional.toFixed(2)} below the minimum ${f.minNotional} of ${f.symbol}`, rule: "min_notional" };
  return { ok: true, qty, price };
}

/**
 * The smallest notional of a MARKET entry `applyFilters` lets through at `price`: the least quantity
 * on the market step grid that is at least the minimum quantity (and one step) and whose notional
 * reaches the minimum notional, times `price`.
 */
export function smallestMarketNotional(f: SymbolFilters, price: number): number {
  const least = Math.max(f.marketMinQty, f.marketStepSize, price > 0 ? f.minNotional / price : 0);
  return Number(toGrid(least, f.marketStepSize, f.marketStepDecimals, 0, "ceil")) * price;
}
