/**
 * The one place the pipeline names its venue: Binance USD-M futures. Another exchange would be
 * chosen here, from the config (docs/extending.md). The rest of pipeline/ takes what it needs of the
 * venue from this module (test/architecture/imports.test.ts holds it to that).
 */
import type { Config } from "../config/schema.ts";
import type { VenueAccess } from "../core/execution.ts";
import type { ExchangeAdapter, RawLogDecoder } from "../core/feed.ts";
import { BINANCE_NAME, binanceAdapter } from "../exchange/binance/adapter.ts";
import { BinanceRawLogDecoder } from "../exchange/binance/raw-log-decoder.ts";
import { TradeRecovery } from "../exchange/binance/hole-filler.ts";
import type { ThrottleListener } from "../exchange/binance/ip-limits.ts";
import { binanceExecution } from "../exchange/binance/execution/venue.ts";
import { streamName } from "../exchange/binance/streams.ts";
import { tradeEndpoints, type TradeParams } from "../trading/live/params.ts";
import type { Logger } from "../util/log.ts";

/** feed.depth = "full": a symbol's whole local book, kept from diff depth and REST snapshots (docs/depth.md). */
export { DepthSync, type DepthSyncOptions, type ResyncReason } from "../exchange/binance/depth/depth-sync.ts";
/** The full book's options from the `[feed]` keys. */
export { depthSyncOptions } from "../exchange/binance/depth/params.ts";
/** A REST depth snapshot's text, checked and parsed (full-depth mode writes and applies it where it arrives). */
export { parseSnapshot } from "../exchange/binance/depth/snapshot.ts";
/** Which book a raw-log line belongs to (depth5 or full), for replay to take one mode per file. */
export { depthModeOfLine } from "../exchange/binance/depth/log-mode.ts";

/** The venue's name (`ExchangeAdapter.name`), for what is built before the adapter (the NATS publisher). */
export const VENUE_NAME = BINANCE_NAME;

export function exchangeAdapter(cfg: Config, log: Logger): ExchangeAdapter {
  return binanceAdapter(cfg.endpoints, cfg.feed, log);
}

/** Fetches known holes of stored trade ids over REST (`harvestd backfill`); `onThrottle` hears of each pause a 429/418 begins. */
export function tradeRecovery(cfg: Config, onThrottle?: ThrottleListener): TradeRecovery {
  return new TradeRecovery(cfg.endpoints, cfg.feed, onThrottle);
}

/** The stream name of a symbol's trades in this venue's raw log (a cheap filter before decoding). */
export function tradeStreamOf(symbol: string): string {
  return streamName(symbol, "aggTrade");
}

/** Reads back raw logs this build writes (replay needs no connection, settings or log). */
export function rawLogDecoder(): RawLogDecoder {
  return new BinanceRawLogDecoder();
}

/** The venue testnet trading sends orders to, from the [trade] settings and the keys in `env`. */
export function executionVenue(t: TradeParams, env: Readonly<Record<string, string | undefined>>): VenueAccess {
  const ep = tradeEndpoints(t);
  return binanceExecution(
    {
      rest: ep.rest,
      userStream: ep.userStream,
      recvWindowMs: t.recv_window_ms,
      orderTimeoutMs: t.order_timeout_ms,
      timeSyncSec: t.time_sync_sec,
      resolveDeadlineMs: t.resolve_deadline_ms,
      orderLimitShare: t.order_limit_share,
      listenKeyKeepaliveSec: t.listen_key_keepalive_sec,
    },
    env,
  );
}
