// Symbol filters from exchangeInfo as the venue checks them: PRICE_FILTER, LOT_SIZE /
// MARKET_LOT_SIZE and MIN_NOTIONAL. Decimal texts are checked as sent, so "0.0015" on a 0.001 step
// is a precision error even though the number is representable.

export interface SymbolRules {
  readonly tickSize: string;
  readonly minPrice: number;
  readonly maxPrice: number;
  readonly stepSize: string;
  readonly minQty: number;
  readonly maxQty: number;
  readonly marketStepSize: string;
  readonly marketMinQty: number;
  readonly marketMaxQty: number;
  readonly minNotional: number;
}

interface Filter {
  filterType: string;
  [k: string]: unknown;
}

export function rulesFromExchangeInfo(info: { symbols: { symbol: string; filters: Filter[] }[] }): Map<string, SymbolRules> {
  const out = new Map<string, SymbolRules>();
  for (const s of info.symbols) {
    const f = (t: string) => s.filters.find((x) => x.filterType === t);
    const pf = f("PRICE_FILTER");
    const lot = f("LOT_SIZE");
    const mlot = f("MARKET_LOT_SIZE") ?? lot;
    const mn = f("MIN_NOTIONAL");
    if (!pf || !lot || !mlot) continue;
    out.set(s.symbol, {
      tickSize: String(pf.tickSize),
      minPrice: Number(pf.minPrice),
      maxPrice: Number(pf.maxPrice),
      stepSize: String(lot.stepSize),
      minQty: Number(lot.minQty),
      maxQty: Number(lot.maxQty),
      marketStepSize: String(mlot.stepSize),
      marketMinQty: Number(mlot.minQty),
      marketMaxQty: Number(mlot.maxQty),
      minNotional: mn ? Number(mn.notional) : 0,
    });
  }
  return out;
}

function decimals(text: string): number {
  const t = text.includes(".") ? text.replace(/0+$/, "") : text;
  const i = t.indexOf(".");
  return i < 0 ? 0 : t.length - i - 1;
}

/** True when `value` (decimal text) is a whole multiple of `step` (decimal text) above `base`. */
export function onGrid(value: string, step: string, base = 0): boolean {
  if (!/^\d+(\.\d+)?$/.test(value)) return false;
  const d = Math.max(decimals(step), 0);
  if (decimals(value) > d) return false;
  const scale = 10 ** d;
  const v = Math.round(Number(value) * scale);
  const b = Math.round(base * scale);
  const s = Math.round(Number(step) * scale);
  return s > 0 && (v - b) % s === 0;
}
