/**
 * `SYMBOLS=ALL`: every TRADING USDT-margined perpetual listed by REST /fapi/v1/exchangeInfo
 * (docs/binance.md §8).
 */
import { SYMBOL_PATTERN } from "../../core/symbols.ts";
import { startupGet, type StartupGetOptions } from "./rest-client.ts";

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

/** Every listed symbol's `status` (`TRADING`, `SETTLING`, `PENDING_TRADING`, …). */
export function symbolStatuses(info: unknown): Map<string, string> {
  const symbols = (info as { symbols?: unknown })?.symbols;
  if (!Array.isArray(symbols)) throw new Error("exchangeInfo response has no symbols list");
  return new Map((symbols as ExchangeSymbol[]).map((s) => [String(s.symbol), String(s.status)]));
}

/**
 * Every TRADING USDT perpetual, from exchangeInfo, with the start-up retries of `startupGet`. Throws one
 * line naming the URL and the last failure once the deadline has passed.
 */
export async function fetchAllSymbols(restBase: string, opts: StartupGetOptions = {}): Promise<string[]> {
  const url = `${restBase.replace(/\/+$/, "")}/fapi/v1/exchangeInfo`;
  const res = await startupGet(url, opts);
  if (!res.ok) throw new Error(`GET ${url} failed: ${res.error}`);
  let info: unknown;
  try {
    info = JSON.parse(res.body);
  } catch {
    throw new Error(`GET ${url} answered something that is not JSON: ${res.body.slice(0, 80)}`);
  }
  const symbols = tradingUsdtPerpetuals(info);
  if (symbols.length === 0) throw new Error(`GET ${url} lists no TRADING USDT perpetual`);
  return symbols;
}
