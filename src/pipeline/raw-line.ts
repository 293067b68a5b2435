/**
 * The NDJSON raw-log line format (product.md §6) — written by the live run, read by replay — and the
 * one place where a line is applied to a symbol's engine, so that replay reproduces live exactly
 * (indicators.md §15).
 */
import type { AggTradeEvent, DepthEvent, Route } from "../core/market-events.ts";
import { parseData, type ParseResult } from "../exchange/binance/frame-parser.ts";
import { parseStreamName } from "../exchange/binance/streams.ts";

/** What the per-symbol engine accepts; implemented by calc/symbol-engine.ts. */
export interface EngineInput {
  onDepth(ev: DepthEvent, recvTsMs: number): void;
  onTrade(ev: AggTradeEvent, recvTsMs: number, backfilled?: boolean): void;
  onDisconnect(route: Route): void;
}

export type ControlEvent = "session" | "connect" | "disconnect" | "gap" | "backfill";

/**
 * First line a process writes for each symbol: a new process starts with fresh indicator state, so
 * replay finishes the symbol's engine here and starts a new one (restarts replay exactly).
 */
export function sessionLine(tsRecv: number, version: string): string {
  return `{"ts_recv":${tsRecv},"event":"session","version":${JSON.stringify(version)}}`;
}

/** JSON string literals of stream names: a process sees a fixed set of them, one per line written. */
const quotedStreams = new Map<string, string>();
const MAX_QUOTED = 10_000;

function quoted(stream: string): string {
  let q = quotedStreams.get(stream);
  if (q === undefined) {
    q = JSON.stringify(stream);
    if (quotedStreams.size < MAX_QUOTED) quotedStreams.set(stream, q);
  }
  return q;
}

/** A data line. `dataText` is the exact payload text as received. */
export function dataLine(tsRecv: number, stream: string, latencyEventMs: number | null, latencyPipelineMs: number, dataText: string): string {
  return `{"ts_recv":${tsRecv},"stream":${quoted(stream)},"latency_event_ms":${latencyEventMs ?? "null"},"latency_pipeline_ms":${latencyPipelineMs},"data":${dataText}}`;
}

/** A connect/disconnect control line for one of the symbols the connection carries. */
export function connectionLine(tsRecv: number, event: "connect" | "disconnect", route: Route, conn: string, reason?: string): string {
  const r = reason === undefined ? "" : `,"reason":${JSON.stringify(reason)}`;
  return `{"ts_recv":${tsRecv},"event":"${event}","route":"${route}","conn":${JSON.stringify(conn)}${r}}`;
}

export function gapLine(tsRecv: number, stream: string, fromId: number, toId: number): string {
  return `{"ts_recv":${tsRecv},"event":"gap","stream":${JSON.stringify(stream)},"from_id":${fromId},"to_id":${toId}}`;
}

export function backfillLine(tsRecv: number, stream: string, dataText: string): string {
  return `{"ts_recv":${tsRecv},"event":"backfill","stream":${JSON.stringify(stream)},"data":${dataText}}`;
}

export type ApplyOutcome = "applied" | "control" | "session" | "ignored" | { readonly bad: string };

/**
 * Applies one raw-log record of `symbol`'s log (a parsed line, or the live equivalent) to that
 * symbol's engine. Returns what happened so callers can count it.
 */
export function applyRecord(engine: EngineInput, symbol: string, rec: Readonly<Record<string, unknown>>): ApplyOutcome {
  const tsRecv = rec.ts_recv;
  if (typeof tsRecv !== "number") return { bad: "line without numeric ts_recv" };
  const event = rec.event;
  if (event === undefined) return applyData(engine, symbol, rec.stream, rec.data, tsRecv, false);
  switch (event) {
    case "backfill": {
      const r = applyData(engine, symbol, rec.stream, rec.data, tsRecv, true);
      return r === "applied" ? "control" : r;
    }
    case "disconnect": {
      const route = rec.route;
      if (route !== "public" && route !== "market") return { bad: "disconnect without route" };
      engine.onDisconnect(route);
      return "control";
    }
    case "session":
      return "session";
    case "connect":
    case "gap":
      return "control";
    default:
      return { bad: `unknown event ${JSON.stringify(event)}` };
  }
}

/** Parses a stream payload of `symbol` and applies it; payloads of other symbols are ignored. */
export function applyData(
  engine: EngineInput,
  symbol: string,
  stream: unknown,
  data: unknown,
  tsRecv: number,
  backfilled: boolean,
): ApplyOutcome {
  if (typeof stream !== "string") return { bad: "frame without stream" };
  const sp = parseStreamName(stream);
  if (sp === null || sp.symbol !== symbol) return "ignored";
  const r: ParseResult = parseData(sp.kind, sp.symbol, data);
  if (!r.ok) return { bad: r.reason };
  if (r.event.kind === "depth") engine.onDepth(r.event, tsRecv);
  else engine.onTrade(r.event, tsRecv, backfilled);
  return "applied";
}
