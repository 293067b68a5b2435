/**
 * Builds the testnet trader from its settings: the venue (its credentials, then its symbol rules;
 * the caller names the venue), the strategy, the records; then starts it (leverage, the account's
 * event stream, reconciliation, dead-man switch). `LiveTap` feeds it the
 * engines' rows on their way to the sinks, exactly as paper trading is fed. A venue that does not
 * answer at start does not stop the collector: the start is retried meanwhile (start-retry.ts).
 */
import { join } from "node:path";
import type { VenueAccess, VenueAudit, VenueOpener } from "../../core/execution.ts";
import type { Row, RowKind, RowSink } from "../../core/rows.ts";
import type { Logger } from "../../util/log.ts";
import type { RiskParams } from "../risk/params.ts";
import type { SignalFilter } from "../strategy/contract.ts";
import type { StrategyParams } from "../strategy/params.ts";
import { SharedStrategy } from "../strategy/strategy.ts";
import { uncollectedTradeSymbols, type TradeParams } from "./params.ts";
import { LeasedTrading, type Lease } from "./lease.ts";
import { TradeRecords } from "./records.ts";
import type { TradingSession } from "./session.ts";
import { RetryingStart, START_RETRY_FIRST_MS, StartAnswers, type StartAttempt } from "./start-retry.ts";
import { LiveTrader } from "./trader.ts";

export interface LiveTradingInput {
  readonly trade: TradeParams;
  readonly strategy: StrategyParams;
  readonly risk: RiskParams;
  readonly takerBps: number;
  /** Symbols collected: traded symbols must be among them (their rows are the signals). */
  readonly collected: readonly string[];
  /** NDJSON folder: the audit log goes to `<ndjsonDir>/trading/`. */
  readonly ndjsonDir: string;
  /** The venue the [trade] settings name, keyed from the environment (pipeline/venue.ts). */
  readonly venue: (trade: TradeParams) => VenueAccess;
  /** `trade.lease = "nats"`: the account's lease (pipeline/trading.ts), or why it cannot be had. */
  readonly lease?: (account: string) => Lease | string;
  readonly filter?: SignalFilter | null;
}

export type LiveStart =
  /** `trader` may still be starting: the venue did not answer at the first attempt, and it is retried. */
  | { readonly ok: true; readonly trader: TradingSession; readonly tap: (inner: RowSink) => RowSink }
  /** `config`: a setting or key problem (exit 78); `venue`: the venue refused what it was sent (exit 1). */
  | { readonly ok: false; readonly kind: "config" | "venue"; readonly error: string };

/** The `[risk]` settings with the symbol's `trade.symbols` overrides. */
export function riskFor(risk: RiskParams, trade: TradeParams, symbol: string): RiskParams {
  const { leverage: _leverage, ...over } = trade.symbols[symbol] ?? {};
  return { ...risk, ...Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)) } as RiskParams;
}

export async function startLiveTrading(input: LiveTradingInput, sink: RowSink, log: Logger): Promise<LiveStart> {
  const t = input.trade;
  const missing = uncollectedTradeSymbols({ enable: true, symbols: t.symbols }, input.collected);
  if (missing !== null) return { ok: false, kind: "config", error: missing };
  const access = input.venue(t);
  if (!access.ok) return { ok: false, kind: "config", error: access.error };
  // Before the venue is asked anything: a lease that cannot be configured is a setting to fix, whatever the venue says.
  const lease = t.lease === "none" ? null : (input.lease?.(access.opener.account) ?? `trade.lease = "${t.lease}" is not available here`);
  if (typeof lease === "string") return { ok: false, kind: "config", error: lease };
  const records = new TradeRecords(sink, join(input.ndjsonDir, "trading"), access.opener.secrets);
  const attempt = startAttempt({ input, opener: access.opener, records, lease, log });
  const first = await attempt();
  if (!first.ok && first.refused) return { ok: false, kind: "venue", error: first.error };
  if (first.ok) return { ok: true, trader: first.session, tap: (inner) => new LiveTap(inner, first.session) };
  log.log("warn", "trade: the venue does not answer; collecting without trading, retrying the trader's start", { error: first.error, retry_in_ms: START_RETRY_FIRST_MS });
  const pending = new RetryingStart(attempt, first.error, log);
  return { ok: true, trader: pending, tap: (inner) => new LiveTap(inner, pending) };
}

interface StartContext {
  readonly input: LiveTradingInput;
  readonly opener: VenueOpener;
  readonly records: TradeRecords;
  readonly lease: Lease | null;
  readonly log: Logger;
}

/** One try at opening the venue and starting the trader (or the leased session), told apart: an outage or a refusal. */
function startAttempt(c: StartContext): () => Promise<StartAttempt> {
  const t = c.input.trade;
  const symbols = Object.keys(t.symbols);
  const answers = new StartAnswers();
  const onAudit = (e: VenueAudit) => {
    answers.note(e);
    c.records.rest(e);
  };
  return async () => {
    answers.clear();
    const opened = await c.opener.open(symbols, onAudit);
    // Without a failed request the venue answered, and what it said is the problem (a symbol it does not list).
    if (!opened.ok) return { ok: false, refused: !answers.unanswered, error: opened.error };
    // A strategy per trader: a trader that takes over an account starts afresh, as after a restart.
    const make = (carry: LiveTrader | null): LiveTrader => {
      const strategy = new SharedStrategy({ strategy: c.input.strategy, risk: c.input.risk, takerBps: c.input.takerBps, riskFor: (s) => riskFor(c.input.risk, t, s) });
      strategy.filter = c.input.filter ?? null;
      return new LiveTrader(strategy, opened.venue, c.records, c.log, { symbols, params: t, risk: (s) => riskFor(c.input.risk, t, s), ...(carry === null ? {} : { carry }) });
    };
    if (c.lease !== null) {
      // Each term's start is told apart by the same answers: a refusal ends asking for the lease (lease.ts).
      const session = new LeasedTrading(c.lease, make, c.log, { ttlMs: t.lease_ttl_sec * 1000, answers });
      session.start();
      return { ok: true, session };
    }
    const trader = make(null);
    const err = await trader.start();
    // A step that failed without a refusal failed for want of an answer (the user stream's socket too).
    return err === null ? { ok: true, session: trader } : { ok: false, refused: answers.refused, error: err };
  };
}

/** Passes every row on, and feeds the trader the kinds the strategy reads. */
export class LiveTap implements RowSink {
  constructor(
    private readonly inner: RowSink,
    private readonly trader: Pick<TradingSession, "onRow">,
  ) {}

  append(kind: RowKind, row: Row): void {
    this.inner.append(kind, row);
    if (kind === "prices" || kind === "orderbook" || kind === "fusion" || kind === "features") this.trader.onRow(kind, row);
  }
}
