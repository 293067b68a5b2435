// `GET /fapi/v1/exchangeInfo`: the real 2021 capture, extended so every served symbol is listed.
import { loadExchangeInfoText } from "./fixtures.ts";

export interface ServedSymbol {
  readonly symbol: string;
  /** Real symbol whose recording (and exchangeInfo entry) it replays. */
  readonly source: string;
}

interface SymbolEntry {
  symbol: string;
  pair: string;
  baseAsset: string;
  [k: string]: unknown;
}

/** The served exchangeInfo, whose listing can change while the exchange runs (delistings, new listings). */
export interface ExchangeInfoSource {
  /** The response text (serverTime is the time of the request). */
  text(): string;
  /** Sets a listed symbol's `status` (e.g. "SETTLING"), or lists a new TRADING USDT perpetual under that name. */
  setStatus(symbol: string, status: string): void;
}

/**
 * Real entries keep their `status` and `contractType` (so the 1 PENDING_TRADING, 2 quarterly and 1
 * empty-contractType symbols remain for filter tests); synthetic symbols copy their source's entry
 * under the new name.
 */
export function exchangeInfoResponder(served: readonly ServedSymbol[], servedOnly: boolean): ExchangeInfoSource {
  const base = JSON.parse(loadExchangeInfoText()) as { serverTime: number; symbols: SymbolEntry[] };
  const bySymbol = new Map(base.symbols.map((s) => [s.symbol, s]));
  const template = bySymbol.get("BTCUSDT")!;
  const copyOf = (symbol: string, source: string): SymbolEntry => {
    const from = bySymbol.get(source) ?? template;
    const baseAsset = symbol.endsWith("USDT") ? symbol.slice(0, -4) : symbol;
    return { ...structuredClone(from), symbol, pair: symbol, baseAsset, status: "TRADING", contractType: "PERPETUAL" };
  };
  const added: SymbolEntry[] = [];
  for (const s of served) if (!bySymbol.has(s.symbol)) added.push(copyOf(s.symbol, s.source));
  const servedSet = new Set(served.map((s) => s.symbol));
  const symbols = servedOnly ? [...base.symbols.filter((s) => servedSet.has(s.symbol)), ...added] : [...base.symbols, ...added];
  // Serialised once per listing change; only serverTime changes per request.
  const marker = "__SERVER_TIME__";
  let head = "";
  let tail = "";
  const serialise = () => {
    [head, tail] = JSON.stringify({ ...base, serverTime: marker, symbols }).split(`"${marker}"`) as [string, string];
  };
  serialise();
  return {
    text: () => head + Date.now() + tail,
    setStatus(symbol, status) {
      const entry = symbols.find((s) => s.symbol === symbol);
      if (entry !== undefined) entry.status = status;
      else symbols.push({ ...copyOf(symbol, "BTCUSDT"), status });
      serialise();
    },
  };
}
