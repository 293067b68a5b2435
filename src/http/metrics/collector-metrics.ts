/**
 * `/metrics` of a running collector: every figure the collector already keeps, in Prometheus form.
 * Counters end in `_total`, units are base units (seconds, bytes, ratios), latency histograms are in
 * seconds, and labels are few and bounded: `symbol` (the configured set), `route` (public, market),
 * `kind` (stream kind or Parquet kind). Rates (messages/s) are left to PromQL's rate().
 */
import type { EngineCounters } from "../../calc/symbol-engine.ts";
import { versionInfo } from "../../util/version.ts";
import type { PaperStats } from "../../trading/paper/trader.ts";
import { buildHealth, type CollectorParts } from "../../pipeline/status.ts";
import { ALL_KINDS } from "../../core/rows.ts";
import type { Histogram } from "../../util/histogram.ts";
import { Exposition, type Labels, type Sample } from "./exposition.ts";
import type { IndicatorStatsView } from "../../indicators/stats.ts";

/** Engine counters exposed per symbol: counter key → metric name and help. */
const ENGINE_COUNTERS: readonly (readonly [keyof EngineCounters, string, string])[] = [
  ["trades", "harvestd_trades_total", "aggTrade messages accepted (prices rows)."],
  ["books", "harvestd_book_updates_total", "depth5 messages kept (orderbook rows)."],
  ["dup_trades", "harvestd_duplicate_trades_total", "Duplicate aggTrade messages dropped."],
  ["trade_id_gaps", "harvestd_trade_id_gaps_total", "Holes in the aggTrade id sequence."],
  ["trade_ids_missing", "harvestd_trade_ids_missing_total", "aggTrade ids missing across all holes."],
  ["backfilled_trades", "harvestd_backfilled_trades_total", "Trades recovered over REST after a disconnect."],
  ["bad_trades", "harvestd_bad_trades_total", "aggTrade messages rejected by validation."],
  ["seq_gaps", "harvestd_depth_sequence_gaps_total", "depth5 messages whose pu did not chain to the previous u (resyncs)."],
  ["crossed", "harvestd_crossed_books_total", "Books with best bid at or above best ask."],
  ["stale_books", "harvestd_stale_books_total", "depth5 messages older than the book already applied."],
  ["one_sided_books", "harvestd_one_sided_books_total", "Books with an empty side."],
  ["bad_levels", "harvestd_bad_book_levels_total", "Book levels rejected by validation."],
  ["ofi_resets", "harvestd_ofi_resets_total", "Full OFI resets (time gap, UTC day, public reconnect)."],
  ["ofi_rows", "harvestd_ofi_updates_total", "OFI rows computed."],
  ["fusion_rows", "harvestd_fusion_updates_total", "Fusion rows computed."],
  ["conflicts", "harvestd_ofi_cvd_conflicts_total", "OFI/CVD conflict events."],
  ["divergences", "harvestd_divergences_total", "Divergence events."],
];

const SIGNAL_VALUE: Readonly<Record<string, number>> = { sell: -1, neutral: 0, buy: 1 };

const seconds = (ms: number | null | undefined): number | null => (ms === null || ms === undefined || ms === 0 ? null : ms / 1000);

export function renderCollectorMetrics(p: CollectorParts): string {
  const x = new Exposition();
  const v = versionInfo();
  const bySymbol = p.symbols.map((symbol) => ({ symbol, labels: { symbol } as Labels, engine: p.engines.get(symbol)!, feed: p.feed.stats(symbol)!, ingest: p.ingest.stats.get(symbol)! }));
  const perSymbol = (f: (s: (typeof bySymbol)[number]) => number | null | undefined): Sample[] => bySymbol.map((s) => [s.labels, f(s)]);

  x.gauge("harvestd_build_info", "Version of the running binary (value is always 1).", [[{ version: v.version, bun: v.bun }, 1]]);
  x.gauge("process_start_time_seconds", "Start of the collector, Unix time.", [[undefined, p.startedAtMs / 1000]]);
  const mem = process.memoryUsage();
  x.gauge("process_resident_memory_bytes", "Resident set size.", [[undefined, mem.rss]]);
  x.gauge("harvestd_js_heap_used_bytes", "JavaScript heap in use.", [[undefined, mem.heapUsed]]);
  if (p.heapPauses !== undefined) x.histogramMs("harvestd_heap_collection_pause_seconds", "How long each full collection the heap cap ran stopped the ingest thread.", [[undefined, p.heapPauses]]);
  const cpu = process.cpuUsage();
  x.counter("process_cpu_seconds_total", "User and system CPU time.", [[undefined, (cpu.user + cpu.system) / 1e6]]);

  const health = buildHealth(p);
  x.gauge("harvestd_healthy", "1 when /health answers 200, else 0.", [[undefined, health.ok ? 1 : 0]]);
  x.gauge("harvestd_disk_free_bytes", "Free space of the fullest data folder's file system.", [[undefined, Number.isFinite(health.disk_free_bytes) ? (health.disk_free_bytes as number) : null]]);
  x.gauge("harvestd_disk_free_floor_bytes", "Free space below which /health fails.", [[undefined, p.cfg.health.disk_free_floor_mb * 1024 * 1024]]);

  // Feed, per symbol.
  x.counter("harvestd_frames_received_total", "Data frames received per symbol.", perSymbol((s) => s.feed.frames));
  x.counter("harvestd_malformed_frames_total", "Data frames whose payload failed validation, per symbol.", perSymbol((s) => s.feed.badFrames));
  x.gauge(
    "harvestd_last_frame_timestamp_seconds",
    "Receipt time of the last frame per symbol and stream kind, Unix time.",
    bySymbol.flatMap((s): Sample[] => [
      [{ symbol: s.symbol, kind: "depth" }, seconds(s.feed.lastDepthAtMs)],
      [{ symbol: s.symbol, kind: "aggTrade" }, seconds(s.feed.lastTradeAtMs)],
    ]),
  );
  const hist = (f: (s: (typeof bySymbol)[number]) => Histogram) => bySymbol.map((s) => [s.labels, f(s)] as const);
  x.histogramMs("harvestd_event_latency_seconds", "Receipt time minus exchange event time E, per frame.", hist((s) => s.feed.eventLatencyMs));
  x.histogramMs("harvestd_pipeline_latency_seconds", "Time from receipt to frame applied and logged, per frame.", hist((s) => s.ingest.pipelineLatencyMs));
  const totals = p.feed.totals();
  x.counter("harvestd_rejected_frames_total", "Frames rejected before or during parsing (binary, oversized, not JSON, bad payload).", [[undefined, totals.badFrames]]);
  x.counter("harvestd_unexpected_frames_total", "Frames for streams or symbols not subscribed.", [[undefined, totals.unexpectedFrames]]);

  // Stream gate (dedup, rotation overlap, backfill), per symbol, and REST.
  const feed = (f: (c: Readonly<Record<string, number>>) => number | undefined): Sample[] =>
    bySymbol.map((s) => {
      const c = p.feed.counters(s.symbol);
      return [s.labels, c === undefined ? null : (f(c) ?? null)];
    });
  x.counter("harvestd_feed_duplicates_total", "Trades delivered again by the same socket, dropped.", feed((c) => c.duplicates));
  x.counter("harvestd_feed_overlap_dropped_total", "Trades already delivered by another socket (rotation overlap), dropped.", feed((c) => c.overlapDropped));
  x.counter("harvestd_feed_stale_dropped_total", "Trades arriving below the last accepted id, dropped.", feed((c) => c.staleDropped));
  x.counter("harvestd_backfills_total", "REST backfills started after a trade-id gap.", feed((c) => c.backfills));
  x.counter("harvestd_trade_gaps_recorded_total", "Gap lines written for trade ids that could not be recovered.", feed((c) => c.tradeGaps));
  x.counter("harvestd_trade_ids_unrecovered_total", "Trade ids covered by recorded gaps.", feed((c) => c.missingTradeIds));
  x.gauge("harvestd_feed_held_frames", "Frames waiting behind a backfill right now.", feed((c) => c.held));
  x.counter("harvestd_backfill_holds_abandoned_total", "Backfills abandoned because the hold buffer filled or timed out.", [[undefined, totals.holdsAbandoned]]);
  x.counter("harvestd_backfill_pages_total", "REST aggTrades pages fetched by backfills.", [[undefined, totals.backfill_pages]]);
  x.counter("harvestd_rest_requests_total", "REST requests sent.", [[undefined, totals.rest_requests]]);
  x.counter("harvestd_rest_throttled_total", "REST answers 429/418.", [[undefined, totals.rest_throttled]]);
  x.counter("harvestd_rest_weight_waits_total", "REST requests delayed to stay within the weight budget.", [[undefined, totals.rest_weight_waits]]);
  x.gauge("harvestd_rest_used_weight", "Request weight used in the current minute, as reported by the exchange.", [[undefined, totals.rest_used_weight_1m]]);
  x.gauge("harvestd_rest_pause_seconds", "Seconds until the exchange's REST pause (HTTP 429, or 418: IP banned) ends; 0 when none.", [[undefined, totals.rest_paused_s ?? 0]]);
  if (p.wallClock !== undefined) {
    x.counter("harvestd_wall_clock_steps_total", "Steps of the machine's wall clock (NTP, date -s, resume) seen while running; receipt times follow it, durations do not.", [[undefined, p.wallClock.steps]]);
  }
  if (totals.clock_offset_ms !== undefined) {
    x.gauge("harvestd_clock_offset_seconds", "Local clock minus the exchange's at the last check (GET /fapi/v1/time, every 10 min); receipt times and latencies are off by as much.", [[undefined, totals.clock_offset_ms / 1000]]);
  }
  const listing = p.feed.listing?.();
  if (listing !== undefined) {
    x.gauge("harvestd_symbols_not_trading", "Collected symbols the exchange no longer lists as trading (last listing check).", [[undefined, listing.notTrading.size]]);
    x.gauge("harvestd_listed_not_collected", "symbols = ALL: symbols the exchange lists as trading that this run does not collect yet (they are being added).", [[undefined, listing.notCollected.length]]);
  }

  // Full-depth mode (docs/depth.md): the kept book of each symbol; absent at depth5.
  const books = bySymbol.flatMap((s) => {
    const b = p.pipeline.symbols.get(s.symbol)?.book;
    return b ? [{ labels: s.labels, b }] : [];
  });
  if (books.length > 0) {
    const now = Date.now();
    x.gauge("harvestd_book_synced", "1 while the symbol's full book is in sync, else 0.", books.map(({ labels, b }): Sample => [labels, b.state === "synced" ? 1 : 0]));
    x.gauge("harvestd_book_levels", "Levels the full book holds per side (0 while it resyncs).", books.flatMap(({ labels, b }): Sample[] => {
      const d = b.depth();
      return [[{ ...labels, side: "bid" }, d.bids], [{ ...labels, side: "ask" }, d.asks]];
    }));
    x.counter("harvestd_book_resyncs_total", "Times the full book was dropped on a break and rebuilt from a snapshot.", books.map(({ labels, b }): Sample => [labels, b.counters.resyncs]));
    x.counter("harvestd_book_refreshes_total", "Refresh snapshots swapped in while in sync.", books.map(({ labels, b }): Sample => [labels, b.counters.refreshes]));
    x.counter("harvestd_book_refresh_mismatches_total", "Levels a refresh snapshot found different from the running book (0 = never wrong).", books.map(({ labels, b }): Sample => [labels, b.counters.refreshMismatches]));
    x.gauge("harvestd_book_snapshot_age_seconds", "Age of the last depth snapshot applied.", books.map(({ labels, b }): Sample => [labels, b.lastSnapshotAtMs === 0 ? null : (now - b.lastSnapshotAtMs) / 1000]));
    x.counter("harvestd_depth_snapshot_failures_total", "Depth snapshot requests that failed (HTTP error, timeout).", [[undefined, totals.depth_snapshot_failures ?? 0]]);
  }

  // Connections, per route.
  const routes = [...new Set(p.connections.map((c) => c.route))].sort();
  const perRoute = (f: (c: CollectorParts["connections"][number]) => number): Sample[] =>
    routes.map((route) => [{ route }, p.connections.filter((c) => c.route === route).reduce((a, c) => a + f(c), 0)]);
  x.gauge("harvestd_connections", "WebSocket connections configured per route.", perRoute(() => 1));
  x.gauge("harvestd_connections_open", "WebSocket connections currently open per route.", perRoute((c) => (c.state === "open" ? 1 : 0)));
  x.counter("harvestd_reconnects_total", "Completed reconnects per route.", perRoute((c) => c.reconnects));
  x.counter("harvestd_ws_frames_received_total", "WebSocket messages received per route.", perRoute((c) => c.frames));
  x.counter("harvestd_ws_received_bytes_total", "WebSocket payload bytes received per route.", perRoute((c) => c.bytes));

  // Engines, per symbol.
  for (const [key, name, help] of ENGINE_COUNTERS) x.counter(name, help, perSymbol((s) => s.engine.counters[key]));
  const snaps = new Map(bySymbol.map((s) => [s.symbol, s.engine.snapshot()]));
  const snap = (f: (e: ReturnType<(typeof bySymbol)[number]["engine"]["snapshot"]>) => number | null): Sample[] =>
    bySymbol.map((s) => [s.labels, f(snaps.get(s.symbol)!)]);
  x.gauge("harvestd_last_price", "Price of the last accepted trade.", snap((e) => e.lastPrice));
  x.gauge("harvestd_mid_price", "Mid of the last valid book.", snap((e) => e.mid));
  x.gauge("harvestd_spread_ratio", "Spread of the last valid book over its mid (1 bp = 0.0001).", snap((e) => (e.spreadBps === null ? null : e.spreadBps / 1e4)));
  x.gauge("harvestd_ofi_z", "Last OFI z-score.", snap((e) => e.ofiZ));
  x.gauge("harvestd_cvd", "Cumulative volume delta since start (base asset).", snap((e) => e.cvd));
  x.gauge("harvestd_cvd_z", "Last CVD z-score.", snap((e) => e.zCvd));
  x.gauge("harvestd_fusion_score", "Last fusion score.", snap((e) => e.fusionScore));
  x.gauge("harvestd_fusion_signal", "Last fusion signal: -1 sell, 0 neutral, 1 buy.", snap((e) => (e.fusionSignal === null ? null : (SIGNAL_VALUE[e.fusionSignal] ?? null))));
  x.gauge(
    "harvestd_regime",
    "Current 2x2 regime (A/Q activity, H/L volatility): 1 on the current label.",
    bySymbol.flatMap((s): Sample[] => {
      const r = snaps.get(s.symbol)!.regime;
      return r === null ? [] : [[{ symbol: s.symbol, regime: r }, 1]];
    }),
  );

  // Paper trading (PAPER_ENABLE=1 only).
  const paper = p.pipeline.paper;
  if (paper) {
    const ps = new Map(p.symbols.map((s) => [s, paper.stats(s)]));
    const perPaper = (f: (st: PaperStats) => number | null): Sample[] => p.symbols.map((s) => [{ symbol: s }, f(ps.get(s)!)]);
    x.gauge("harvestd_paper_pnl", "Paper trading: realised PnL in quote currency, fees included.", perPaper((st) => st.equity));
    x.gauge("harvestd_paper_max_drawdown", "Paper trading: largest peak-to-trough fall of realised PnL (quote currency).", perPaper((st) => st.max_drawdown));
    x.gauge("harvestd_paper_win_ratio", "Paper trading: winning round trips over all closed round trips.", perPaper((st) => st.win_rate));
    x.counter("harvestd_paper_trades_total", "Paper trading: closed round trips.", perPaper((st) => st.trades));
  }

  // Custom indicators (docs/indicators-custom.md): per indicator, over all symbols.
  const custom = p.pipeline.custom;
  if (custom !== null) {
    const per = (f: (v: IndicatorStatsView) => number): Sample[] => custom.views().map((v) => [{ indicator: v.name }, f(v)]);
    x.histogramMs("harvestd_indicator_update_seconds", "Custom indicator: duration of each handler call (rows checked and written included).", custom.stats.map((s) => [{ indicator: s.indicator.name }, s.cost] as const));
    x.counter("harvestd_indicator_calls_total", "Custom indicator: handler calls.", per((v) => v.calls));
    x.counter("harvestd_indicator_errors_total", "Custom indicator: failing calls (threw, returned a promise, emitted a bad row) and emits outside a call.", per((v) => v.errors));
    x.counter("harvestd_indicator_rows_total", "Custom indicator: rows written.", per((v) => v.rows));
    x.counter("harvestd_indicator_rows_dropped_total", "Custom indicator: emitted rows refused (not matching the declared columns).", per((v) => v.rowsDropped));
    x.gauge("harvestd_indicator_switched_off", "Custom indicator: symbols it is switched off for after repeated errors.", per((v) => v.switchedOff.length));
  }

  // Sinks: each component's own verdict, then what the two built-in writers count.
  const now = Date.now();
  x.gauge("harvestd_component_healthy", "1 while the sink component reports no problem.", p.pipeline.components.map((c): Sample => [{ component: c.name }, c.health(now).ok ? 1 : 0]));
  const pq = p.pipeline.parquet?.status();
  if (pq !== undefined) {
    x.gauge("harvestd_parquet_writer_up", "1 while the Parquet writer worker is running.", [[undefined, pq.workerState === "failed" ? 0 : 1]]);
    x.gauge("harvestd_parquet_kind_failing", "1 while a write of the Parquet kind is held after a failure and retried.", ALL_KINDS.map((kind): Sample => [{ kind }, pq.failingKinds.includes(kind) ? 1 : 0]));
    x.counter("harvestd_parquet_files_written_total", "Parquet files committed.", [[undefined, pq.filesWritten]]);
    x.counter("harvestd_parquet_rows_written_total", "Rows in committed Parquet files.", [[undefined, pq.rowsWritten]]);
    x.counter("harvestd_parquet_written_bytes_total", "Bytes of committed Parquet files.", [[undefined, pq.bytesWritten]]);
    x.counter("harvestd_parquet_write_errors_total", "Failed Parquet write attempts (each is held and retried).", [[undefined, pq.writeErrors]]);
    x.counter("harvestd_parquet_rows_dropped_total", "Rows dropped because the writer's buffer bound was reached.", [[undefined, pq.rowsDropped]]);
    x.counter("harvestd_parquet_rows_lost_total", "Rows that never reached a Parquet file (NDJSON still has them; replay rebuilds).", [[undefined, pq.rowsLost]]);
    x.counter("harvestd_parquet_rows_rejected_total", "Rows refused by the Parquet schema.", [[undefined, pq.rowsRejected]]);
    x.counter("harvestd_parquet_encode_seconds_total", "Time spent encoding Parquet files (writer thread).", [[undefined, pq.encodeMsTotal / 1000]]);
    x.gauge("harvestd_parquet_buffered_rows", "Rows collected, not yet handed to the writer.", [[undefined, pq.rowsBuffered]]);
    x.gauge("harvestd_parquet_pending_rows", "Rows handed to the writer, not yet committed.", [[undefined, pq.rowsPending]]);
    x.gauge("harvestd_parquet_held_rows", "Rows of failed writes waiting for their retry.", [[undefined, pq.rowsHeld]]);
    x.gauge("harvestd_parquet_pending_bytes", "Memory held by batches not yet written (bounded).", [[undefined, pq.bytesPending]]);
    x.gauge("harvestd_parquet_spilled_rows", "Rows over the buffer bound waiting on disk for the writer (spill).", [[undefined, pq.rowsSpilled]]);
    x.gauge("harvestd_parquet_spilled_bytes", "Bytes of the spill files waiting for the writer.", [[undefined, pq.bytesSpilled]]);
    x.counter("harvestd_parquet_rows_spilled_total", "Rows that went through the disk spill.", [[undefined, pq.rowsSpilledTotal]]);
    x.gauge("harvestd_parquet_drain_rows_per_second", "Rows committed per second over the last 10 s.", [[undefined, pq.drainRowsPerSec]]);
    x.gauge("harvestd_parquet_drain_eta_seconds", "Backlog (pending + spilled rows) over the rate it shrank in the last 10 s; absent while unmeasured or growing.", [[undefined, pq.drainEtaSec]]);
    const lastByKind = new Map<string, number>();
    for (const byKind of Object.values(pq.lastFiles)) {
      for (const f of Object.values(byKind)) if (f !== undefined && f.atMs > (lastByKind.get(f.kind) ?? 0)) lastByKind.set(f.kind, f.atMs);
    }
    x.gauge("harvestd_parquet_last_file_timestamp_seconds", "Commit time of the newest Parquet file per kind, Unix time.", ALL_KINDS.map((kind): Sample => [{ kind }, seconds(lastByKind.get(kind))]));
  }

  const nats = p.pipeline.nats?.status();
  if (nats !== undefined) {
    x.gauge("harvestd_nats_connected", "1 while the publisher is connected to a NATS server.", [[undefined, nats.connected ? 1 : 0]]);
    x.counter("harvestd_nats_published_total", "Records published to JetStream (live and catch-up).", [[undefined, nats.published]]);
    x.counter("harvestd_nats_acked_total", "Publishes acknowledged by JetStream.", [[undefined, nats.acked]]);
    x.counter("harvestd_nats_duplicates_total", "Publishes JetStream acknowledged as duplicates (another collector was first).", [[undefined, nats.duplicates]]);
    x.counter("harvestd_nats_failed_total", "Publishes that failed or timed out (published again from the log).", [[undefined, nats.failed]]);
    x.counter("harvestd_nats_caught_up_total", "Records published from the NDJSON log after an outage.", [[undefined, nats.caughtUp]]);
    x.gauge("harvestd_nats_in_flight", "Publishes awaiting their acknowledgement.", [[undefined, nats.inFlight]]);
    x.gauge("harvestd_nats_behind_symbols", "Symbols waiting to be published from the log.", [[undefined, nats.behindSymbols]]);
  }
  for (const m of p.source?.metrics() ?? []) (m.type === "counter" ? x.counter(m.name, m.help, m.samples) : x.gauge(m.name, m.help, m.samples));

  const trade = p.trading?.status();
  if (trade !== undefined) {
    const rows = trade.symbols;
    const per = (f: (t: (typeof rows)[number]) => number | null): Sample[] => rows.map((t) => [{ symbol: t.symbol }, f(t)]);
    x.gauge("harvestd_trade_position_qty", "Position at the venue, base quantity (negative = short).", per((t) => t.position_qty));
    x.gauge("harvestd_trade_position_notional", "Position notional at the venue's last known price (mark or fill), quote currency.", per((t) => t.position_notional));
    x.gauge("harvestd_trade_position_notional_limit", "max_position_notional of the symbol.", per((t) => t.max_position_notional));
    x.gauge("harvestd_trade_open_orders", "Resting orders at the venue (the protective stop included).", per((t) => t.open_orders));
    x.gauge("harvestd_trade_day_pnl", "PnL of the UTC day (realised − commissions + unrealised), quote currency.", per((t) => t.day_pnl));
    x.gauge("harvestd_trade_daily_loss_limit", "max_daily_loss of the symbol.", per((t) => t.max_daily_loss));
    x.gauge("harvestd_trade_pnl", "PnL since start (realised − commissions + unrealised), quote currency.", per((t) => t.total_pnl));
    x.gauge("harvestd_trade_drawdown_pct", "Fall from the equity peak, percent of it.", per((t) => t.drawdown_pct));
    x.gauge("harvestd_trade_orders_last_minute", "Orders sent in the last 60 s (limit: max_orders_per_min).", per((t) => t.orders_last_min));
    x.gauge("harvestd_trade_halted", "1 while the symbol is stopped for the day by a loss limit (the venue's kill switch or the strategy's own).", per((t) => (t.halted === null ? 0 : 1)));
    x.gauge("harvestd_trade_user_stream_connected", "1 while the user data stream is connected.", [[undefined, trade.user_stream ? 1 : 0]]);
    x.gauge("harvestd_trade_used_weight", "Request weight used this minute at the trading venue.", [[undefined, trade.limits.used_weight_1m]]);
    x.gauge("harvestd_trade_order_count_10s", "Orders counted by the venue in the last 10 s.", [[undefined, trade.limits.order_count_10s]]);
    x.counter("harvestd_trade_fills_total", "Fills received from the venue.", [[undefined, trade.counters.fills]]);
    x.counter("harvestd_trade_orders_failed_total", "Orders the venue refused or left unknown.", [[undefined, trade.counters.ordersFailed]]);
    const c = trade.counters;
    x.counter("harvestd_trade_orders_refused_total", "Orders the trader refused before sending: a risk limit, the position not known (user stream), the venue's symbol rules.", [
      [{ reason: "limit" }, c.refusedLimit],
      [{ reason: "not_in_sync" }, c.refusedNotInSync],
      [{ reason: "filter" }, c.refusedFilter],
    ]);
    x.gauge("harvestd_trade_limit_below_min_order", "1 while max_position_notional is below the smallest order the venue accepts (every entry refused).", per((t) => (t.limit_below_min_order ? 1 : 0)));
    if (trade.lease !== undefined) x.gauge("harvestd_trade_lease_held", "1 while this collector holds the account's trading lease (trade.lease).", [[undefined, trade.lease.held ? 1 : 0]]);
  }

  const nd = p.pipeline.ndjson?.status();
  if (nd === undefined) return x.text();
  x.counter("harvestd_ndjson_lines_written_total", "NDJSON raw-log lines written.", [[undefined, nd.linesWritten]]);
  x.counter("harvestd_ndjson_written_bytes_total", "NDJSON raw-log bytes written.", [[undefined, nd.bytesWritten]]);
  x.counter("harvestd_ndjson_files_closed_total", "NDJSON hour files closed.", [[undefined, nd.filesClosed]]);
  x.counter("harvestd_ndjson_write_errors_total", "Failed NDJSON write attempts (each is retried).", [[undefined, nd.writeErrors]]);
  x.counter("harvestd_ndjson_lines_dropped_total", "NDJSON lines dropped because the buffer bound was reached.", [[undefined, nd.linesDropped]]);
  x.counter("harvestd_ndjson_lines_lost_total", "NDJSON lines that will never be written.", [[undefined, nd.linesLost]]);
  x.gauge("harvestd_ndjson_failing_files", "NDJSON files whose latest write failed and is being retried.", [[undefined, nd.failingFiles]]);
  x.gauge("harvestd_ndjson_pending_lines", "NDJSON lines buffered, not yet handed to the OS.", [[undefined, nd.pendingLines]]);

  return x.text();
}
