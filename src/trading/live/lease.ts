/**
 * One trader per account among collectors run side by side (docs/trading.md, "One trader per
 * account"). Each asks for the account's lease every quarter of its TTL; the holder trades and
 * renews it, the others stand by. A holder that has not renewed for half the TTL stops sending
 * orders at once (`LiveTrader.fence`), without asking anyone, so that when the lease lapses for the
 * others (a full TTL after the last renewal) nothing of it is still on its way to the venue. The next
 * holder starts as after a restart: it reconciles, adopts the position and its stop, and cancels
 * whatever else rests.
 *
 * A term whose start fails gives the lease up. For want of an answer (an outage) the lease is asked
 * for again a TTL later; a refusal (a key, a signature, a setting the venue rejects: start-retry.ts
 * `StartAnswers`) would be answered the same at every term, so this process stops asking for good.
 */
import type { Row, RowKind } from "../../core/rows.ts";
import type { Logger } from "../../util/log.ts";
import type { LeaseStatus, TradeStatus, TradingSession } from "./session.ts";
import { notStartedReason, startStatus, type StartAnswers } from "./start-retry.ts";
import { newTradeCounters, type LiveTrader } from "./trader.ts";

export type LeaseAnswer = { readonly held: true } | { readonly held: false; readonly holder: string | null; readonly error: string | null };

/** A lease in a shared store (sinks/nats/kv-lease.ts), named for one account. */
export interface Lease {
  /** This process's name in the lease. */
  readonly me: string;
  /** Takes the lease when nobody holds it and renews it when this process does; otherwise says who holds it. */
  hold(): Promise<LeaseAnswer>;
  /** Gives it up now (a clean stop), so another need not wait for it to lapse. */
  release(): Promise<void>;
  close(): Promise<void>;
}

export interface LeasedTradingOptions {
  readonly ttlMs: number;
  /** After a term that could not start for want of an answer, this long before the lease is asked for again. */
  readonly retryAfterFailureMs?: number;
  /**
   * The venue's answers (start.ts feeds them every request's audit): cleared before a term starts and
   * read when it fails, to tell a refusal from an outage. Without it every failure is taken for an outage.
   */
  readonly answers?: Pick<StartAnswers, "clear" | "refused">;
}

/** The last failed start, shown while no term runs; `refused` ends asking for the lease. */
interface FailedStart {
  readonly error: string;
  readonly refused: boolean;
  /** Starts failed in a row. */
  readonly attempts: number;
}

export class LeasedTrading implements TradingSession {
  private trader: LiveTrader | null = null;
  /** The last trader: its counters continue in the next, and show while standing by. */
  private last: LiveTrader | null = null;
  /** performance.now() of the last renewal (the fence's clock). */
  private lastHeldAt = 0;
  /** Epoch ms the term began (shown). */
  private heldSince: number | null = null;
  private holder: string | null = null;
  private lastError: string | null = null;
  private errorSince: number | null = null;
  private terms = 0;
  private asking = false;
  /** Shutting down: the lease is still renewed, but no new term begins. */
  private stopping = false;
  private stopped = false;
  /** performance.now() before which no new term is asked for after a failed start. */
  private notBefore = 0;
  private failed: FailedStart | null = null;
  private ask: ReturnType<typeof setInterval> | null = null;
  private watch: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly lease: Lease,
    /** A new trader (and strategy) for a term, continuing `carry`'s counters. */
    private readonly makeTrader: (carry: LiveTrader | null) => LiveTrader,
    private readonly log: Logger,
    private readonly opts: LeasedTradingOptions,
  ) {}

  start(): void {
    this.ask = setInterval(() => void this.tick(), Math.max(250, Math.floor(this.opts.ttlMs / 4)));
    this.watch = setInterval(() => this.fenceIfLapsing(), 200);
    void this.tick();
  }

  onRow(kind: RowKind, row: Row): void {
    this.trader?.onRow(kind, row);
  }

  status(nowMs = Date.now()): TradeStatus {
    const lease = this.leaseStatus();
    if (this.trader !== null) return { ...this.trader.status(nowMs), lease };
    const carried = this.last;
    return {
      ready: false,
      user_stream: false,
      in_sync: false,
      symbols: [],
      counters: carried?.counters ?? newTradeCounters(),
      skipped: carried?.skipped ?? {},
      limits: { used_weight_1m: 0, order_count_10s: 0, order_count_1m: 0 },
      lease,
      ...(this.failed === null ? {} : { start: startStatus(this.failed.error, this.failed.attempts, this.failed.refused, this.failed.refused ? null : this.notBefore) }),
    };
  }

  healthReasons(nowMs = Date.now()): string[] {
    const out = this.trader?.healthReasons(nowMs) ?? [];
    // Refused: this collector will not trade until it is fixed and restarted (an outage is retried, and another collector may trade meanwhile).
    const f = this.failed;
    if (this.trader === null && f !== null && f.refused) out.push(notStartedReason(f.error, f.attempts, true));
    // Standing by is healthy; not being able to reach the lease for a whole TTL is not.
    if (this.trader === null && this.errorSince !== null && nowMs - this.errorSince > this.opts.ttlMs) {
      out.push(`trade lease unreachable for ${Math.round((nowMs - this.errorSince) / 1000)} s: ${this.lastError}`);
    }
    return out;
  }

  async stop(flatten: boolean, budgetMs?: number): Promise<string[]> {
    // The lease is renewed (and the fence kept) while the trader cancels and flattens: a shutdown
    // slower than the TTL must not let another trader start beside it.
    this.stopping = true;
    const t = this.trader;
    const left = t === null ? [] : await t.stop(flatten, budgetMs);
    this.stopped = true;
    if (this.ask !== null) clearInterval(this.ask);
    if (this.watch !== null) clearInterval(this.watch);
    // A compare-and-set on our revision: it never removes a lease another has taken meanwhile.
    await this.lease.release();
    await this.lease.close();
    return left;
  }

  /** The venue refused a term's start: this process no longer asks for the lease. */
  private refusedForGood(): boolean {
    return this.failed?.refused === true;
  }

  private leaseStatus(): LeaseStatus {
    return { mode: "nats", held: this.trader !== null, holder: this.trader !== null ? this.lease.me : this.holder, me: this.lease.me, held_since_ms: this.heldSince, last_error: this.lastError, terms: this.terms };
  }

  private async tick(): Promise<void> {
    if (this.asking || this.stopped || this.refusedForGood()) return;
    if (this.trader === null && performance.now() < this.notBefore) return;
    this.asking = true;
    try {
      const a = await this.lease.hold();
      if (this.stopped) return;
      // A renewal on its way when the start was refused: give back what it renewed.
      if (this.refusedForGood()) {
        if (a.held) await this.lease.release();
        return;
      }
      if (a.held) {
        this.lastHeldAt = performance.now();
        this.lastError = null;
        this.errorSince = null;
        this.holder = null;
        if (this.trader === null && !this.stopping) void this.beginTerm();
        return;
      }
      this.holder = a.holder;
      this.lastError = a.error;
      // Another collector trades: this one's failed start (an outage) is no longer what stands.
      if (a.holder !== null) this.failed = null;
      if (a.error !== null) this.errorSince ??= Date.now();
      else this.errorSince = null;
      if (this.trader !== null) this.endTerm(a.holder !== null ? `the trading lease is held by ${a.holder}` : `the trading lease could not be renewed: ${a.error}`);
    } finally {
      this.asking = false;
    }
  }

  /** Renewals may hang (NATS unreachable): the clock, not an answer, decides when to stop. */
  private fenceIfLapsing(): void {
    if (this.trader === null) return;
    // Monotonic: a wall clock stepped back (NTP) must not postpone the fence while the lease's TTL
    // runs out on the NATS server and another collector starts trading beside this one.
    const since = performance.now() - this.lastHeldAt;
    if (since > this.opts.ttlMs / 2) this.endTerm(`the trading lease was not renewed for ${Math.round(since / 100) / 10} s`);
  }

  private async beginTerm(): Promise<void> {
    const t = this.makeTrader(this.last);
    this.trader = t;
    this.terms++;
    this.heldSince = Date.now();
    this.log.log("info", "trade: holding the trading lease; starting", { me: this.lease.me, term: this.terms });
    this.opts.answers?.clear();
    const err = await t.start();
    if (err === null) this.failed = null;
    if (err === null || this.trader !== t) return;
    const refused = this.opts.answers?.refused ?? false;
    this.failed = { error: err, refused, attempts: (this.failed?.attempts ?? 0) + 1 };
    this.endTerm(err);
    if (refused) {
      // The venue would answer every term the same: no more asking, and the lease left to another collector.
      this.log.log("error", "trade: the venue refused the trader's start; not retrying (fix it, then restart); the trading lease is given up for good", { error: err, me: this.lease.me, term: this.terms });
      if (this.ask !== null) clearInterval(this.ask);
      if (this.watch !== null) clearInterval(this.watch);
      this.ask = this.watch = null;
    } else {
      this.log.log("error", "trade: could not start while holding the trading lease; giving it up", { error: err });
      this.notBefore = performance.now() + (this.opts.retryAfterFailureMs ?? this.opts.ttlMs);
    }
    await this.lease.release();
  }

  private endTerm(reason: string): void {
    const t = this.trader;
    if (t === null) return;
    t.fence(reason);
    this.last = t;
    this.trader = null;
    this.heldSince = null;
  }
}
