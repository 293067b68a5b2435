/**
 * Asks exchangeInfo now and then whether the collected symbols still trade, and (symbols = "ALL")
 * what the venue lists now (docs/feed.md, "Listings"). A run lasts months; symbols are delisted
 * (their streams fall silent for good) and listed (the whole market grows) meanwhile. The view feeds
 * the status page, /metrics and /health, which stops counting a delisted symbol's silence as a
 * failure of the collector; changes are logged once each. What to do with a new listing is the
 * collector's decision (with symbols = "ALL" it adds a feed for it).
 *
 * A failed check (the exchange not up yet, a timeout, a body that is not exchangeInfo) is tried again
 * after RETRY_FIRST_MS, then twice as late each time, never later than the normal interval: a first
 * check that fails must not leave the run an hour without an answer (a configured symbol that no
 * longer trades would not show on /health meanwhile). The RestClient already holds every request
 * through a 429/418 pause and the weight budget, so the backoff only spaces the attempts.
 */
import { LISTING_ABSENT, type ListingView } from "../../core/feed.ts";
import type { Logger } from "../../util/log.ts";
import { Periodic } from "../../util/periodic.ts";
import { symbolStatuses, tradingUsdtPerpetuals } from "./exchange-info.ts";
import type { RestClient } from "./rest-client.ts";

const EXCHANGE_INFO_PATH = "/fapi/v1/exchangeInfo";
/** Request weight of exchangeInfo (docs/binance.md). */
const EXCHANGE_INFO_WEIGHT = 1;
/** The first check comes this soon after the start, so a configured symbol that does not trade is named early. */
const FIRST_CHECK_MS = 10_000;
/** A failed check is tried again this soon (then 2×, 4×, … up to the normal interval). */
export const RETRY_FIRST_MS = 30_000;
const TRADING = "TRADING";

/**
 * Delay before the next check after `failures` failed ones in a row (0: the check succeeded, so the
 * normal interval): RETRY_FIRST_MS doubled per further failure, capped at `everyMs`.
 */
export function nextCheckMs(failures: number, everyMs: number, retryFirstMs = RETRY_FIRST_MS): number {
  if (failures <= 0) return everyMs;
  return Math.min(everyMs, retryFirstMs * 2 ** Math.min(failures - 1, 30));
}

/** Timings a test shortens; the defaults are the collector's. */
export interface ListingWatchTiming {
  /** The first check after start() (default 10 s; never later than the interval). */
  readonly firstCheckMs?: number;
  /** The first retry after a failed check (default RETRY_FIRST_MS). */
  readonly retryFirstMs?: number;
}

export class ListingWatch {
  private current: ListingView = { checkedAtMs: 0, notTrading: new Map(), notCollected: [] };
  private readonly collected: ReadonlySet<string>;
  private readonly periodic: Periodic;
  /** Failed checks since the last answer (0 after one). */
  private failures = 0;

  constructor(
    symbols: readonly string[],
    private readonly all: boolean,
    private readonly rest: RestClient,
    private readonly everyMs: number,
    private readonly log: Logger,
    private readonly timing: ListingWatchTiming = {},
  ) {
    this.collected = new Set(symbols);
    this.periodic = new Periodic(timing.firstCheckMs ?? FIRST_CHECK_MS, () => nextCheckMs(this.failures, this.everyMs, timing.retryFirstMs), () => this.check());
  }

  start(): void {
    this.periodic.start();
  }

  /** No check after this; one in flight does not act on its answer. */
  stop(): void {
    this.periodic.stop();
  }

  view(): ListingView {
    return this.current;
  }

  private async check(): Promise<void> {
    const r = await this.rest.get(EXCHANGE_INFO_PATH, {}, EXCHANGE_INFO_WEIGHT);
    if (this.periodic.stopped) return;
    const answer = r.ok ? this.parse(r.body) : { error: r.error };
    if ("error" in answer) {
      this.failures++;
      const retryInMs = nextCheckMs(this.failures, this.everyMs, this.timing.retryFirstMs);
      this.log.limited("listing-check", "warn", "listing check failed; the last answer stands", { error: answer.error, failures: this.failures, retry_in_s: Math.round(retryInMs / 1000) });
      return;
    }
    this.failures = 0;
    const { statuses, trading } = answer;
    const notTrading = new Map<string, string>();
    for (const s of this.collected) {
      const status = statuses.get(s) ?? LISTING_ABSENT;
      if (status !== TRADING) notTrading.set(s, status);
    }
    const notCollected = trading.filter((s) => !this.collected.has(s));
    this.report(notTrading, notCollected);
    this.current = { checkedAtMs: Date.now(), notTrading, notCollected };
  }

  /** exchangeInfo's statuses, and (symbols = "ALL") its trading USDT perpetuals; or why the body is not one. */
  private parse(body: string): { statuses: Map<string, string>; trading: string[] } | { error: string } {
    try {
      const info: unknown = JSON.parse(body);
      return { statuses: symbolStatuses(info), trading: this.all ? tradingUsdtPerpetuals(info) : [] };
    } catch (e) {
      return { error: (e as Error).message };
    }
  }

  /** Each change once: a symbol that stops or starts trading again, and the list of new listings. */
  private report(notTrading: ReadonlyMap<string, string>, notCollected: readonly string[]): void {
    const was = this.current;
    for (const [symbol, status] of notTrading) {
      if (was.notTrading.get(symbol) === status) continue;
      // Absent from the list is most often a name the exchange never had (a typo), not a delisting.
      if (status === LISTING_ABSENT) this.log.log("warn", "symbol not listed on the exchange: check its name; its silence is not counted against health", { symbol, status });
      else this.log.log("warn", "symbol no longer trading on the exchange; its silence is not counted against health", { symbol, status });
    }
    for (const symbol of was.notTrading.keys()) {
      if (!notTrading.has(symbol)) this.log.log("info", "symbol trading again on the exchange", { symbol });
    }
    const fresh = notCollected.filter((s) => !was.notCollected.includes(s));
    if (fresh.length > 0) this.log.log("info", "listed on the exchange, not collected yet", { symbols: fresh, not_collected: notCollected.length });
  }
}
