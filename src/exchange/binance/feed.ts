/**
 * The Binance feed for a set of symbols: connections (sharded per route, rotated before the 24 h
 * cut), the frame intake, the stream gate with REST backfill, and the watch on exchangeInfo's
 * listing. Records leave through `FeedOutput`.
 */
import type { ConnectionView, Feed, FeedOptions, FeedOutput, ListingView, SymbolFeedStats } from "../../core/feed.ts";
import type { Logger } from "../../util/log.ts";
import { ClockCheck } from "./clock-check.ts";
import { ConnectionManager, rotationOptions } from "./connection-manager.ts";
import { FrameIntake } from "./frame-intake.ts";
import { ListingWatch } from "./listing-watch.ts";
import type { BinanceEndpoints, BinanceFeedParams } from "./params.ts";
import { RecoveringGate } from "./recovering-gate.ts";
import type { RestClient } from "./rest-client.ts";
import type { StreamGate } from "./stream-gate.ts";
import { planConnections, streamName } from "./streams.ts";

/** How often held frames are checked against their hold limit. */
const GATE_TICK_MS = 250;

export class BinanceFeed implements Feed {
  readonly connections: readonly ConnectionView[];
  private readonly recovering: RecoveringGate;
  private readonly gate: StreamGate;
  private readonly intake: FrameIntake;
  private readonly manager: ConnectionManager;
  /** exchangeInfo now and then (listing-watch.ts); null with feed.listing_check_min = 0. */
  private readonly listingWatch: ListingWatch | null;
  /** The local clock against the exchange's; in the process's first feed only (one per process). */
  private readonly clockCheck: ClockCheck | null;
  private ticker: ReturnType<typeof setInterval> | null = null;

  /** `rest`: this feed's user of the process's one REST client (rest-client.ts). */
  constructor(symbols: readonly string[], endpoints: BinanceEndpoints, params: BinanceFeedParams, rest: RestClient, out: FeedOutput, log: Logger, opts: FeedOptions = {}) {
    this.recovering = new RecoveringGate(symbols, rest, params, out, log);
    this.gate = this.recovering.gate;
    // A restart: each trade stream continues after the last id the raw log holds.
    for (const [symbol, id] of opts.resume ?? []) this.gate.resumeAfterRestart(streamName(symbol, "aggTrade"), id);
    this.intake = new FrameIntake(symbols, this.gate, out, log);
    this.manager = new ConnectionManager(
      planConnections(symbols, params.enable_orderbook, undefined, params.depth),
      (route) => ({
        baseUrl: route === "public" ? endpoints.public_ws : endpoints.market_ws,
        pingIntervalMs: params.ping_interval_sec * 1000,
        heartbeatTimeoutMs: params.heartbeat_timeout_sec * 1000,
        reconnectDelayMs: params.reconnect_delay_sec * 1000,
        reconnectMaxDelayMs: params.reconnect_max_delay_sec * 1000,
        maxFrameBytes: params.max_frame_bytes,
      }),
      this.intake,
      rotationOptions(params.rotate_after_hours, params.heartbeat_timeout_sec),
      (event, conn, fields) => log.log(event === "rotation-failed" ? "warn" : "info", event, { conn, ...fields }),
    );
    this.connections = this.manager.slots;
    this.listingWatch = params.listing_check_min > 0 && opts.watchVenue !== false ? new ListingWatch(symbols, opts.all === true, this.recovering.rest, params.listing_check_min * 60_000, log) : null;
    this.clockCheck = opts.watchVenue !== false ? new ClockCheck(this.recovering.rest, log) : null;
  }

  listing(): ListingView | undefined {
    return this.listingWatch?.view();
  }

  requestDepthSnapshot(symbol: string): void {
    this.recovering.requestDepthSnapshot(symbol);
  }

  start(): void {
    this.ticker = setInterval(() => this.gate.tick(performance.now()), GATE_TICK_MS);
    this.manager.start();
    this.listingWatch?.start();
    this.clockCheck?.start();
  }

  stop(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    // Backfills stop first (what they had not recovered becomes gap records) and held frames go
    // out; then the connections close, each close a disconnect record.
    this.listingWatch?.stop();
    this.clockCheck?.stop();
    this.recovering.stop();
    this.manager.stop();
  }

  totals(): Readonly<Record<string, number>> {
    const offset = this.clockCheck?.offsetMs ?? null;
    return {
      ...this.intake.counts,
      ...this.recovering.totals(),
      ...(offset === null ? {} : { clock_offset_ms: offset }),
    };
  }

  stats(symbol: string): SymbolFeedStats | undefined {
    return this.intake.stats.get(symbol);
  }

  counters(symbol: string): Readonly<Record<string, number>> | undefined {
    return this.gate.bySymbol.get(symbol) as Readonly<Record<string, number>> | undefined;
  }
}
