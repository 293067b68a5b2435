/**
 * The NDJSON raw-log line format (docs/storage.md, "Raw log"): one line per received frame, plus
 * control lines. Written by the live run, read back by replay through the adapter's decoder. The
 * `data` of a line is the exchange's payload text exactly as received.
 */
import type { Route } from "./market-events.ts";

export type ControlEvent = "session" | "connect" | "disconnect" | "gap" | "backfill" | "depth_snapshot" | "depth_snapshot_error";

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

/**
 * A REST depth snapshot (full-depth mode) at the place it was applied: `data` is the exact response
 * text, `limit` the one requested (a side with fewer levels was complete). Replay applies it there.
 */
export function depthSnapshotLine(tsRecv: number, stream: string, limit: number, body: string): string {
  return `{"ts_recv":${tsRecv},"event":"depth_snapshot","stream":${JSON.stringify(stream)},"limit":${limit},"data":${body}}`;
}

/** A failed depth snapshot request (for the record; it changes nothing). */
export function depthSnapshotErrorLine(tsRecv: number, stream: string, error: string): string {
  return `{"ts_recv":${tsRecv},"event":"depth_snapshot_error","stream":${JSON.stringify(stream)},"error":${JSON.stringify(error)}}`;
}

export function backfillLine(tsRecv: number, stream: string, dataText: string): string {
  return `{"ts_recv":${tsRecv},"event":"backfill","stream":${JSON.stringify(stream)},"data":${dataText}}`;
}

