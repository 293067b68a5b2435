/**
 * The stream gate with its REST recovery (backfill of missed trade ids), as both ways in share it:
 * the live feed (feed.ts) and the relay of collectors' lines (relay/relay.ts).
 */
import type { FeedOutput } from "../../core/feed.ts";
import type { Logger } from "../../util/log.ts";
import { Backfiller } from "./backfill.ts";
import type { BinanceEndpoints, BinanceFeedParams } from "./params.ts";
import { RestClient } from "./rest-client.ts";
import { StreamGate } from "./stream-gate.ts";
import type { DepthMode } from "./streams.ts";

/** Frames held behind backfills: per stream and in total (memory bound while REST catches up). */
export const MAX_HELD_PER_STREAM = 20_000;
export const MAX_HELD_TOTAL = 200_000;

export class RecoveringGate {
  readonly rest: RestClient;
  readonly backfiller: Backfiller;
  readonly gate: StreamGate;

  constructor(symbols: readonly string[], endpoints: BinanceEndpoints, params: BinanceFeedParams, out: FeedOutput, log: Logger, depthMode?: DepthMode) {
    this.rest = new RestClient({ baseUrl: endpoints.rest, weightBudget1m: params.rest_weight_budget_1m });
    this.backfiller = new Backfiller(this.rest, { onError: (err, symbol) => log.log("error", "backfill failed", { symbol, error: err.message }) });
    this.gate = new StreamGate(symbols, out, {
      dedupLru: params.dedup_lru,
      backfiller: this.backfiller,
      maxHoldMs: params.backfill_max_hold_sec * 1000,
      maxHeldPerStream: MAX_HELD_PER_STREAM,
      maxHeldTotal: MAX_HELD_TOTAL,
      depthMode,
      onNotice: (key, msg, fields) => log.limited(key, "warn", msg, fields),
    });
  }

  /** End of input: recoveries given up (what they had not recovered becomes gap records), held frames out. */
  stop(): void {
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
    };
  }
}
