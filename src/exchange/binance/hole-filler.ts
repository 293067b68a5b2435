/**
 * Fetches known holes of a symbol's stored aggTrade ids over REST (`harvestd backfill`): one hole after
 * the other, so the symbol's output stays in id order, through the same RestClient and Backfiller as
 * the live feed (weight-aware, 429/418 pauses, symbols taking turns page by page). Each recovered
 * trade comes out in the stream's shape with its parsed event; what REST does not serve comes out as
 * a missing id range.
 */
import type { AggTradeEvent } from "../../core/market-events.ts";
import { Backfiller } from "./backfill.ts";
import { parseData } from "./frame-parser.ts";
import type { BinanceEndpoints, BinanceFeedParams } from "./params.ts";
import { ipLimitsOf, type ThrottleListener } from "./ip-limits.ts";
import { RestClient } from "./rest-client.ts";
import { streamName } from "./streams.ts";

export interface IdRange {
  readonly fromId: number;
  readonly toId: number;
}

export interface RecoveryOutput {
  /** A recovered trade, ascending within a hole: its stream, exact payload text and event (null: the engine would reject it). */
  trade(stream: string, dataText: string, event: AggTradeEvent | null): void;
  /** Ids of the current hole REST did not serve, in order with the trades around them. */
  missing(stream: string, fromId: number, toId: number, reason: string): void;
}

export class TradeRecovery {
  private readonly rest: RestClient;
  private readonly backfiller: Backfiller;
  /** Ends the current fill when a listener threw (a bug): the Backfiller abandons that job. */
  private abort: ((err: Error) => void) | null = null;

  private readonly unsubscribe: () => void;

  /** `onThrottle`: told of each pause a 429/418 begins (a command waiting out a ban of minutes must say so). */
  constructor(endpoints: BinanceEndpoints, params: BinanceFeedParams, onThrottle: ThrottleListener = () => {}) {
    this.rest = new RestClient({ baseUrl: endpoints.rest, weightBudget1m: params.rest_weight_budget_1m });
    this.backfiller = new Backfiller(this.rest, { onError: (err) => this.abort?.(err) });
    this.unsubscribe = ipLimitsOf(endpoints.rest).onThrottle(onThrottle);
  }

  /** Requests made, answers throttled (429/418), pages fetched. */
  get counters(): { readonly requests: number; readonly throttled: number; readonly pages: number } {
    return { requests: this.rest.counters.requests, throttled: this.rest.counters.throttled, pages: this.backfiller.counters.pages };
  }

  /** Resolves once every hole is covered by trades and missing ranges. */
  fill(symbol: string, holes: readonly IdRange[], out: RecoveryOutput): Promise<void> {
    const stream = streamName(symbol, "aggTrade");
    return new Promise((resolve, reject) => {
      this.abort = reject;
      let i = 0;
      const next = (): void => {
        const hole = holes[i++];
        if (hole === undefined) return resolve();
        this.backfiller.start(symbol, hole.fromId, hole.toId, {
          trades: (list) => {
            for (const t of list) {
              const parsed = parseData("aggTrade", symbol, JSON.parse(t.text));
              out.trade(stream, t.text, parsed.ok && parsed.event.kind === "aggTrade" ? parsed.event : null);
            }
          },
          missing: (from, to, reason) => out.missing(stream, from, to, reason),
          done: next,
        });
      };
      next();
    });
  }

  close(): void {
    this.backfiller.stop();
    this.rest.close();
    this.unsubscribe();
  }
}
