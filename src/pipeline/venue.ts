/**
 * The one place the pipeline names its venue: Binance USD-M futures. Another exchange would be
 * chosen here, from the config (docs/extending.md).
 */
import type { Config } from "../config/schema.ts";
import type { ExchangeAdapter, RawLogDecoder } from "../core/feed.ts";
import { binanceAdapter } from "../exchange/binance/adapter.ts";
import { BinanceRawLogDecoder } from "../exchange/binance/raw-log-decoder.ts";
import { TradeRecovery } from "../exchange/binance/hole-filler.ts";
import { streamName } from "../exchange/binance/streams.ts";
import type { Logger } from "../util/log.ts";

export function exchangeAdapter(cfg: Config, log: Logger): ExchangeAdapter {
  return binanceAdapter(cfg.endpoints, cfg.feed, log);
}

/** Fetches known holes of stored trade ids over REST (`harvestd backfill`). */
export function tradeRecovery(cfg: Config): TradeRecovery {
  return new TradeRecovery(cfg.endpoints, cfg.feed);
}

/** The stream name of a symbol's trades in this venue's raw log (a cheap filter before decoding). */
export function tradeStreamOf(symbol: string): string {
  return streamName(symbol, "aggTrade");
}

/** Reads back raw logs this build writes (replay needs no connection, settings or log). */
export function rawLogDecoder(): RawLogDecoder {
  return new BinanceRawLogDecoder();
}
