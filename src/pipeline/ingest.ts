/**
 * Live ingest: each record the exchange adapter passes forward (core/feed.ts) becomes one raw-log
 * line and is applied to its symbol's processor, in one synchronous step, so the log's line order
 * is exactly the order the engines saw (docs/indicators.md §15).
 *
 * `ts_recv` of a line is the receipt time of its frame, except that it never goes backwards within a
 * symbol's log: a frame that waited behind a backfill, a backfilled trade and a gap line carry the
 * time they were written (so hour files stay in order and replay feeds the engines the same times).
 */
import { DISCONNECT_SHUTDOWN, type AcceptedFrame, type FeedOutput } from "../core/feed.ts";
import type { MarketEvent, Route } from "../core/market-events.ts";
import { backfillLine, connectionLine, depthSnapshotErrorLine, depthSnapshotLine, gapLine } from "../core/raw-log.ts";
import { parseSnapshot } from "./venue.ts";
import { RecentHistogram } from "../util/recent-histogram.ts";
import { applyEvent } from "./apply.ts";
import type { Pipeline } from "./pipeline.ts";

/** What ingest measures per symbol. */
export interface IngestStats {
  /** Receipt to applied and logged: lifetime (/metrics) and the last minute (/api/status). */
  readonly pipelineLatencyMs: RecentHistogram;
  /** `ts_recv` of the last line written (lines never go back in time). */
  lastLineTsMs: number;
}

/** A hole in a trade-id sequence the feed gave up on (written as a `gap` line). */
export interface TradeGap {
  readonly tsMs: number;
  readonly symbol: string;
  readonly stream: string;
  readonly fromId: number;
  readonly toId: number;
}

/** Gaps given up since a time, as /health tells them. */
export interface RecentGaps {
  readonly gaps: readonly TradeGap[];
  /** False when gaps of that span were let go (more than GAPS_KEPT): the figures are then lower bounds. */
  readonly complete: boolean;
}

/** The gaps /health looks back over are kept this long at most (health.drop_alert_sec is shorter). */
const GAPS_KEPT_MS = 3_600_000;
/** …and at most this many (a storm of gaps is counted from these, told as "at least"). */
export const GAPS_KEPT = 1_000;

export class Ingest implements FeedOutput {
  readonly stats = new Map<string, IngestStats>();
  /** Recent trade-id gaps, oldest first: data the exchange had and this run did not get (/health names them). */
  private readonly gaps: TradeGap[] = [];
  /** Time of the newest gap let go for the GAPS_KEPT bound (0: none). */
  private gapsLetGoUntilMs = 0;

  constructor(
    symbols: readonly string[],
    private readonly pipeline: Pipeline,
  ) {
    for (const s of symbols) this.addSymbol(s);
  }

  /** A symbol to take records of (at the start, or a new listing while running). */
  addSymbol(symbol: string): void {
    if (this.stats.has(symbol)) return;
    this.stats.set(symbol, { pipelineLatencyMs: new RecentHistogram(), lastLineTsMs: 0 });
    this.pipeline.processor(symbol);
  }

  frame(symbol: string, f: AcceptedFrame, held: boolean): void {
    const st = this.stats.get(symbol)!;
    const ts = stamp(st, held ? Date.now() : f.recvTsMs);
    const ev = f.event;
    if (ev !== null) applyEvent(this.pipeline.processor(symbol), ev, ts, false);
    const E = ev !== null ? ev.eventTime : null;
    // Rounded to the µs where the line is written (core/raw-log.ts), not here as well.
    const pipelineMs = performance.now() - f.t0;
    // In the window by the time it was done: receipt, or now for a frame held behind a backfill.
    st.pipelineLatencyMs.recordAt(pipelineMs, held ? ts : f.recvTsMs);
    // Written even when the payload was malformed, so replay sees (and rejects) exactly the same frames.
    this.pipeline.lines.appendData(symbol, ts, f.stream, E === null ? null : ts - E, pipelineMs, f.dataText);
  }

  backfill(symbol: string, stream: string, dataText: string, event: MarketEvent | null): void {
    const ts = stamp(this.stats.get(symbol)!, Date.now());
    if (event !== null) applyEvent(this.pipeline.processor(symbol), event, ts, true);
    this.pipeline.lines.append(symbol, ts, backfillLine(ts, stream, dataText));
  }

  gap(symbol: string, stream: string, fromId: number, toId: number): void {
    const ts = stamp(this.stats.get(symbol)!, Date.now());
    this.pipeline.lines.append(symbol, ts, gapLine(ts, stream, fromId, toId));
    this.gaps.push({ tsMs: ts, symbol, stream, fromId, toId });
    while (this.gaps.length > 0 && ts - this.gaps[0]!.tsMs > GAPS_KEPT_MS) this.gaps.shift();
    while (this.gaps.length > GAPS_KEPT) this.gapsLetGoUntilMs = this.gaps.shift()!.tsMs;
  }

  /** Trade-id gaps written since `sinceMs` (oldest first), and whether every one of them was kept. */
  gapsSince(sinceMs: number): RecentGaps {
    const i = this.gaps.findIndex((g) => g.tsMs >= sinceMs);
    return { gaps: i < 0 ? [] : this.gaps.slice(i), complete: this.gapsLetGoUntilMs < sinceMs };
  }

  /** Full-depth mode: a snapshot answer is written where it arrived among the diffs, so replay hands it to the book there too. */
  depthSnapshot(symbol: string, stream: string, limit: number, body: string | null, error: string | null): void {
    const ts = stamp(this.stats.get(symbol)!, Date.now());
    if (body === null) {
      this.pipeline.lines.append(symbol, ts, depthSnapshotErrorLine(ts, stream, error ?? "failed"));
      return;
    }
    const p = parseSnapshot(body, limit);
    this.pipeline.processor(symbol).onDepthSnapshot(p.ok ? p.snapshot : null, ts);
    // The exact text when it fits on one line (Binance sends it so); what does not parse is recorded as an error.
    if (!p.ok) this.pipeline.lines.append(symbol, ts, depthSnapshotErrorLine(ts, stream, `${p.reason}: ${body.slice(0, 120)}`));
    else this.pipeline.lines.append(symbol, ts, depthSnapshotLine(ts, stream, limit, /[\r\n]/.test(body) ? JSON.stringify(JSON.parse(body)) : body));
  }

  connection(symbol: string, event: "connect" | "disconnect", route: Route, connId: string, reason?: string): void {
    const ts = stamp(this.stats.get(symbol)!, Date.now());
    if (event === "disconnect" && reason !== DISCONNECT_SHUTDOWN) this.pipeline.processor(symbol).onDisconnect(route);
    this.pipeline.lines.append(symbol, ts, connectionLine(ts, event, route, connId, reason));
  }
}

/** `ts_recv` for the next line of a symbol: never before the previous line's. */
function stamp(st: IngestStats, ts: number): number {
  if (ts < st.lastLineTsMs) ts = st.lastLineTsMs;
  st.lastLineTsMs = ts;
  return ts;
}
