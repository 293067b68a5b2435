/**
 * Read-only views of a running collector for the HTTP surface and metrics.json: the status document,
 * the health verdict (docs/operations.md), the top-5 book per symbol and the chart history.
 */
import type { DepthSync } from "./venue.ts";
import type { SymbolEngine } from "../calc/symbol-engine.ts";
import type { Config } from "../config/schema.ts";
import { LISTING_ABSENT, type ConnectionView, type ExchangeAdapter, type Feed, type ListingView } from "../core/feed.ts";
import type { ParquetFileInfo } from "../sinks/parquet/sink-types.ts";
import type { Histogram } from "../util/histogram.ts";
import { RECENT_WINDOW_S } from "../util/recent-histogram.ts";
import type { WallClockWatch } from "../util/wall-clock-watch.ts";
import { versionInfo } from "../util/version.ts";
import { ChartHistory, DEFAULT_HISTORY_SECONDS } from "./chart-history.ts";
import { freeBytes } from "../sinks/storage/disk-guard.ts";
import type { Ingest } from "./ingest.ts";
import type { Pipeline } from "./pipeline.ts";
import type { TradingSession } from "../trading/live/session.ts";

/** The health verdict: `ok` only without reasons; each reason names the failure. */
export interface HealthReport {
  readonly ok: boolean;
  readonly reasons: readonly string[];
  readonly [k: string]: unknown;
}

/** A running collector, read-only, for the HTTP surface, metrics and metrics.json. */
export interface CollectorParts {
  readonly cfg: Config;
  readonly startedAtMs: number;
  readonly symbols: readonly string[];
  readonly engines: ReadonlyMap<string, SymbolEngine>;
  readonly feed: Feed;
  readonly ingest: Ingest;
  readonly pipeline: Pipeline;
  readonly connections: readonly ConnectionView[];
  readonly parseStream: ExchangeAdapter["parseStream"];
  readonly history: ChartHistory;
  readonly diskFreeBytes: () => number;
  /** The testnet trader ([trade] enable), or null. */
  readonly trading?: TradingSession | null;
  /** What a non-exchange input adds (`harvestd store`: its stream consumer), or absent. */
  readonly source?: SourceView;
  /** How long each full collection of the ingest thread's heap cap stopped it, ms (`run` only). */
  readonly heapPauses?: Histogram;
  /** Steps of the wall clock seen while running (`run` and `store`). */
  readonly wallClock?: WallClockWatch;
  /** A symbol collected from now on (a new listing; its processor exists): in every view after this. */
  addSymbol(symbol: string): void;
  /** When each symbol added while running was added (its streams' silence counts from then). */
  readonly addedAtMs: ReadonlyMap<string, number>;
}

/** What `run` and `store` each bring; the rest of the view is derived the same way for both. */
export type PartsInput = Pick<CollectorParts, "cfg" | "startedAtMs" | "symbols" | "feed" | "ingest" | "pipeline" | "parseStream" | "trading" | "source" | "heapPauses" | "wallClock">;

/** The read-only view of a running pipeline, once its symbols' processors exist. */
export function collectorParts(input: PartsInput): CollectorParts {
  const { cfg, feed, pipeline } = input;
  const dataDirs = [cfg.storage.output_dir, cfg.storage.preview_dir, cfg.storage.ndjson_dir];
  const symbols = [...input.symbols];
  // Kept apart from the pipeline's processors: the views still read them after the shutdown finished them.
  const engines = new Map([...pipeline.symbols].map(([s, proc]) => [s, proc.engine] as const));
  const history = new ChartHistory(symbols, DEFAULT_HISTORY_SECONDS);
  const addedAtMs = new Map<string, number>();
  return {
    ...input,
    symbols,
    engines,
    // Read each time: a new listing brings connections of its own.
    get connections() {
      return feed.connections;
    },
    history,
    diskFreeBytes: () => freeBytes(dataDirs),
    addedAtMs,
    addSymbol(symbol) {
      if (engines.has(symbol)) return;
      addedAtMs.set(symbol, Date.now());
      symbols.push(symbol);
      engines.set(symbol, pipeline.processor(symbol).engine);
      history.addSymbol(symbol);
    },
  };
}

/** A metric family a source exposes, rendered by /metrics as it is. */
export interface SourceMetric {
  readonly name: string;
  readonly type: "counter" | "gauge";
  readonly help: string;
  readonly samples: readonly (readonly [Readonly<Record<string, string>> | undefined, number | null])[];
}

/** The status, health reasons and metrics of the input the records come from, when it is not the exchange. */
export interface SourceView {
  /** Key of its section in the status document (`store`). */
  readonly name: string;
  status(): Record<string, unknown>;
  healthReasons(nowMs: number): readonly string[];
  metrics(): readonly SourceMetric[];
}

const MIB = 1024 * 1024;
const NONE: ReadonlyMap<string, string> = new Map();
/** Streams (or symbols) named in a health reason; the rest are counted. */
const MAX_NAMED_STREAMS = 5;

/** The first MAX_NAMED_STREAMS items named, the rest counted: `a, b, c and 4 more`. */
function nameFirst<T>(items: readonly T[], name: (item: T) => string): string {
  const more = items.length > MAX_NAMED_STREAMS ? ` and ${items.length - MAX_NAMED_STREAMS} more` : "";
  return items.slice(0, MAX_NAMED_STREAMS).map(name).join(", ") + more;
}

/** How a stream that never delivered is worded: measured from the start of the run or from when its symbol was added. */
const NOTHING_SINCE = { start: "nothing since start, ", added: "nothing since it was added, " } as const;

const age = (nowMs: number, atMs: number): number | null => (atMs === 0 ? null : (nowMs - atMs) / 1000);

function lastParquetFile(files: Readonly<Partial<Record<string, ParquetFileInfo>>> | undefined): ParquetFileInfo | null {
  let last: ParquetFileInfo | null = null;
  for (const f of Object.values(files ?? {})) if (f !== undefined && (last === null || f.atMs > last.atMs)) last = f;
  return last;
}

export function buildStatus(p: CollectorParts): Record<string, unknown> {
  const now = Date.now();
  const pq = p.pipeline.parquet?.status() ?? null;
  const nd = p.pipeline.ndjson?.status() ?? null;
  const reconnectsBySymbol = new Map<string, number>();
  for (const c of p.connections) {
    for (const s of c.streams) {
      const sym = s.slice(0, s.indexOf("@")).toUpperCase();
      reconnectsBySymbol.set(sym, (reconnectsBySymbol.get(sym) ?? 0) + c.reconnects);
    }
  }
  const sec = Math.floor(now / 1000);
  let msgsPerSTotal = 0;
  const symbols = p.symbols.map((symbol) => {
    const e = p.engines.get(symbol)!.snapshot();
    const st = p.feed.stats(symbol)!;
    // The last complete second, so the figure does not dip at the start of every second.
    const msgsPerS = st.sec === sec ? st.prevSecFrames : st.sec === sec - 1 ? st.secFrames : 0;
    msgsPerSTotal += msgsPerS;
    const eventLat = st.eventLatencyMs.recent(now);
    const parquetFile = lastParquetFile(pq?.lastFiles[symbol]);
    return {
      symbol,
      last_price: e.lastPrice,
      mid: e.mid,
      spread_bps: e.spreadBps,
      best_bid: e.bestBid,
      best_ask: e.bestAsk,
      ofi_z: e.ofiZ,
      cvd: e.cvd,
      z_cvd: e.zCvd,
      fusion_score: e.fusionScore,
      fusion_signal: e.fusionSignal,
      regime: e.regime,
      msgs_per_s: msgsPerS,
      frames: st.frames,
      bad_frames: st.badFrames,
      last_frame_age_s: age(now, st.lastFrameAtMs),
      last_depth_age_s: age(now, st.lastDepthAtMs),
      last_trade_age_s: age(now, st.lastTradeAtMs),
      // Over the last minute (latency_window_s), not since the start: a lifetime p99 freezes after
      // hours. /metrics exports the lifetime histograms (Prometheus takes its own rates).
      latency_window_s: RECENT_WINDOW_S,
      latency_p50_ms: eventLat.quantile(0.5),
      latency_p95_ms: eventLat.quantile(0.95),
      latency_p99_ms: eventLat.quantile(0.99),
      latency_max_ms: eventLat.count === 0 ? null : eventLat.max,
      pipeline_latency_p99_ms: p.ingest.stats.get(symbol)!.pipelineLatencyMs.recent(now).quantile(0.99),
      trades: e.counters.trades,
      books: e.counters.books,
      gaps: e.counters.trade_id_gaps,
      // Full-depth mode: times the kept book was dropped and rebuilt; depth5: pu breaks seen.
      resyncs: bookOf(p, symbol)?.counters.resyncs ?? e.counters.seq_gaps,
      book: bookStatus(p, symbol, now),
      reconnects: reconnectsBySymbol.get(symbol) ?? 0,
      backfilled: e.counters.backfilled_trades,
      feed: p.feed.counters(symbol),
      counters: e.counters,
      // null when paper trading is off; PaperStats (PnL, win rate, drawdown, Sharpe, position) when on.
      paper: p.pipeline.paper ? p.pipeline.paper.stats(symbol) : null,
      last_parquet_file: parquetFile?.path ?? null,
      last_parquet_at_ms: parquetFile?.atMs ?? null,
      last_file: parquetFile?.path ?? nd?.lastFile[symbol] ?? null,
    };
  });
  return {
    version: versionInfo().version,
    now_ms: now,
    started_at_ms: p.startedAtMs,
    uptime_s: (now - p.startedAtMs) / 1000,
    health: buildHealth(p),
    // Position, open orders, PnL and limits used per traded symbol; null when trading is off.
    trading: p.trading?.status(now) ?? null,
    totals: { ...p.feed.totals(), msgs_per_s: msgsPerSTotal, ...(p.wallClock === undefined ? {} : { clock_steps: p.wallClock.steps }) },
    connections: p.connections.map((c) => ({
      id: c.id,
      route: c.route,
      streams: c.streams.length,
      state: c.state,
      reconnects: c.reconnects,
      rotations: c.rotations,
      frames: c.frames,
      bytes: c.bytes,
      last_frame_age_s: age(now, c.lastFrameAtMs),
      // History, not the present: the connection's last error stays after it is open again, with
      // its time and age (docs/operations.md); while it is not open, it is why.
      last_error: c.lastError || null,
      last_error_at_ms: c.lastError && c.lastErrorAtMs > 0 ? c.lastErrorAtMs : null,
      last_error_age_s: c.lastError && c.lastErrorAtMs > 0 ? age(now, c.lastErrorAtMs) : null,
    })),
    parquet: pq === null ? null : { ...pq, lastFiles: undefined },
    components: p.pipeline.components.map((c) => ({ name: c.name, ...c.health(now) })),
    custom_indicators: p.pipeline.custom?.views() ?? [],
    nats: p.pipeline.nats?.status() ?? null,
    listing: listingStatus(p.feed.listing?.()),
    ...(p.source === undefined ? {} : { [p.source.name]: p.source.status() }),
    ndjson: nd,
    disk: { free_bytes: p.diskFreeBytes(), floor_bytes: p.cfg.health.disk_free_floor_mb * MIB },
    symbols,
  };
}

/** The venue's listing as the status document shows it; null when it is not watched. */
function listingStatus(l: ListingView | undefined): Record<string, unknown> | null {
  if (l === undefined) return null;
  return { checked_at_ms: l.checkedAtMs === 0 ? null : l.checkedAtMs, not_trading: Object.fromEntries(l.notTrading), not_collected: l.notCollected };
}

interface SilentStream {
  readonly stream: string;
  readonly silentS: number;
  /** Nothing delivered yet: since the run started, or since the symbol was added (a new listing). */
  readonly nothingSince: "start" | "added" | null;
}

/**
 * Streams of open or reconnecting connections that delivered nothing within their timeout. A symbol
 * the venue no longer lists as trading is expected to be silent: its streams are not counted.
 */
function silentStreams(p: CollectorParts, now: number, notTrading: ReadonlyMap<string, string>): SilentStream[] {
  const out: SilentStream[] = [];
  const depthMs = p.cfg.health.depth_timeout_sec * 1000;
  const tradeMs = p.cfg.health.trade_timeout_sec * 1000;
  for (const c of p.connections) {
    if (c.state === "stopped") continue;
    for (const stream of c.streams) {
      const sp = p.parseStream(stream);
      const st = sp === null ? undefined : p.feed.stats(sp.symbol);
      if (sp === null || st === undefined || notTrading.has(sp.symbol)) continue;
      const last = sp.kind === "depth" ? st.lastDepthAtMs : st.lastTradeAtMs;
      // A stream that never delivered is measured from the start of the run, or from when its symbol was added.
      const added = p.addedAtMs.get(sp.symbol);
      const since = Math.max(last, added ?? p.startedAtMs);
      if (now - since > (sp.kind === "depth" ? depthMs : tradeMs)) {
        out.push({ stream, silentS: Math.round((now - since) / 1000), nothingSince: last !== 0 ? null : added === undefined ? "start" : "added" });
      }
    }
  }
  return out.sort((a, b) => b.silentS - a.silentS);
}

/** Collectors every one of whose connections has delivered a frame at least once (start-up is over for good). */
const startedUp = new WeakSet<CollectorParts>();

/** Connections that have not yet delivered a frame, while start-up lasts. */
function startingConnections(p: CollectorParts): readonly ConnectionView[] {
  if (startedUp.has(p)) return [];
  const waiting = p.connections.filter((c) => c.frames === 0);
  if (waiting.length === 0) startedUp.add(p);
  return waiting;
}

export function buildHealth(p: CollectorParts): HealthReport {
  const now = Date.now();
  const reasons: string[] = [];

  // Until every connection has opened and delivered once: a collector that has never received
  // anything (no network, a wrong endpoint) must not look healthy while its stream timeouts run.
  const waiting = startingConnections(p);
  if (waiting.length > 0) {
    const named = waiting.slice(0, MAX_NAMED_STREAMS).map((c) => `${c.id} ${c.state}${c.lastError ? ` (${c.lastError})` : ""}`);
    reasons.push(`starting: ${waiting.length} of ${p.connections.length} connection${p.connections.length === 1 ? "" : "s"} not delivering yet: ${named.join(", ")}${waiting.length > named.length ? ", …" : ""}`);
  }

  const notTrading = p.feed.listing?.()?.notTrading ?? NONE;
  const silent = silentStreams(p, now, notTrading);
  if (silent.length > 0) {
    const named = nameFirst(silent, (s) => `${s.stream} (${s.nothingSince === null ? "" : NOTHING_SINCE[s.nothingSince]}${s.silentS} s)`);
    reasons.push(`${silent.length} stream${silent.length === 1 ? "" : "s"} silent beyond timeout: ${named}`);
    for (const c of p.connections) {
      if (c.state !== "open" && c.state !== "stopped") reasons.push(`connection ${c.id} is ${c.state}${c.lastError ? ` (${c.lastError})` : ""}`);
    }
  }

  // Named symbols the venue does not trade are a setting to change (a delisting, or a name it never
  // had); with symbols = "ALL" they are the market changing, and the next start drops them.
  if (p.cfg.symbols !== "ALL" && notTrading.size > 0) {
    const named = nameFirst([...notTrading], ([s, status]) => `${s} (${status})`);
    const one = notTrading.size === 1;
    // "absent": not a name the venue lists at all, most often a typo rather than a delisting.
    const todo = [...notTrading.values()].includes(LISTING_ABSENT) ? `check ${one ? "its name" : "their names"} or remove ${one ? "it" : "them"} from symbols` : `remove ${one ? "it" : "them"} from symbols`;
    reasons.push(`${notTrading.size} configured symbol${one ? "" : "s"} not trading on the exchange: ${named}; ${todo}`);
  }

  // Full-depth mode: a book that cannot get back in sync (snapshots failing or refused) is named.
  const unsynced = booksOutOfSync(p, now);
  if (unsynced.length > 0) {
    const named = nameFirst(unsynced, (b) => `${b.symbol} (${b.state} ${b.seconds} s)`);
    reasons.push(`${unsynced.length} order book${unsynced.length === 1 ? "" : "s"} out of sync beyond ${p.cfg.health.depth_timeout_sec} s: ${named}`);
  }

  // Trades the exchange had and this run gave up on (a backfill past its bounds: hold buffers full,
  // the REST budget at a restart, a stop): data lost for good, recorded as gap lines.
  const alertMs = p.cfg.health.drop_alert_sec * 1000;
  // Book gaps (a reconnect's resync) are not losses of this kind: the next snapshot is the whole book.
  const recent = p.ingest.gapsSince(now - alertMs);
  const gaps = recent.gaps.filter((g) => p.parseStream(g.stream)?.kind === "aggTrade");
  if (gaps.length > 0) {
    const ids = gaps.reduce((n, g) => n + (g.toId - g.fromId + 1), 0);
    const last = gaps[gaps.length - 1]!;
    // More gaps than are kept: the figures count the kept ones, so they are lower bounds.
    const atLeast = recent.complete ? "" : "at least ";
    reasons.push(`trade ids not recovered in the last ${Math.round(alertMs / 1000)} s: ${atLeast}${ids} in ${atLeast}${gaps.length} gap${gaps.length === 1 ? "" : "s"} (latest ${last.stream} ${last.fromId}–${last.toId}), recorded as gap lines`);
  }

  // Each sink answers for itself; reasons name the failure, not file paths (/health is open without the token).
  for (const c of p.pipeline.components) reasons.push(...c.health(now).reasons);
  if (p.source !== undefined) reasons.push(...p.source.healthReasons(now));
  if (p.pipeline.custom !== null) reasons.push(...p.pipeline.custom.healthReasons());

  // A symbol stopped for the day by its loss limits fails health with the reason, until the day ends.
  if (p.trading) reasons.push(...p.trading.healthReasons(now));
  // A model that failed at a signal (skipped with reason model_error) fails health, naming it.
  if (p.pipeline.model) reasons.push(...p.pipeline.model.healthReasons());

  const free = p.diskFreeBytes();
  const floor = p.cfg.health.disk_free_floor_mb * MIB;
  if (free < floor) reasons.push(`disk free ${Math.floor(free / MIB)} MiB is below the floor of ${Math.round(floor / MIB)} MiB`);

  return { ok: reasons.length === 0, reasons, checked_at_ms: now, uptime_s: (now - p.startedAtMs) / 1000, disk_free_bytes: free };
}

/** Full-depth books out of sync for longer than health.depth_timeout_sec. */
function booksOutOfSync(p: CollectorParts, now: number): { symbol: string; state: string; seconds: number }[] {
  const out: { symbol: string; state: string; seconds: number }[] = [];
  const limitMs = p.cfg.health.depth_timeout_sec * 1000;
  for (const symbol of p.symbols) {
    const b = bookOf(p, symbol);
    if (b === null || b.state === "synced" || b.outOfSyncSinceMs === 0 || now - b.outOfSyncSinceMs <= limitMs) continue;
    out.push({ symbol, state: b.state, seconds: Math.round((now - b.outOfSyncSinceMs) / 1000) });
  }
  return out;
}

/** The full-depth book of a symbol (feed.depth = "full"), or null. */
function bookOf(p: CollectorParts, symbol: string): DepthSync | null {
  return p.pipeline.symbols.get(symbol)?.book ?? null;
}

/** Per-symbol full-book state for the status document; null at depth5. */
function bookStatus(p: CollectorParts, symbol: string, now: number): Record<string, unknown> | null {
  const b = bookOf(p, symbol);
  if (b === null) return null;
  const d = b.depth();
  const c = b.counters;
  return {
    state: b.state,
    bid_levels: d.bids,
    ask_levels: d.asks,
    last_update_id: b.state === "synced" ? b.view.lastUpdateId : null,
    last_snapshot_age_s: age(now, b.lastSnapshotAtMs),
    out_of_sync_s: age(now, b.outOfSyncSinceMs),
    buffered: b.buffered,
    resyncs: c.resyncs,
    refreshes: c.refreshes,
    refresh_mismatches: c.refreshMismatches,
    snapshots_applied: c.snapshotsApplied,
    snapshots_stale: c.snapshotsStale,
    snapshots_bad: c.snapshotsBad,
    memory_bytes: b.bytes(),
    counters: c,
  };
}

/** Levels /orderbook gives when `levels` is not asked for (the depth5 view). */
export const DEFAULT_ORDERBOOK_LEVELS = 5;
/** Most levels /orderbook gives from the full book (feed.depth = "full"). */
export const MAX_FULL_ORDERBOOK_LEVELS = 1000;

/**
 * Why /orderbook cannot give `levels` per side with this feed configuration, or null when it can.
 * The range is the mode's: depth5 frames carry 5 levels, so more is refused rather than answered
 * with 5 (docs/operations.md, docs/depth.md).
 */
export function orderbookLevelsProblem(feed: Config["feed"], levels: number): string | null {
  const full = feed.depth === "full" && feed.enable_orderbook;
  const max = full ? MAX_FULL_ORDERBOOK_LEVELS : DEFAULT_ORDERBOOK_LEVELS;
  if (Number.isInteger(levels) && levels >= 1 && levels <= max) return null;
  const range = `query parameter levels must be an integer from 1 to ${max}`;
  if (full) return range;
  if (!feed.enable_orderbook) return `${range}: this collector keeps no order book (feed.enable_orderbook = false)`;
  return `${range}: this collector keeps ${DEFAULT_ORDERBOOK_LEVELS} levels per side (feed.depth = "depth5"); for up to ${MAX_FULL_ORDERBOOK_LEVELS}, keep the full book with feed.depth = "full" (docs/depth.md)`;
}

/** `levels` this collector's book cannot give, and why (the HTTP surface answers it 400). */
export class LevelsRefused {
  constructor(readonly problem: string) {}
}

/**
 * The book of a symbol, `levels` per side: from the full book in full-depth mode (up to its known
 * depth; while it is not in sync, `state` says so, the sides are empty and best bid/ask, mid and
 * spread are null), else the engine's latest depth5 levels. `levels` outside the
 * mode's range is refused (a 400 naming the range and why), before the symbol is looked up.
 */
export function buildOrderbook(p: CollectorParts, symbol: string, levels = DEFAULT_ORDERBOOK_LEVELS): Record<string, unknown> | LevelsRefused | null {
  const problem = orderbookLevelsProblem(p.cfg.feed, levels);
  if (problem !== null) return new LevelsRefused(problem);
  const engine = p.engines.get(symbol);
  if (engine === undefined) return null;
  const s = engine.snapshot();
  const head = { symbol, ts_ms: s.bookTsMs, best_bid: s.bestBid, best_ask: s.bestAsk, mid: s.mid, spread_bps: s.spreadBps };
  const b = bookOf(p, symbol);
  if (b === null) return { ...head, mode: "depth5", bids: s.bids.slice(0, levels), asks: s.asks.slice(0, levels) };
  const synced = b.state === "synced";
  // Out of sync there is no book: the engine's touch is the dropped book's, so it is not shown either.
  if (!synced) head.best_bid = head.best_ask = head.mid = head.spread_bps = null;
  const side = (l: DepthSync["view"]["bids"]) => {
    const out: { px: number; qty: number }[] = [];
    if (synced) for (let i = 0; i < Math.min(levels, l.n); i++) out.push({ px: l.priceAt(i), qty: l.qtyAt(i) });
    return out;
  };
  return { ...head, mode: "full", state: b.state, last_update_id: synced ? b.view.lastUpdateId : null, depth: b.depth(), bids: side(b.view.bids), asks: side(b.view.asks) };
}

/** One chart point per symbol, for ChartHistory.sample. */
export function chartPoint(p: CollectorParts, symbol: string): { mid: number | null; cvd: number | null; ofi_z: number | null } {
  const s = p.engines.get(symbol)!.snapshot();
  return { mid: s.mid, cvd: s.cvd, ofi_z: s.ofiZ };
}
