/**
 * Live ingest: takes frames from every connection, writes each one to its symbol's NDJSON raw log
 * and applies it to the symbol's engine, in arrival order. Malformed or unexpected frames are counted,
 * logged (rate-limited) and skipped; nothing in a frame can stop the collector.
 */
import type { ConnectionListener, StreamConnection } from "../feed/connection.ts";
import { rawDataText } from "../feed/frame-parser.ts";
import { parseStreamName } from "../feed/streams.ts";
import type { NdjsonSink } from "../sinks/ndjson/ndjson-sink.ts";
import { Histogram } from "../util/histogram.ts";
import type { Logger } from "../util/log.ts";
import { applyData, applyRecord, connectionLine, dataLine, type EngineInput } from "./raw-line.ts";

export interface SymbolFeedStats {
  frames: number;
  badFrames: number;
  lastFrameAtMs: number;
  readonly eventLatencyMs: Histogram;
  readonly pipelineLatencyMs: Histogram;
  /** Frames counted in the current and previous whole second, for messages/s. */
  secFrames: number;
  prevSecFrames: number;
  sec: number;
}

export interface FeedTotals {
  frames: number;
  badFrames: number;
  unexpectedFrames: number;
  controlResponses: number;
}

export class FrameRouter implements ConnectionListener {
  readonly stats = new Map<string, SymbolFeedStats>();
  readonly totals: FeedTotals = { frames: 0, badFrames: 0, unexpectedFrames: 0, controlResponses: 0 };

  constructor(
    private readonly engines: ReadonlyMap<string, EngineInput>,
    private readonly ndjson: NdjsonSink,
    private readonly log: Logger,
  ) {
    for (const s of engines.keys()) {
      this.stats.set(s, {
        frames: 0,
        badFrames: 0,
        lastFrameAtMs: 0,
        eventLatencyMs: new Histogram(),
        pipelineLatencyMs: new Histogram(),
        secFrames: 0,
        prevSecFrames: 0,
        sec: 0,
      });
    }
  }

  onConnect(conn: StreamConnection): void {
    this.control(conn, "connect");
  }

  onDisconnect(conn: StreamConnection, reason: string): void {
    this.control(conn, "disconnect", reason);
  }

  onRejectedFrame(conn: StreamConnection, reason: string): void {
    this.totals.badFrames++;
    this.log.limited(`bad-frame:${conn.id}`, "warn", "frame rejected", { conn: conn.id, reason });
  }

  onFrame(conn: StreamConnection, text: string, recvTsMs: number): void {
    const t0 = performance.now();
    this.totals.frames++;
    let wrapper: unknown;
    try {
      wrapper = JSON.parse(text);
    } catch {
      return this.onRejectedFrame(conn, `not JSON: ${text.slice(0, 80)}`);
    }
    if (typeof wrapper !== "object" || wrapper === null) return this.onRejectedFrame(conn, "not an object");
    const w = wrapper as Record<string, unknown>;
    if ("result" in w && "id" in w) {
      this.totals.controlResponses++;
      return;
    }
    const stream = w.stream;
    const sp = typeof stream === "string" ? parseStreamName(stream) : null;
    const engine = sp === null ? undefined : this.engines.get(sp.symbol);
    if (sp === null || engine === undefined || typeof stream !== "string") {
      this.totals.unexpectedFrames++;
      this.log.limited(`unexpected:${conn.id}`, "warn", "unexpected frame", { conn: conn.id, frame: text.slice(0, 120) });
      return;
    }
    const st = this.stats.get(sp.symbol)!;
    st.frames++;
    st.lastFrameAtMs = recvTsMs;
    const sec = Math.floor(recvTsMs / 1000);
    if (sec !== st.sec) {
      st.prevSecFrames = sec === st.sec + 1 ? st.secFrames : 0;
      st.secFrames = 0;
      st.sec = sec;
    }
    st.secFrames++;

    const outcome = applyData(engine, sp.symbol, stream, w.data, recvTsMs, false);
    if (typeof outcome === "object") {
      st.badFrames++;
      this.totals.badFrames++;
      this.log.limited(`bad-data:${sp.symbol}`, "warn", "malformed payload", { stream, reason: outcome.bad });
    }
    const data = w.data as Record<string, unknown> | null;
    const E = data !== null && typeof data === "object" && typeof data.E === "number" ? data.E : null;
    const latencyEvent = E === null ? null : recvTsMs - E;
    if (latencyEvent !== null) st.eventLatencyMs.record(latencyEvent);
    const pipelineMs = Math.round((performance.now() - t0) * 1000) / 1000;
    st.pipelineLatencyMs.record(pipelineMs);
    // Written even when the payload was malformed, so replay sees (and rejects) exactly the same frames.
    this.ndjson.append(sp.symbol, recvTsMs, dataLine(recvTsMs, stream, latencyEvent, pipelineMs, rawDataText(text, w as { readonly stream: string; readonly data: unknown })));
  }

  /** A connection event concerns every symbol the connection carries: log it and apply it to each. */
  private control(conn: StreamConnection, event: "connect" | "disconnect", reason?: string): void {
    const now = Date.now();
    this.log.log(event === "connect" ? "info" : "warn", event, { conn: conn.id, route: conn.route, reason });
    const symbols = new Set<string>();
    for (const s of conn.streams) {
      const sp = parseStreamName(s);
      if (sp !== null) symbols.add(sp.symbol);
    }
    for (const symbol of symbols) {
      const engine = this.engines.get(symbol);
      if (engine === undefined) continue;
      const line = connectionLine(now, event, conn.route, conn.id, reason);
      applyRecord(engine, symbol, { ts_recv: now, event, route: conn.route });
      this.ndjson.append(symbol, now, line);
    }
  }
}
