/**
 * Read-only views of a running collector for the HTTP surface and metrics.json: the status document,
 * the health verdict (product.md §7) and the top-5 book per symbol.
 */
import type { SymbolEngine } from "../calc/symbol-engine.ts";
import type { Config } from "../config/schema.ts";
import type { StreamConnection } from "../feed/connection.ts";
import type { HealthReport } from "../http/server.ts";
import type { NdjsonSink } from "../sinks/ndjson/ndjson-sink.ts";
import type { ParquetFileInfo, ParquetSink } from "../sinks/parquet/parquet-sink.ts";
import { versionInfo } from "../cli/version.ts";
import type { FrameRouter } from "./frame-router.ts";

export interface CollectorParts {
  readonly cfg: Config;
  readonly startedAtMs: number;
  readonly symbols: readonly string[];
  readonly engines: ReadonlyMap<string, SymbolEngine>;
  readonly router: FrameRouter;
  readonly connections: readonly StreamConnection[];
  readonly parquet: ParquetSink;
  readonly ndjson: NdjsonSink;
  readonly diskFreeBytes: () => number;
  readonly diskFloorBytes: number;
}

export function buildStatus(p: CollectorParts): Record<string, unknown> {
  const now = Date.now();
  const pq = p.parquet.status();
  const nd = p.ndjson.status();
  const reconnectsBySymbol = new Map<string, number>();
  for (const c of p.connections) {
    for (const s of c.streams) {
      const sym = s.slice(0, s.indexOf("@")).toUpperCase();
      reconnectsBySymbol.set(sym, (reconnectsBySymbol.get(sym) ?? 0) + c.reconnects);
    }
  }
  const symbols = p.symbols.map((symbol) => {
    const e = p.engines.get(symbol)!.snapshot();
    const st = p.router.stats.get(symbol)!;
    const sec = Math.floor(now / 1000);
    // The last complete second, so the figure does not dip at the start of every second.
    const msgsPerS = st.sec === sec ? st.prevSecFrames : st.sec === sec - 1 ? st.secFrames : 0;
    const lastFiles = pq.lastFiles[symbol];
    let lastParquet: ParquetFileInfo | null = null;
    for (const f of Object.values(lastFiles ?? {})) if (f !== undefined && (lastParquet === null || f.atMs > lastParquet.atMs)) lastParquet = f;
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
      last_frame_age_s: st.lastFrameAtMs === 0 ? null : (now - st.lastFrameAtMs) / 1000,
      latency_p50_ms: st.eventLatencyMs.quantile(0.5),
      latency_p99_ms: st.eventLatencyMs.quantile(0.99),
      pipeline_latency_p99_ms: st.pipelineLatencyMs.quantile(0.99),
      trades: e.counters.trades,
      books: e.counters.books,
      gaps: e.counters.trade_id_gaps,
      resyncs: e.counters.seq_gaps,
      reconnects: reconnectsBySymbol.get(symbol) ?? 0,
      backfilled: e.counters.backfilled_trades,
      counters: e.counters,
      last_file: lastParquet?.path ?? nd.lastFile[symbol] ?? null,
    };
  });
  return {
    version: versionInfo().version,
    now_ms: now,
    uptime_s: (now - p.startedAtMs) / 1000,
    health: buildHealth(p),
    totals: p.router.totals,
    connections: p.connections.map((c) => ({
      id: c.id,
      route: c.route,
      streams: c.streams.length,
      state: c.state,
      reconnects: c.reconnects,
      frames: c.frames,
      bytes: c.bytes,
      last_frame_age_s: c.lastFrameAtMs === 0 ? null : (now - c.lastFrameAtMs) / 1000,
      last_error: c.lastError || null,
    })),
    parquet: { ...pq, lastFiles: undefined },
    ndjson: nd,
    symbols,
  };
}

export function buildHealth(p: CollectorParts): HealthReport {
  const now = Date.now();
  const reasons: string[] = [];
  const timeoutMs = p.cfg.feed.heartbeat_timeout_sec * 1000;
  for (const c of p.connections) {
    if (c.state !== "open") reasons.push(`connection ${c.id} is ${c.state}${c.lastError ? ` (${c.lastError})` : ""}`);
    else if (now - c.lastFrameAtMs > timeoutMs) reasons.push(`connection ${c.id} delivered nothing for ${Math.round((now - c.lastFrameAtMs) / 1000)} s`);
  }
  const pq = p.parquet.status();
  if (!pq.healthy) reasons.push(`parquet writer: ${pq.lastError?.message ?? pq.workerState}`);
  const nd = p.ndjson.status();
  if (nd.lastError !== null) reasons.push(`ndjson writer: ${nd.lastError}`);
  const free = p.diskFreeBytes();
  if (free < p.diskFloorBytes) reasons.push(`disk free ${Math.round(free / 1048576)} MiB is below ${Math.round(p.diskFloorBytes / 1048576)} MiB`);
  return { ok: reasons.length === 0, reasons, disk_free_bytes: free, uptime_s: (now - p.startedAtMs) / 1000 };
}

export function buildOrderbook(p: CollectorParts, symbol: string): Record<string, unknown> | null {
  const engine = p.engines.get(symbol);
  if (engine === undefined) return null;
  const s = engine.snapshot();
  return { symbol, ts_ms: s.bookTsMs, best_bid: s.bestBid, best_ask: s.bestAsk, mid: s.mid, spread_bps: s.spreadBps, bids: s.bids, asks: s.asks };
}
