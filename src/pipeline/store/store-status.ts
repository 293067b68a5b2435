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
/** /health fails when the store has not reached NATS for this long, or lags this many messages. */
const DISCONNECTED_UNHEALTHY_MS = 30_000;
const LAG_UNHEALTHY_MESSAGES = 1_000_000;


export function storeStatus(feed: StreamFeed, consumer: StreamConsumer): Record<string, unknown> {
  const now = Date.now();
  const c = consumer.view();
  return {
    nats: { connected: c.connected, server: c.server, last_error: c.lastError },
    consumer: {
      pending: c.pending,
      ack_pending: c.ackPending,
      redelivered: c.redelivered,
      stream_seq: c.streamSeq,
      info_age_s: c.infoAtMs === 0 ? null : (now - c.infoAtMs) / 1000,
      unacked_here: feed.unackedCount,
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

let disconnectedSince: number | null = null;

export function storeHealthReasons(feed: StreamFeed, consumer: StreamConsumer, now: number): string[] {
  const c = consumer.view();
  const out: string[] = [];
  if (c.connected) disconnectedSince = null;
  else disconnectedSince ??= now;
  if (disconnectedSince !== null && now - disconnectedSince > DISCONNECTED_UNHEALTHY_MS) out.push(`store: not connected to nats for ${Math.round((now - disconnectedSince) / 1000)} s`);
  if (c.pending !== null && c.pending > LAG_UNHEALTHY_MESSAGES) out.push(`store: ${c.pending} messages behind the stream`);
  if (feed.collectors.size === 0 && feed.counters_.messages === 0 && c.connected && c.pending === 0) out.push("store: no collector has published anything yet");
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
