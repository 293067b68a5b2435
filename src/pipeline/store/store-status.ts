/**
 * What `harvestd store` adds to the status page, /health and /metrics: the consumer's lag and
 * redeliveries, what was dropped as already logged, and arrivals per collector (a collector that
 * stopped arriving is visible here long before its absence would matter).
 */
import type { SourceMetric } from "../status.ts";
import type { StreamConsumer } from "./consumer.ts";
import type { StreamFeed } from "./stream-feed.ts";

/** A collector whose last record is older than this is named in the status as silent. */
const COLLECTOR_SILENT_MS = 30_000;
/** /health fails when the store lags this many messages. */
const LAG_UNHEALTHY_MESSAGES = 1_000_000;

/** What /health demands of the store: `health.depth_timeout_sec` (the store's streams are the NATS stream) and `health.writer_stall_sec`. */
export interface StoreHealthLimits {
  /** No NATS, nothing received while the stream has messages, stream info unavailable, every collector silent: this long. */
  readonly quietMs: number;
  /** Records taken and none acknowledged: this long. */
  readonly ackStallMs: number;
}

export function storeStatus(feed: StreamFeed, consumer: StreamConsumer): Record<string, unknown> {
  const now = Date.now();
  const c = consumer.view();
  return {
    nats: {
      connected: c.connected,
      server: c.server,
      last_error: c.lastError,
      // The latest error also once it is over, with its time: was it now, or an hour ago?
      past_error: c.pastError === null ? null : { error: c.pastError, at: new Date(c.lastErrorAtMs).toISOString(), current: c.lastError !== null },
      lease_lost_to: c.leaseLostTo,
      lost_consumer: c.lostConsumer,
    },
    consumer: {
      pending: c.pending,
      ack_pending: c.ackPending,
      redelivered: c.redelivered,
      stream_seq: c.streamSeq,
      info_age_s: c.infoAtMs === 0 ? null : (now - c.infoAtMs) / 1000,
      unacked_here: feed.unackedCount,
      last_message_age_s: c.lastMessageAtMs === 0 ? null : (now - c.lastMessageAtMs) / 1000,
      last_ack_age_s: feed.lastAckAtMs === 0 ? null : (now - feed.lastAckAtMs) / 1000,
    },
    counters: { ...feed.counters_, reordered: feed.reordered },
    collectors: Object.fromEntries(
      [...feed.collectors].map(([name, a]) => [
        name,
        { messages: a.messages, trades: a.trades, books: a.books, control: a.control, events: { ...a.events }, last_age_s: (now - a.lastAtMs) / 1000, silent: now - a.lastAtMs > COLLECTOR_SILENT_MS },
      ]),
    ),
  };
}

const s = (ms: number): number => Math.round(ms / 1000);
const err = (e: string | null): string => (e === null ? "" : ` (${e})`);

/**
 * Why the store is not storing, if it is not: no NATS; NATS but nothing received while the stream
 * has messages for it (a consume that stalled), or no answer about the stream at all (no quorum);
 * records taken and none acknowledged; every collector silent; another store on its consumer.
 */
export function storeHealthReasons(feed: StreamFeed, consumer: StreamConsumer, now: number, limits: StoreHealthLimits, startedAtMs: number): string[] {
  const c = consumer.view();
  const out: string[] = [];
  if (c.disconnectedSinceMs !== null && now - c.disconnectedSinceMs > limits.quietMs) {
    out.push(`store: not connected to nats for ${s(now - c.disconnectedSinceMs)} s${err(c.lastError)}`);
  } else if (c.connected && consumer.ready) {
    const quietSince = Math.max(c.lastMessageAtMs, feed.startedAtMs);
    const infoAge = now - Math.max(c.infoAtMs, feed.startedAtMs);
    if (feed.startedAtMs > 0 && infoAge > limits.quietMs) out.push(`store: no answer from the stream for ${s(infoAge)} s${err(c.lastError)}`);
    else if (feed.startedAtMs > 0 && c.pending !== null && c.pending > 0 && now - quietSince > limits.quietMs) out.push(`store: received nothing for ${s(now - quietSince)} s while the stream has ${c.pending} messages for it${err(c.lastError)}`);
  } else if (c.connected && now - startedAtMs > limits.quietMs) {
    out.push(`store: stream or consumer not ready for ${s(now - startedAtMs)} s${err(c.lastError)}`);
  }
  if (c.leaseLostTo !== null) out.push(`store: another store (${c.leaseLostTo}) took the lease of consumer ${consumer.name}`);
  if (c.lostConsumer !== null) out.push(`store: ${c.lostConsumer}`);
  const ackedSince = Math.max(feed.lastAckAtMs, feed.oldestUnackedAtMs);
  if (feed.unackedCount > 0 && now - ackedSince > limits.ackStallMs) out.push(`store: ${feed.unackedCount} records received and not acknowledged for ${s(now - ackedSince)} s`);
  if (c.pending !== null && c.pending > LAG_UNHEALTHY_MESSAGES) out.push(`store: ${c.pending} messages behind the stream`);
  const all = [...feed.collectors];
  if (all.length > 0 && all.every(([, a]) => now - a.lastAtMs > limits.quietMs)) {
    const newest = Math.max(...all.map(([, a]) => a.lastAtMs));
    out.push(`store: every collector silent for ${s(now - newest)} s or more (${all.map(([n]) => n).join(", ")})`);
  }
  if (feed.collectors.size === 0 && feed.counters_.messages === 0 && c.connected && c.pending === 0 && now - startedAtMs > limits.quietMs) out.push(`store: no collector has published anything in ${s(now - startedAtMs)} s`);
  return out;
}

export function storeMetrics(feed: StreamFeed, consumer: StreamConsumer): SourceMetric[] {
  const c = consumer.view();
  const k = feed.counters_;
  const per = (f: (a: { messages: number; trades: number; books: number; control: number }) => number) =>
    [...feed.collectors].map(([name, a]) => [{ collector: name }, f(a)] as const);
  return [
    { name: "harvestd_store_nats_connected", type: "gauge", help: "1 while the store is connected to a NATS server.", samples: [[undefined, c.connected ? 1 : 0]] },
    { name: "harvestd_store_consumer_pending", type: "gauge", help: "Messages in the stream not yet delivered to the store (its lag).", samples: [[undefined, c.pending]] },
    { name: "harvestd_store_consumer_ack_pending", type: "gauge", help: "Messages delivered and not yet acknowledged.", samples: [[undefined, c.ackPending]] },
    { name: "harvestd_store_messages_total", type: "counter", help: "Messages received from the stream.", samples: [[undefined, k.messages]] },
    { name: "harvestd_store_acked_total", type: "counter", help: "Messages acknowledged (their lines on disk).", samples: [[undefined, k.acked]] },
    { name: "harvestd_store_redeliveries_total", type: "counter", help: "Messages the server delivered again (not acknowledged in time, or after a restart).", samples: [[undefined, k.redeliveries]] },
    { name: "harvestd_store_already_logged_total", type: "counter", help: "Redelivered records dropped because the store's log already held their id.", samples: [[undefined, k.alreadyLogged]] },
    { name: "harvestd_store_bad_records_total", type: "counter", help: "Records that could not be read.", samples: [[undefined, k.badRecords]] },
    { name: "harvestd_store_collector_messages_total", type: "counter", help: "Records received per publishing collector.", samples: per((a) => a.messages) },
    { name: "harvestd_store_collector_trades_total", type: "counter", help: "aggTrade records received per collector (before dedup).", samples: per((a) => a.trades) },
    { name: "harvestd_store_collector_books_total", type: "counter", help: "Book records received per collector (before dedup).", samples: per((a) => a.books) },
    { name: "harvestd_store_collector_control_total", type: "counter", help: "Control records (session, connect, disconnect, gap) per collector.", samples: per((a) => a.control) },
  ];
}
