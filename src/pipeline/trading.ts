/**
 * Testnet trading in `run` ([trade] enable): the trader is started before any record flows, its tap
 * goes in front of the pipeline's row path (it sees exactly the rows paper trading sees), and its
 * orders and fills rows go to the pipeline's sinks. Never in replay: replay re-derives rows, it must
 * not send orders.
 */
import type { Config } from "../config/schema.ts";
import { feeTierOf } from "../trading/paper/params.ts";
import { collectorName, connectionOptions } from "../sinks/nats/connection.ts";
import { NatsKvLease } from "../sinks/nats/kv-lease.ts";
import type { Lease } from "../trading/live/lease.ts";
import type { TradingSession } from "../trading/live/session.ts";
import { startLiveTrading } from "../trading/live/start.ts";
import type { Logger } from "../util/log.ts";
import type { Pipeline } from "./pipeline.ts";
import { executionVenue } from "./venue.ts";

/** sysexits EX_CONFIG: a trade setting or missing key. */
const EXIT_CONFIG = 78;

/**
 * Share of `shutdown_timeout_sec` the trader's stop may spend at the venue (cancel, flatten, disarm):
 * an unreachable venue would otherwise eat the whole deadline, and the rows still in the sinks with
 * it. The rest is the feed's and the sinks'. Positions still open past it are named in the log.
 */
export const TRADE_STOP_SHARE = 1 / 3;

/** How long the trader's stop may take at the venue, ms. */
export function tradeStopBudgetMs(shutdownTimeoutSec: number): number {
  return shutdownTimeoutSec * 1000 * TRADE_STOP_SHARE;
}

/** The JetStream key-value bucket of the trading leases, one key per account. */
export const LEASE_BUCKET = "harvestd_trade_lease";

/** `trade.lease = "nats"`: the account's lease in the `[publish.nats]` cluster, or why not. */
function natsLease(cfg: Config, account: string): Lease | string {
  const p = cfg.publish.nats;
  const name = collectorName(p);
  const o = connectionOptions(p, `harvestd-lease-${name}`);
  if (!o.ok) return o.error;
  const ttlMs = cfg.trade.lease_ttl_sec * 1000;
  // Unique per process run: a restarted collector is a new holder, and two with one collector_id never share a lease.
  const me = `${name}-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
  return new NatsKvLease(o.options, { bucket: LEASE_BUCKET, key: `account_${account}`, me, ttlMs, replicas: p.replicas, requestTimeoutMs: Math.min(5000, Math.floor(ttlMs / 4)) });
}

/**
 * A warning when this collector publishes to NATS (so it may be one of redundant collectors) but
 * trades without the account's lease: every such collector of the account would run a trader and
 * send the same orders. Not made the default: with a lease, a NATS outage stops trading, which a
 * single collector that merely publishes should not suffer (docs/trading.md).
 */
export function leaseWarning(cfg: Pick<Config, "trade" | "publish">): string | null {
  if (cfg.trade.lease !== "none" || !cfg.publish.nats.enable) return null;
  return 'trading without the account lease while publishing to NATS: if another collector of this account also trades, both send orders; set trade.lease = "nats" on every one of them';
}

/**
 * Starts the trader and installs its tap; returns the exit code to end with when it cannot. A venue
 * that does not answer is no reason: the session retries its start while the collector runs.
 */
export async function startTrading(cfg: Config, symbols: readonly string[], pipeline: Pipeline, log: Logger): Promise<TradingSession | number> {
  const warning = leaseWarning(cfg);
  if (warning !== null) log.log("warn", "trade lease", { warning });
  const tier = feeTierOf(cfg.paper.fee_tiers, cfg.regime.fee_tier);
  const r = await startLiveTrading(
    {
      trade: cfg.trade,
      strategy: cfg.strategy,
      risk: cfg.risk,
      takerBps: tier?.taker_bps ?? 0,
      collected: symbols,
      ndjsonDir: cfg.storage.ndjson_dir,
      venue: (trade) => executionVenue(trade, process.env),
      lease: (account) => natsLease(cfg, account),
      filter: pipeline.model?.forExecutor("testnet") ?? null,
    },
    pipeline.rows,
    log,
  );
  if (!r.ok) {
    log.log("error", "trading not started", { error: r.error });
    process.stderr.write(`harvestd: trade: ${r.error}\n`);
    return r.kind === "config" ? EXIT_CONFIG : 1;
  }
  // The model filter must see each row before the testnet strategy asks about it.
  const model = pipeline.model;
  pipeline.addTap(model === null ? r.tap : (inner) => model.head(r.tap(inner)));
  return r.trader;
}
