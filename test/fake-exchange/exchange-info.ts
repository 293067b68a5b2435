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

/**
 * Returns a function producing the response text. Real entries keep their `status` and
 * `contractType` (so the 1 PENDING_TRADING, 2 quarterly and 1 empty-contractType symbols remain
 * for filter tests); synthetic symbols copy their source's entry under the new name.
 */
export function exchangeInfoResponder(served: readonly ServedSymbol[], servedOnly: boolean): () => string {
  const base = JSON.parse(loadExchangeInfoText()) as { serverTime: number; symbols: SymbolEntry[] };
  const bySymbol = new Map(base.symbols.map((s) => [s.symbol, s]));
  const template = bySymbol.get("BTCUSDT")!;
  const added: SymbolEntry[] = [];
  for (const s of served) {
    if (bySymbol.has(s.symbol)) continue;
    const from = bySymbol.get(s.source) ?? template;
    const baseAsset = s.symbol.endsWith("USDT") ? s.symbol.slice(0, -4) : s.symbol;
    added.push({ ...structuredClone(from), symbol: s.symbol, pair: s.symbol, baseAsset, status: "TRADING", contractType: "PERPETUAL" });
  }
  const servedSet = new Set(served.map((s) => s.symbol));
  const symbols = servedOnly
    ? [...base.symbols.filter((s) => servedSet.has(s.symbol)), ...added]
    : [...base.symbols, ...added];
  // Serialise once; only serverTime changes per request.
  const marker = "__SERVER_TIME__";
  const text = JSON.stringify({ ...base, serverTime: marker, symbols });
  const [head, tail] = text.split(`"${marker}"`);
  return () => head + Date.now() + tail;
}
