/**
 * The stream gate with what it recovers over REST — missed trade ids (backfill) and, with the full
 * book, depth snapshots — as both ways in share it: the live feed (feed.ts) and the relay of
 * collectors' lines (relay/relay.ts).
 */
import type { FeedOutput } from "../../core/feed.ts";
import type { Logger } from "../../util/log.ts";
import { Backfiller } from "./backfill.ts";
import type { BinanceFeedParams } from "./params.ts";
import type { RestClient } from "./rest-client.ts";
import { SnapshotFetcher } from "./depth/snapshot-fetcher.ts";
import { StreamGate } from "./stream-gate.ts";
import { streamName } from "./streams.ts";

/** Frames held behind backfills: per stream and in total (memory bound while REST catches up). */
export const MAX_HELD_PER_STREAM = 20_000;
export const MAX_HELD_TOTAL = 200_000;

export class RecoveringGate {
  readonly rest: RestClient;
  private readonly backfiller: Backfiller;
  readonly gate: StreamGate;
  /** Full-depth mode: REST depth snapshots (depth/snapshot-fetcher.ts); null at depth5. */
  private readonly snapshots: SnapshotFetcher | null;

  /** `rest`: this gate's user of the process's one client (rest-client.ts), closed with the gate. */
  constructor(symbols: readonly string[], rest: RestClient, params: BinanceFeedParams, out: FeedOutput, log: Logger) {
    this.rest = rest;
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
    const limit = params.snapshot_limit;
    this.snapshots =
      params.depth === "full" && params.enable_orderbook && out.depthSnapshot !== undefined
        ? new SnapshotFetcher(this.rest, limit, (symbol, a) => {
            if (!a.ok) log.limited(`depth-snapshot:${symbol}`, "warn", "depth snapshot request failed", { symbol, status: a.status, error: a.error });
            out.depthSnapshot!(symbol, streamName(symbol, "depth", "full"), limit, a.ok ? a.body : null, a.ok ? null : a.error);
          })
        : null;
  }

  /** Full-depth mode: the symbol's book wants a snapshot (fetched unless one is in flight). */
  requestDepthSnapshot(symbol: string): void {
    this.snapshots?.request(symbol);
  }

  /** End of input: recoveries given up (what they had not recovered becomes gap records), held frames out. */
  stop(): void {
    this.snapshots?.stop();
    this.backfiller.stop();
    this.rest.close();
    this.gate.drain();
  }

  totals(): Readonly<Record<string, number>> {
    const rc = this.rest.counters;
    return {
      ...this.gate.totals,
      backfill_pages: this.backfiller.counters.pages,
      rest_requests: rc.requests,
      rest_throttled: rc.throttled,
      rest_weight_waits: rc.weightWaits,
      rest_used_weight_1m: rc.usedWeight1m,
      rest_paused_s: rc.pausedSec,
      depth_snapshot_requests: this.snapshots?.counters.requests ?? 0,
      depth_snapshot_failures: this.snapshots?.counters.failures ?? 0,
    };
  }
}
