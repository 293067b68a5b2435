/**
 * Binance USD-M futures as an exchange adapter (core/feed.ts): the one place the pipeline meets
 * Binance. Everything venue-specific stays behind it (docs/extending.md).
 */
import type { ExchangeAdapter } from "../../core/feed.ts";
import type { Logger } from "../../util/log.ts";
import { fetchAllSymbols } from "./exchange-info.ts";
import { BinanceFeed } from "./feed.ts";
import type { BinanceEndpoints, BinanceFeedParams } from "./params.ts";
import { BinanceRawLogDecoder } from "./raw-log-decoder.ts";
import { BinanceRelay } from "./relay/relay.ts";
import { parseStreamName } from "./streams.ts";

/** The venue's name in NATS subjects and message ids (docs/scale-out.md). */
export const BINANCE_NAME = "binance";

export function binanceAdapter(endpoints: BinanceEndpoints, params: BinanceFeedParams, log: Logger): ExchangeAdapter {
  return {
    name: BINANCE_NAME,
    resolveSymbols: async (requested) =>
      requested === "ALL"
        ? await fetchAllSymbols(endpoints.rest, {
            deadlineMs: params.startup_rest_deadline_sec * 1000,
            onRetry: (n) => log.log("warn", "exchangeInfo request failed, retrying", { error: n.error, attempt: n.attempt, retry_in_ms: n.retryInMs }),
          })
        : requested,
    openFeed: (symbols, out, opts) => new BinanceFeed(symbols, endpoints, params, out, log, opts),
    openRelay: (symbols, out, opts) => new BinanceRelay(symbols, endpoints, params, out, opts, log),
    parseStream: parseStreamName,
    rawLog: new BinanceRawLogDecoder(),
  };
}
