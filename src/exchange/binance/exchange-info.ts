/**
 * `SYMBOLS=ALL`: every TRADING USDT-margined perpetual listed by REST /fapi/v1/exchangeInfo
 * (binance-protocol.md §8).
 */
import { SYMBOL_PATTERN } from "../../config/schema.ts";

interface ExchangeSymbol {
  readonly symbol?: unknown;
  readonly status?: unknown;
  readonly contractType?: unknown;
  readonly quoteAsset?: unknown;
}

export function tradingUsdtPerpetuals(info: unknown): string[] {
  const symbols = (info as { symbols?: unknown })?.symbols;
  if (!Array.isArray(symbols)) throw new Error("exchangeInfo response has no symbols list");
  return (symbols as ExchangeSymbol[])
    .filter((s) => s.status === "TRADING" && s.contractType === "PERPETUAL" && s.quoteAsset === "USDT")
    .map((s) => String(s.symbol))
    .filter((s) => SYMBOL_PATTERN.test(s))
    .sort();
}

export async function fetchAllSymbols(restBase: string, timeoutMs = 15_000): Promise<string[]> {
  const url = `${restBase.replace(/\/+$/, "")}/fapi/v1/exchangeInfo`;
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${url} answered HTTP ${res.status}`);
  const symbols = tradingUsdtPerpetuals(await res.json());
  if (symbols.length === 0) throw new Error(`GET ${url} lists no TRADING USDT perpetual`);
  return symbols;
}
