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
import { ipLimitsOf } from "./ip-limits.ts";
import { RestClient } from "./rest-client.ts";
import { BinanceRelay } from "./relay/relay.ts";
import { parseStreamName } from "./streams.ts";

/** The venue's name in NATS subjects and message ids (docs/scale-out.md). */
export const BINANCE_NAME = "binance";

export function binanceAdapter(endpoints: BinanceEndpoints, params: BinanceFeedParams, log: Logger): ExchangeAdapter {
  // One client for the process: Binance counts weight and bans per IP, so every feed (the first and
  // each new listing's) and the relay take a user of it and share its budget and its pauses.
  const rest = new RestClient({ baseUrl: endpoints.rest, weightBudget1m: params.rest_weight_budget_1m });
  // A pause is the venue's word on this IP (a 418 is a ban that grows if ignored): said once per
  // pause, whoever in the process received it (market data, or trading on the same host).
  ipLimitsOf(endpoints.rest).onThrottle((t) => log.log("warn", "exchange REST paused", { status: t.status, why: t.why, pause_s: Math.ceil(t.pauseMs / 1000) }));
  return {
    name: BINANCE_NAME,
    resolveSymbols: async (requested) =>
      requested === "ALL"
        ? await fetchAllSymbols(endpoints.rest, {
            deadlineMs: params.startup_rest_deadline_sec * 1000,
            onRetry: (n) => log.log("warn", "exchangeInfo request failed, retrying", { error: n.error, attempt: n.attempt, retry_in_ms: n.retryInMs }),
          })
        : requested,
    openFeed: (symbols, out, opts) => new BinanceFeed(symbols, endpoints, params, rest.user(), out, log, opts),
    openRelay: (symbols, out, opts) => new BinanceRelay(symbols, params, rest.user(), out, opts, log),
    parseStream: parseStreamName,
    rawLog: new BinanceRawLogDecoder(),
  };
}
