/**
 * Live ingest: takes frames from every connection and hands those of subscribed streams to the stream
 * gate (feed/stream-gate.ts: duplicates dropped by id, trade-id gaps backfilled over REST, book gaps
 * recorded). Whatever the gate lets through — frames, backfilled trades, gap lines — is written to
 * the symbol's NDJSON raw log and applied to its engine in one synchronous step, so the log's line
 * order is exactly the order the engine saw (indicators.md §15.1). Malformed or unexpected frames
 * are counted, logged (rate-limited) and skipped; nothing in a frame can stop the collector.
 *
 * `ts_recv` of a line is the receipt time of its frame, except that it never goes backwards within a
 * symbol's log: a frame that waited behind a backfill, a backfilled trade and a gap line carry the
 * time they were written (so hour files stay in order and replay feeds the engine the same times).
 */
import type { Backfiller } from "../exchange/binance/backfill.ts";
import type { ConnectionListener, StreamConnection } from "../exchange/binance/connection.ts";
import type { MarketEvent } from "../core/market-events.ts";
import { rawDataText } from "../exchange/binance/frame-parser.ts";
import { FrameScan, SCAN_AGG_TRADE, SCAN_FALLBACK, scanFrame } from "../exchange/binance/scanner.ts";
import type { RestClient, RestCounters } from "../exchange/binance/rest-client.ts";
import { StreamGate, type FeedSymbolCounters, type GateFrame, type GateOutput, type GateTotals } from "../exchange/binance/stream-gate.ts";
import { parseStreamName, type StreamKind } from "../exchange/binance/streams.ts";
import type { NdjsonSink } from "../sinks/ndjson/ndjson-sink.ts";
import { Histogram } from "../util/histogram.ts";
import type { Logger } from "../util/log.ts";
import { applyData, applyRecord, connectionLine, dataLine, gapLine, backfillLine, type EngineInput } from "./raw-line.ts";

export interface SymbolFeedStats {
  frames: number;
  badFrames: number;
  lastFrameAtMs: number;
  /** Receipt time of the last frame per stream kind (0 = none yet), for /health's per-stream timeouts. */
  lastDepthAtMs: number;
  lastTradeAtMs: number;
  readonly eventLatencyMs: Histogram;
  readonly pipelineLatencyMs: Histogram;
  /** Frames counted in the current and previous whole second, for messages/s. */
  secFrames: number;
  prevSecFrames: number;
  sec: number;
  /** `ts_recv` of the last line written for the symbol (lines never go back in time). */
  lastLineTsMs: number;
}

export interface FrameCounts {
  frames: number;
  badFrames: number;
  unexpectedFrames: number;
  controlResponses: number;
}

/** Everything the feed counts, for the status document and metrics. */
export type FeedTotals = FrameCounts &
  GateTotals & {
    readonly backfill_pages: number;
    readonly rest_requests: number;
    readonly rest_throttled: number;
    readonly rest_weight_waits: number;
    readonly rest_used_weight_1m: number;
  };

export interface FrameRouterOptions {
  /** Recent ids remembered per stream to tell duplicates from stale frames (DEDUP_LRU). */
  readonly dedupLru?: number;
  /** REST backfill of trade-id gaps; without it every gap is only recorded. */
  readonly backfiller?: Backfiller | null;
  readonly rest?: RestClient | null;
  /** Longest a stream's live frames wait behind its backfill before the rest becomes a gap. */
  readonly backfillMaxHoldMs?: number;
  readonly backfillMaxHeldPerStream?: number;
  readonly backfillMaxHeldTotal?: number;
}

/** A frame as the router hands it to the gate: plus the time it was received, for pipeline latency. */
interface RoutedFrame extends GateFrame {
  readonly t0: number;
}

export class FrameRouter implements ConnectionListener, GateOutput {
  readonly stats = new Map<string, SymbolFeedStats>();
  readonly gate: StreamGate;
  private readonly counts: FrameCounts = { frames: 0, badFrames: 0, unexpectedFrames: 0, controlResponses: 0 };
  private readonly backfiller: Backfiller | null;
  private readonly rest: RestClient | null;
  private readonly ticker: ReturnType<typeof setInterval> | null;
  private readonly scan = new FrameScan();

  constructor(
    private readonly engines: ReadonlyMap<string, EngineInput>,
    private readonly ndjson: NdjsonSink,
    private readonly log: Logger,
    opts: FrameRouterOptions = {},
  ) {
    this.backfiller = opts.backfiller ?? null;
    this.rest = opts.rest ?? null;
    this.gate = new StreamGate(engines.keys(), this, {
      dedupLru: opts.dedupLru ?? 8192,
      backfiller: this.backfiller,
      maxHoldMs: opts.backfillMaxHoldMs ?? 120_000,
      maxHeldPerStream: opts.backfillMaxHeldPerStream ?? 20_000,
      maxHeldTotal: opts.backfillMaxHeldTotal ?? 200_000,
      onNotice: (key, msg, fields) => this.log.limited(key, "warn", msg, fields),
    });
    this.ticker = this.backfiller === null ? null : setInterval(() => this.gate.tick(Date.now()), 250);
    for (const s of engines.keys()) {
      this.stats.set(s, {
        frames: 0,
        badFrames: 0,
        lastFrameAtMs: 0,
        lastDepthAtMs: 0,
        lastTradeAtMs: 0,
        eventLatencyMs: new Histogram(),
        pipelineLatencyMs: new Histogram(),
        secFrames: 0,
        prevSecFrames: 0,
        sec: 0,
        lastLineTsMs: 0,
      });
    }
  }

  get totals(): FeedTotals {
    const rc: RestCounters | undefined = this.rest?.counters;
    return {
      ...this.counts,
      ...this.gate.totals,
      backfill_pages: this.backfiller?.counters.pages ?? 0,
      rest_requests: rc?.requests ?? 0,
      rest_throttled: rc?.throttled ?? 0,
      rest_weight_waits: rc?.weightWaits ?? 0,
      rest_used_weight_1m: rc?.usedWeight1m ?? 0,
    };
  }

  /** Duplicates, backfills and gaps of one symbol. */
  feedCounters(symbol: string): Readonly<FeedSymbolCounters> | undefined {
    return this.gate.bySymbol.get(symbol);
  }

  /**
   * End of input: stops backfills (what they had not recovered becomes gap lines) and writes every
   * held frame. Call before the connections are stopped.
   */
  close(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.backfiller?.stop();
    this.rest?.close();
    this.gate.drain();
  }

  onConnect(conn: StreamConnection, reason?: string): void {
    this.control(conn, "connect", reason);
  }

  onDisconnect(conn: StreamConnection, reason: string): void {
    this.control(conn, "disconnect", reason);
  }

  onConnectFailed(conn: StreamConnection, reason: string, retryInMs: number): void {
    this.log.limited(`connect-failed:${conn.id.replace(/#\d+$/, "")}`, "warn", "connection attempt failed", {
      conn: conn.id,
      route: conn.route,
      reason,
      retry_in_ms: Math.round(retryInMs),
    });
  }

  onRejectedFrame(conn: StreamConnection, reason: string): void {
    this.counts.badFrames++;
    this.log.limited(`bad-frame:${conn.id}`, "warn", "frame rejected", { conn: conn.id, reason });
  }

  onFrame(conn: StreamConnection, text: string, recvTsMs: number): void {
    const t0 = performance.now();
    this.counts.frames++;
    // Hot path: the scanner reads the two frame shapes Binance sends straight into an event, exactly
    // as JSON.parse + parseData would (test/unit/scanner*.test.ts); anything else takes the slow path.
    const k = scanFrame(text, this.scan);
    if (k !== SCAN_FALLBACK) {
      const stream = text.slice(this.scan.streamStart, this.scan.streamEnd);
      const symbol = this.gate.symbolOf(stream);
      if (symbol !== undefined) {
        // Owned copies: a frame may wait behind a backfill while the scanner's events are reused.
        const event = k === SCAN_AGG_TRADE ? this.scan.ownTradeEvent(symbol) : this.scan.ownDepthEvent(symbol);
        return this.accept(conn, stream, symbol, recvTsMs, t0, event, undefined, text.slice(this.scan.dataStart, this.scan.dataEnd));
      }
    }
    let wrapper: unknown;
    try {
      wrapper = JSON.parse(text);
    } catch {
      return this.onRejectedFrame(conn, `not JSON: ${text.slice(0, 80)}`);
    }
    if (typeof wrapper !== "object" || wrapper === null || Array.isArray(wrapper)) return this.onRejectedFrame(conn, `not a JSON object: ${text.slice(0, 80)}`);
    const w = wrapper as Record<string, unknown>;
    if ("result" in w && "id" in w) {
      this.counts.controlResponses++;
      return;
    }
    const stream = w.stream;
    if (typeof stream !== "string" || !this.gate.has(stream)) {
      this.counts.unexpectedFrames++;
      this.log.limited(`unexpected:${conn.id}`, "warn", "unexpected frame", { conn: conn.id, frame: text.slice(0, 120) });
      return;
    }
    this.accept(conn, stream, this.gate.symbolOf(stream)!, recvTsMs, t0, null, w.data, rawDataText(text, w as { readonly stream: string; readonly data: unknown }));
  }

  /** Bookkeeping of a frame of a subscribed stream, then the gate. `event` is set when scanned. */
  private accept(conn: StreamConnection, stream: string, symbol: string, recvTsMs: number, t0: number, event: MarketEvent | null, data: unknown, dataText: string): void {
    const st = this.stats.get(symbol)!;
    st.frames++;
    st.lastFrameAtMs = recvTsMs;
    if (stream.endsWith("@aggTrade")) st.lastTradeAtMs = recvTsMs;
    else st.lastDepthAtMs = recvTsMs;
    const sec = Math.floor(recvTsMs / 1000);
    if (sec !== st.sec) {
      st.prevSecFrames = sec === st.sec + 1 ? st.secFrames : 0;
      st.secFrames = 0;
      st.sec = sec;
    }
    st.secFrames++;
    // Event latency at receipt (a frame held behind a backfill waits for reasons of ours, not the exchange's).
    const E = event !== null ? event.eventTime : eventTime(data);
    if (E !== null) st.eventLatencyMs.record(recvTsMs - E);
    const f: RoutedFrame = { stream, socket: conn.socket, recvTsMs, event, data, dataText, t0 };
    this.gate.offer(f);
  }

  // ------------------------------------------------------------------------------------------------
  // GateOutput: each call writes one line and applies it, in that order of calls.

  frame(symbol: string, _kind: StreamKind, gf: GateFrame, held: boolean): void {
    const f = gf as RoutedFrame;
    const st = this.stats.get(symbol)!;
    const ts = this.stamp(st, held ? Date.now() : f.recvTsMs);
    const engine = this.engines.get(symbol)!;
    const ev = f.event;
    if (ev !== null) {
      // Already parsed by the scanner: the same event applyData would have built.
      if (ev.kind === "aggTrade") engine.onTrade(ev, ts, false);
      else engine.onDepth(ev, ts);
    } else {
      const outcome = applyData(engine, symbol, f.stream, f.data, ts, false);
      if (typeof outcome === "object") {
        st.badFrames++;
        this.counts.badFrames++;
        this.log.limited(`bad-data:${symbol}`, "warn", "malformed payload", { stream: f.stream, reason: outcome.bad });
      }
    }
    const E = ev !== null ? ev.eventTime : eventTime(f.data);
    const pipelineMs = Math.round((performance.now() - f.t0) * 1000) / 1000;
    st.pipelineLatencyMs.record(pipelineMs);
    // Written even when the payload was malformed, so replay sees (and rejects) exactly the same frames.
    this.ndjson.append(symbol, ts, dataLine(ts, f.stream, E === null ? null : ts - E, pipelineMs, f.dataText));
  }

  backfill(symbol: string, stream: string, dataText: string): void {
    const ts = this.stamp(this.stats.get(symbol)!, Date.now());
    applyRecord(this.engines.get(symbol)!, symbol, { ts_recv: ts, event: "backfill", stream, data: JSON.parse(dataText) as unknown });
    this.ndjson.append(symbol, ts, backfillLine(ts, stream, dataText));
  }

  gap(symbol: string, stream: string, fromId: number, toId: number): void {
    const ts = this.stamp(this.stats.get(symbol)!, Date.now());
    applyRecord(this.engines.get(symbol)!, symbol, { ts_recv: ts, event: "gap", stream, from_id: fromId, to_id: toId });
    this.ndjson.append(symbol, ts, gapLine(ts, stream, fromId, toId));
  }

  /** `ts_recv` for the next line of a symbol: never before the previous line's. */
  private stamp(st: SymbolFeedStats, ts: number): number {
    if (ts < st.lastLineTsMs) ts = st.lastLineTsMs;
    st.lastLineTsMs = ts;
    return ts;
  }

  /** A connection event concerns every symbol the connection carries: log it and apply it to each. */
  private control(conn: StreamConnection, event: "connect" | "disconnect", reason?: string): void {
    this.log.log(event === "connect" ? "info" : "warn", event, { conn: conn.id, route: conn.route, reason });
    const symbols = new Set<string>();
    for (const s of conn.streams) {
      const sp = parseStreamName(s);
      if (sp !== null) symbols.add(sp.symbol);
    }
    for (const symbol of symbols) {
      const engine = this.engines.get(symbol);
      if (engine === undefined) continue;
      const now = this.stamp(this.stats.get(symbol)!, Date.now());
      const line = connectionLine(now, event, conn.route, conn.id, reason);
      applyRecord(engine, symbol, { ts_recv: now, event, route: conn.route });
      this.ndjson.append(symbol, now, line);
    }
  }
}

function eventTime(data: unknown): number | null {
  if (typeof data !== "object" || data === null) return null;
  const E = (data as { E?: unknown }).E;
  return typeof E === "number" ? E : null;
}
