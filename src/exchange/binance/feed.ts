/**
 * The Binance feed for a set of symbols: connections (sharded per route, rotated before the 24 h
 * cut), the frame intake, the stream gate with REST backfill. Records leave through `FeedOutput`.
 */
import type { ConnectionView, Feed, FeedOutput, SymbolFeedStats } from "../../core/feed.ts";
import type { Logger } from "../../util/log.ts";
import { Backfiller } from "./backfill.ts";
import { ConnectionManager, rotationOptions } from "./connection-manager.ts";
import { FrameIntake } from "./frame-intake.ts";
import type { BinanceEndpoints, BinanceFeedParams } from "./params.ts";
import { RestClient } from "./rest-client.ts";
import { StreamGate } from "./stream-gate.ts";
import { planConnections, streamName } from "./streams.ts";
import { SnapshotFetcher } from "./depth/snapshot-fetcher.ts";

/** Frames held behind backfills: per stream and in total (memory bound while REST catches up). */
export const MAX_HELD_PER_STREAM = 20_000;
export const MAX_HELD_TOTAL = 200_000;
/** How often held frames are checked against their hold limit. */
const GATE_TICK_MS = 250;

export class BinanceFeed implements Feed {
  readonly connections: readonly ConnectionView[];
  private readonly rest: RestClient;
  private readonly backfiller: Backfiller;
  private readonly gate: StreamGate;
  private readonly intake: FrameIntake;
  private readonly manager: ConnectionManager;
  /** Full-depth mode: REST depth snapshots (depth/snapshot-fetcher.ts); null at depth5. */
  private readonly snapshots: SnapshotFetcher | null;
  private ticker: ReturnType<typeof setInterval> | null = null;

  constructor(symbols: readonly string[], endpoints: BinanceEndpoints, params: BinanceFeedParams, out: FeedOutput, log: Logger, resume?: ReadonlyMap<string, number>) {
    this.rest = new RestClient({ baseUrl: endpoints.rest, weightBudget1m: params.rest_weight_budget_1m });
    this.backfiller = new Backfiller(this.rest, { onError: (err, symbol) => log.log("error", "backfill failed", { symbol, error: err.message }) });
    this.gate = new StreamGate(symbols, out, {
      dedupLru: params.dedup_lru,
      backfiller: this.backfiller,
      maxHoldMs: params.backfill_max_hold_sec * 1000,
      maxHeldPerStream: MAX_HELD_PER_STREAM,
      maxHeldTotal: MAX_HELD_TOTAL,
      depthMode: params.depth,
      onNotice: (key, msg, fields) => log.limited(key, "warn", msg, fields),
    });
    // A restart: each trade stream continues after the last id the raw log holds.
    for (const [symbol, id] of resume ?? []) this.gate.resumeAfterRestart(streamName(symbol, "aggTrade"), id);
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
    const limit = params.snapshot_limit;
    this.snapshots =
      params.depth === "full" && params.enable_orderbook && out.depthSnapshot !== undefined
        ? new SnapshotFetcher(this.rest, limit, (symbol, a) => {
            if (!a.ok) log.limited(`depth-snapshot:${symbol}`, "warn", "depth snapshot request failed", { symbol, status: a.status, error: a.error });
            out.depthSnapshot!(symbol, streamName(symbol, "depth", "full"), limit, a.ok ? a.body : null, a.ok ? null : a.error);
          })
        : null;
  }

  requestDepthSnapshot(symbol: string): void {
    this.snapshots?.request(symbol);
  }

  start(): void {
    this.ticker = setInterval(() => this.gate.tick(Date.now()), GATE_TICK_MS);
    this.manager.start();
  }

  stop(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    // Backfills stop first (what they had not recovered becomes gap records) and held frames go
    // out; then the connections close, each close a disconnect record.
    this.backfiller.stop();
    this.snapshots?.stop();
    this.rest.close();
    this.gate.drain();
    this.manager.stop();
  }

  totals(): Readonly<Record<string, number>> {
    const rc = this.rest.counters;
    return {
      ...this.intake.counts,
      ...this.gate.totals,
      backfill_pages: this.backfiller.counters.pages,
      rest_requests: rc.requests,
      rest_throttled: rc.throttled,
      rest_weight_waits: rc.weightWaits,
      rest_used_weight_1m: rc.usedWeight1m,
      depth_snapshot_requests: this.snapshots?.counters.requests ?? 0,
      depth_snapshot_failures: this.snapshots?.counters.failures ?? 0,
    };
  }

  stats(symbol: string): SymbolFeedStats | undefined {
    return this.intake.stats.get(symbol);
  }

  counters(symbol: string): Readonly<Record<string, number>> | undefined {
    return this.gate.bySymbol.get(symbol) as Readonly<Record<string, number>> | undefined;
  }
}
