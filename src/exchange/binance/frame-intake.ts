/**
 * The first step of a Binance frame: from a connection to the stream gate. The frame scanner reads
 * the two frame shapes Binance sends straight into an event; anything else is JSON-parsed and parsed
 * by the frame parser, so every frame reaches the gate with its event or its rejection reason.
 * Malformed or unexpected frames are counted, logged (rate-limited) and skipped; nothing in a frame
 * can stop the collector. Connection events go forward as one record per symbol the connection carries.
 */
import { STOPPED_BY_US, type ConnectionListener, type StreamConnection } from "./connection.ts";
import type { FeedOutput, SymbolFeedStats } from "../../core/feed.ts";
import type { MarketEvent } from "../../core/market-events.ts";
import { parseData, rawDataText } from "./frame-parser.ts";
import { FrameScan, SCAN_AGG_TRADE, SCAN_FALLBACK, scanFrame } from "./scanner.ts";
import type { GateFrame, StreamGate } from "./stream-gate.ts";
import { parseStreamName } from "./streams.ts";
import { RecentHistogram } from "../../util/recent-histogram.ts";
import type { Logger } from "../../util/log.ts";

export interface FrameCounts {
  frames: number;
  badFrames: number;
  unexpectedFrames: number;
  controlResponses: number;
}

export class FrameIntake implements ConnectionListener {
  readonly stats = new Map<string, SymbolFeedStats>();
  readonly counts: FrameCounts = { frames: 0, badFrames: 0, unexpectedFrames: 0, controlResponses: 0 };
  private readonly scan = new FrameScan();

  constructor(
    symbols: readonly string[],
    private readonly gate: StreamGate,
    private readonly out: FeedOutput,
    private readonly log: Logger,
  ) {
    for (const s of symbols) {
      this.stats.set(s, {
        frames: 0,
        badFrames: 0,
        lastFrameAtMs: 0,
        lastDepthAtMs: 0,
        lastTradeAtMs: 0,
        eventLatencyMs: new RecentHistogram(),
        secFrames: 0,
        prevSecFrames: 0,
        sec: 0,
      });
    }
  }

  onConnect(conn: StreamConnection, reason?: string): void {
    this.connection(conn, "connect", reason);
  }

  onDisconnect(conn: StreamConnection, reason: string): void {
    this.connection(conn, "disconnect", reason);
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
    // Hot path: the scanner yields exactly what JSON.parse + parseData would (test/unit/scanner*.test.ts).
    const k = scanFrame(text, this.scan);
    if (k !== SCAN_FALLBACK) {
      const stream = text.slice(this.scan.streamStart, this.scan.streamEnd);
      const symbol = this.gate.symbolOf(stream);
      if (symbol !== undefined) {
        // Owned copies: a frame may wait behind a backfill while the scanner's events are reused.
        const event = k === SCAN_AGG_TRADE ? this.scan.ownTradeEvent(symbol) : this.scan.ownDepthEvent(symbol);
        return this.accept(conn, stream, symbol, recvTsMs, t0, event, null, undefined, text.slice(this.scan.dataStart, this.scan.dataEnd));
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
    const sp = typeof stream === "string" && this.gate.has(stream) ? parseStreamName(stream) : null;
    if (sp === null) {
      this.counts.unexpectedFrames++;
      this.log.limited(`unexpected:${conn.id}`, "warn", "unexpected frame", { conn: conn.id, frame: text.slice(0, 120) });
      return;
    }
    const parsed = parseData(sp.kind, sp.symbol, w.data);
    const dataText = rawDataText(text, w as { readonly stream: string; readonly data: unknown });
    if (!parsed.ok) {
      // Still logged and passed on, so replay sees (and rejects) exactly the same frames.
      this.stats.get(sp.symbol)!.badFrames++;
      this.counts.badFrames++;
      this.log.limited(`bad-data:${sp.symbol}`, "warn", "malformed payload", { stream, reason: parsed.reason });
    }
    this.accept(conn, stream as string, sp.symbol, recvTsMs, t0, parsed.ok ? parsed.event : null, parsed.ok ? null : parsed.reason, w.data, dataText);
  }

  /** Bookkeeping of a frame of a subscribed stream, then the gate. */
  private accept(
    conn: StreamConnection,
    stream: string,
    symbol: string,
    recvTsMs: number,
    t0: number,
    event: MarketEvent | null,
    bad: string | null,
    data: unknown,
    dataText: string,
  ): void {
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
    if (E !== null) st.eventLatencyMs.recordAt(recvTsMs - E, recvTsMs);
    const f: GateFrame = { stream, socket: conn.socket, recvTsMs, t0, event, bad, data, dataText };
    this.gate.offer(f);
  }

  /** A connection event concerns every symbol the connection carries. */
  private connection(conn: StreamConnection, event: "connect" | "disconnect", reason?: string): void {
    // A connection closed at shutdown is not a warning: only one the exchange or the network took is.
    this.log.log(event === "connect" || reason === STOPPED_BY_US ? "info" : "warn", event, { conn: conn.id, route: conn.route, reason });
    const symbols = new Set<string>();
    for (const s of conn.streams) {
      const sp = parseStreamName(s);
      if (sp !== null && this.stats.has(sp.symbol)) symbols.add(sp.symbol);
    }
    for (const symbol of symbols) this.out.connection(symbol, event, conn.route, conn.id, reason);
  }
}

function eventTime(data: unknown): number | null {
  if (typeof data !== "object" || data === null) return null;
  const E = (data as { E?: unknown }).E;
  return typeof E === "number" ? E : null;
}
