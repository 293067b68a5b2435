/**
 * The NDJSON raw-log line format (docs/storage.md, "Raw log"): one line per received frame, plus
 * control lines. Written by the live run, read back by replay through the adapter's decoder. The
 * `data` of a line is the exchange's payload text exactly as received.
 */
import type { Route } from "./market-events.ts";

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

