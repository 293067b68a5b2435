/**
 * Builds the testnet trader from its settings: the venue (its credentials, then its symbol rules;
 * the caller names the venue), the strategy, the records; then starts it (leverage, the account's
 * event stream, reconciliation, dead-man switch). `LiveTap` feeds it the
 * engines' rows on their way to the sinks, exactly as paper trading is fed.
 */
import { join } from "node:path";
import type { VenueAccess } from "../../core/execution.ts";
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
  | { readonly ok: true; readonly trader: TradingSession; readonly tap: (inner: RowSink) => RowSink }
  /** `config`: a setting or key problem (exit 78); `venue`: the venue could not be used (exit 1). */
  | { readonly ok: false; readonly kind: "config" | "venue"; readonly error: string };

/** The `[risk]` settings with the symbol's `trade.symbols` overrides. */
export function riskFor(risk: RiskParams, trade: TradeParams, symbol: string): RiskParams {
  const { leverage: _leverage, ...over } = trade.symbols[symbol] ?? {};
  return { ...risk, ...Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)) } as RiskParams;
}

export async function startLiveTrading(input: LiveTradingInput, sink: RowSink, log: Logger): Promise<LiveStart> {
  const t = input.trade;
  const symbols = Object.keys(t.symbols);
  const missing = uncollectedTradeSymbols({ enable: true, symbols: t.symbols }, input.collected);
  if (missing !== null) return { ok: false, kind: "config", error: missing };
  const access = input.venue(t);
  if (!access.ok) return { ok: false, kind: "config", error: access.error };
  const records = new TradeRecords(sink, join(input.ndjsonDir, "trading"), access.opener.secrets);
  const opened = await access.opener.open(symbols, (e) => records.rest(e));
  if (!opened.ok) return { ok: false, kind: "venue", error: opened.error };
  // A strategy per trader: a trader that takes over an account starts afresh, as after a restart.
  const make = (carry: LiveTrader | null): LiveTrader => {
    const strategy = new SharedStrategy({ strategy: input.strategy, risk: input.risk, takerBps: input.takerBps, riskFor: (s) => riskFor(input.risk, t, s) });
    strategy.filter = input.filter ?? null;
    return new LiveTrader(strategy, opened.venue, records, log, { symbols, params: t, risk: (s) => riskFor(input.risk, t, s), ...(carry === null ? {} : { carry }) });
  };
  if (t.lease === "none") {
    const trader = make(null);
    const err = await trader.start();
    if (err !== null) return { ok: false, kind: "venue", error: err };
    return { ok: true, trader, tap: (inner) => new LiveTap(inner, trader) };
  }
  const lease = input.lease?.(access.opener.account) ?? `trade.lease = "${t.lease}" is not available here`;
  if (typeof lease === "string") return { ok: false, kind: "config", error: lease };
  const session = new LeasedTrading(lease, make, log, { ttlMs: t.lease_ttl_sec * 1000 });
  session.start();
  return { ok: true, trader: session, tap: (inner) => new LiveTap(inner, session) };
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
