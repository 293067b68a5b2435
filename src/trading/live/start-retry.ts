/**
 * A trader whose venue did not answer at start (docs/trading.md "A venue down at start").
 * Market-data collection is the collector's first job and must not wait for the test venue: the
 * collector runs, the trader's start is retried with growing pauses, and /health fails naming why
 * until it succeeds. A refusal (a key, a signature, a setting or a symbol the venue rejects) is not
 * retried: the venue would answer the same, and at the first start it ends the run as before (start.ts).
 */
import type { VenueAudit } from "../../core/execution.ts";
import type { Row, RowKind } from "../../core/rows.ts";
import type { Logger } from "../../util/log.ts";
import type { StartStatus, TradeStatus, TradingSession } from "./session.ts";
import { newTradeCounters } from "./trader.ts";
import { settlesWithin } from "./within.ts";

/** The first pause after a failed start; each further one doubles, up to the longest. */
export const START_RETRY_FIRST_MS = 1_000;
export const START_RETRY_MAX_MS = 30_000;

export interface StartRetryDelays {
  readonly firstMs: number;
  readonly maxMs: number;
}

const DELAYS: StartRetryDelays = { firstMs: START_RETRY_FIRST_MS, maxMs: START_RETRY_MAX_MS };

export type StartAttempt =
  | { readonly ok: true; readonly session: TradingSession }
  /** `refused`: the venue answered no; otherwise it did not answer (an outage: worth retrying). */
  | { readonly ok: false; readonly refused: boolean; readonly error: string };

/** HTTP statuses that mean "not now" rather than "no": a timeout, an IP ban, a rate limit. */
const LATER: ReadonlySet<number> = new Set([408, 418, 429]);

/**
 * The venue's answers during a start attempt, read when it fails. Only the last request counts: a
 * step fails on its last request, and an earlier failure may have been mended by a later request (a
 * -1021 re-synced and sent again). A failed step whose last request succeeded failed without the
 * venue's word (the user stream's socket). Status 0 is a request without any answer (network, timeout).
 */
export class StartAnswers {
  /** The status of the last request if it failed, else null. */
  private lastFailed: number | null = null;

  clear(): void {
    this.lastFailed = null;
  }

  note(e: VenueAudit): void {
    this.lastFailed = e.status >= 200 && e.status < 300 ? null : e.status;
  }

  /** The last failed request got no answer, a server error or a "later". */
  get unanswered(): boolean {
    return this.lastFailed !== null && (this.lastFailed === 0 || this.lastFailed >= 500 || LATER.has(this.lastFailed));
  }

  /** The last failed request was answered with a refusal (any other 4xx). */
  get refused(): boolean {
    return this.lastFailed !== null && !this.unanswered;
  }
}

/**
 * How a trader's failed start shows, in `/api/status` trading.start and in `/health`: the same for a
 * start retried here and for one under the trading lease (lease.ts), which retries at its next term.
 */
export function startStatus(error: string, attempts: number, refused: boolean, nextAt: number | null): StartStatus {
  return { error, attempts, retrying: !refused, next_attempt_in_ms: nextAt === null ? null : Math.max(0, Math.round(nextAt - performance.now())) };
}

export function notStartedReason(error: string, attempts: number, refused: boolean): string {
  const then = refused ? "not retrying: the venue refused it (fix it, then restart)" : `retrying (${attempts} attempt${attempts === 1 ? "" : "s"} so far)`;
  return `trade: not started: ${error}; ${then}`;
}

export class RetryingStart implements TradingSession {
  private session: TradingSession | null = null;
  private error: string;
  private refused = false;
  private attempts = 1;
  private delayMs: number;
  /** performance.now() of the next attempt (null: none planned). */
  private nextAt: number | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;
  /** The stop stopped waiting for an attempt: a session it still yields is stopped at once. */
  private abandoned = false;

  constructor(
    private readonly attempt: () => Promise<StartAttempt>,
    firstError: string,
    private readonly log: Logger,
    private readonly delays: StartRetryDelays = DELAYS,
  ) {
    this.error = firstError;
    this.delayMs = delays.firstMs;
    this.schedule();
  }

  onRow(kind: RowKind, row: Row): void {
    this.session?.onRow(kind, row);
  }

  status(nowMs = Date.now()): TradeStatus {
    if (this.session !== null) return this.session.status(nowMs);
    return {
      ready: false,
      user_stream: false,
      in_sync: false,
      symbols: [],
      counters: newTradeCounters(),
      skipped: {},
      limits: { used_weight_1m: 0, order_count_10s: 0, order_count_1m: 0 },
      start: startStatus(this.error, this.attempts, this.refused, this.nextAt),
    };
  }

  healthReasons(nowMs = Date.now()): string[] {
    if (this.session !== null) return this.session.healthReasons(nowMs);
    return [notStartedReason(this.error, this.attempts, this.refused)];
  }

  async stop(flatten: boolean, budgetMs = Number.POSITIVE_INFINITY): Promise<string[]> {
    this.stopping = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.nextAt = null;
    const t0 = performance.now();
    // An attempt on the wire may yet start a trader (and adopt a position): wait for it within the budget.
    if (this.running !== null && !(await settlesWithin(this.running, budgetMs))) {
      this.abandoned = true;
      this.log.log("warn", "trade: stopped while the trader was starting; whatever the start reached stays as the venue has it", { error: this.error });
      return [];
    }
    return this.session === null ? [] : this.session.stop(flatten, budgetMs - (performance.now() - t0));
  }

  private schedule(): void {
    const wait = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.delays.maxMs);
    this.nextAt = performance.now() + wait;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.nextAt = null;
      this.running = this.runAttempt().finally(() => (this.running = null));
    }, wait);
  }

  private async runAttempt(): Promise<void> {
    // A throw here would surface as an internal error and stop the collector, for a trader's sake.
    const r = await this.attempt().catch((e: unknown): StartAttempt => ({ ok: false, refused: false, error: `start failed: ${(e as Error).message}` }));
    this.attempts++;
    if (r.ok) {
      if (this.abandoned) {
        // Too late for this process: fenced at once, nothing sent (budget 0).
        void r.session.stop(false, 0);
        return;
      }
      this.session = r.session;
      this.log.log("info", "trade: the venue answers; trader started", { attempts: this.attempts });
      return;
    }
    this.error = r.error;
    this.refused = r.refused;
    if (r.refused) {
      this.log.log("error", "trade: the venue refused the trader's start; not retrying (fix it, then restart)", { error: r.error, attempts: this.attempts });
      return;
    }
    this.log.limited("trade-start", "warn", "trade: trader not started; retrying", { error: r.error, attempts: this.attempts, retry_in_ms: this.delayMs });
    if (!this.stopping) this.schedule();
  }
}
