/**
 * A record from the stream (one collector's raw-log line) as the store's stream gate takes it: the
 * frame exactly as that collector accepted it — payload text, receipt time, parsed event — so the
 * store's log and engines see what a collector with a perfect connection would have seen.
 *
 *  - data lines and `backfill` lines (a trade the collector recovered over REST) become frames
 *    of their stream; the gate keeps the first copy of each id, whichever collector sent it;
 *  - every other line (session, connect, disconnect, gap) is that collector's own story: counted
 *    per collector, never applied (the store's gate finds its own gaps, and another machine's
 *    disconnect says nothing about the data the store has).
 */
import type { MarketEvent } from "../../../core/market-events.ts";
import { parseData } from "../frame-parser.ts";
import { FrameScan, SCAN_AGG_TRADE, SCAN_FALLBACK, scanDataLine } from "../scanner.ts";
import type { GateFrame } from "../stream-gate.ts";
import { parseStreamName } from "../streams.ts";

export type RecordInput =
  | { readonly type: "frame"; readonly frame: GateFrame; readonly backfilled: boolean }
  | { readonly type: "control"; readonly event: string }
  | { readonly type: "bad"; readonly reason: string };

const scan = new FrameScan();

/** `socket` numbers the collector that published the record (the gate's overlap counters). */
export function recordInput(line: string, symbol: string, socket: number, t0: number): RecordInput {
  const k = scanDataLine(line, scan);
  if (k !== SCAN_FALLBACK) {
    const stream = line.slice(scan.streamStart, scan.streamEnd);
    const sp = parseStreamName(stream);
    if (sp === null || sp.symbol !== symbol) return { type: "bad", reason: `stream ${stream} is not ${symbol}'s` };
    const event: MarketEvent = k === SCAN_AGG_TRADE ? scan.ownTradeEvent(symbol) : scan.ownDepthEvent(symbol);
    const frame: GateFrame = { stream, recvTsMs: scan.tsRecv, t0, event, bad: null, dataText: line.slice(scan.dataStart, scan.dataEnd), socket, data: undefined };
    return { type: "frame", frame, backfilled: false };
  }
  let rec: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(line);
    if (typeof v !== "object" || v === null || Array.isArray(v)) return { type: "bad", reason: "not a JSON object" };
    rec = v as Record<string, unknown>;
  } catch {
    return { type: "bad", reason: "not valid JSON" };
  }
  const ts = rec.ts_recv;
  if (typeof ts !== "number") return { type: "bad", reason: "no numeric ts_recv" };
  const ev = rec.event;
  if (ev !== undefined && ev !== "backfill") return { type: "control", event: typeof ev === "string" ? ev : "?" };
  const stream = rec.stream;
  if (typeof stream !== "string") return { type: "bad", reason: "no stream" };
  const sp = parseStreamName(stream);
  if (sp === null || sp.symbol !== symbol) return { type: "bad", reason: `stream ${stream} is not ${symbol}'s` };
  // The payload text as the collector logged it: the last value of the line.
  const at = line.indexOf('"data":');
  const dataText = at < 0 ? "null" : line.slice(at + 7, -1);
  const parsed = parseData(sp.kind, symbol, rec.data);
  const frame: GateFrame = {
    stream,
    recvTsMs: ts,
    t0,
    event: parsed.ok ? parsed.event : null,
    bad: parsed.ok ? null : parsed.reason,
    dataText,
    socket,
    data: rec.data,
  };
  return { type: "frame", frame, backfilled: ev === "backfill" };
}
