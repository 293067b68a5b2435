/**
 * The NDJSON raw-log line format (docs/storage.md, "Raw log"): one line per received frame, plus
 * control lines. Written by the live run, read back by replay through the adapter's decoder. The
 * `data` of a line is the exchange's payload text exactly as received.
 */
import type { Route } from "./market-events.ts";

export type ControlEvent = "session" | "connect" | "disconnect" | "gap" | "backfill" | "depth_snapshot" | "depth_snapshot_error" | "lines_lost";

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

/** A data line. `dataText` is the exact payload text as received; `latencyPipelineMs` is written to the µs. */
export function dataLine(tsRecv: number, stream: string, latencyEventMs: number | null, latencyPipelineMs: number, dataText: string): string {
  return `{"ts_recv":${tsRecv},"stream":${quoted(stream)},"latency_event_ms":${latencyEventMs ?? "null"},"latency_pipeline_ms":${toMicros(latencyPipelineMs)},"data":${dataText}}`;
}

function toMicros(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * Bytes of a data line's text without its payload (the head and the closing brace): a buffer with
 * this much room plus three bytes per payload character always holds the line.
 */
export const DATA_LINE_MAX_OVERHEAD = 256;

/** Room that always holds `writeDataLine`'s bytes: 3 UTF-8 bytes a payload character, 6 a stream character (a \u escape). */
export function maxDataLineBytes(stream: string, dataText: string): number {
  return dataText.length * 3 + stream.length * 6 + DATA_LINE_MAX_OVERHEAD;
}

/** The UTF-8 bytes `dataLine` would give, written into `out` at `at`; returns the offset after them. */
export function writeDataLine(out: Buffer, at: number, tsRecv: number, stream: string, latencyEventMs: number | null, latencyPipelineMs: number, dataText: string): number {
  // The collector writes one of these per frame: building the string and encoding it later cost
  // about three times as much (the strings live until the flush; docs/performance.md).
  let n = at;
  out.set(HEAD_TS, n);
  n = writeNumber(out, n + HEAD_TS.length, tsRecv);
  const streamHead = streamHeadBytes(stream);
  out.set(streamHead, n);
  n += streamHead.length;
  if (latencyEventMs === null) {
    out.set(NULL_BYTES, n);
    n += NULL_BYTES.length;
  } else {
    n = writeNumber(out, n, latencyEventMs);
  }
  out.set(HEAD_PIPELINE, n);
  n += HEAD_PIPELINE.length;
  const micros = Math.round(latencyPipelineMs * 1000);
  n = micros >= 0 && micros < 1e12 ? writeMillisFromMicros(out, n, micros) : writeNumber(out, n, toMicros(latencyPipelineMs));
  out.set(HEAD_DATA, n);
  n += HEAD_DATA.length;
  n += out.write(dataText, n, "utf8");
  out[n] = 0x7d; // }
  return n + 1;
}

const HEAD_TS = Buffer.from(`{"ts_recv":`, "latin1");
const HEAD_PIPELINE = Buffer.from(`,"latency_pipeline_ms":`, "latin1");
const HEAD_DATA = Buffer.from(`,"data":`, "latin1");
const NULL_BYTES = Buffer.from("null", "latin1");
const streamHeads = new Map<string, Buffer>();

function streamHeadBytes(stream: string): Buffer {
  let b = streamHeads.get(stream);
  if (b === undefined) {
    b = Buffer.from(`,"stream":${quoted(stream)},"latency_event_ms":`, "utf8");
    if (streamHeads.size < MAX_QUOTED) streamHeads.set(stream, b);
  }
  return b;
}

const digits = new Uint8Array(20);

/** A number as JavaScript prints it: integers by hand, anything else through String(). */
function writeNumber(out: Buffer, at: number, v: number): number {
  if (!Number.isSafeInteger(v) || Object.is(v, -0)) return at + out.write(String(v), at, "latin1");
  let n = at;
  if (v < 0) {
    out[n++] = 0x2d;
    v = -v;
  }
  let d = 0;
  do {
    const q = Math.floor(v / 10);
    digits[d++] = 0x30 + (v - q * 10);
    v = q;
  } while (v > 0);
  while (d > 0) out[n++] = digits[--d]!;
  return n;
}

/** `micros / 1000` as JavaScript prints it (no trailing zeros): a whole number of µs prints exactly. */
function writeMillisFromMicros(out: Buffer, at: number, micros: number): number {
  const whole = Math.floor(micros / 1000);
  let n = writeNumber(out, at, whole);
  let frac = micros - whole * 1000;
  if (frac === 0) return n;
  out[n++] = 0x2e;
  const d0 = Math.floor(frac / 100);
  frac -= d0 * 100;
  const d1 = Math.floor(frac / 10);
  const d2 = frac - d1 * 10;
  out[n++] = 0x30 + d0;
  if (d1 !== 0 || d2 !== 0) out[n++] = 0x30 + d1;
  if (d2 !== 0) out[n++] = 0x30 + d2;
  return n;
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
 * A REST depth snapshot (full-depth mode) where its answer arrived among the diffs: `data` is the exact
 * response text, `limit` the one requested (a side with fewer levels was complete). Replay hands it to
 * the book at the same place, so it reaches the same decision (applied, waiting, stale or not needed).
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


/**
 * Lines of one symbol's hour file that the writer could not keep (docs/storage.md, "Lines lost"):
 * dropped at the memory bound while the disk refused or lagged, or still unwritten when the process
 * stopped. `lines` counts them all; `streams` the data lines among them per stream, `control` the
 * control lines; `fromTs`/`toTs` are the first and last of their receipt times.
 */
export interface LinesLost {
  readonly lines: number;
  readonly fromTs: number;
  readonly toTs: number;
  readonly streams: Readonly<Record<string, number>>;
  readonly control: number;
}

/**
 * The `lines_lost` control line: written into the hour file the lines belonged to, once a write
 * succeeds again (or at the stop, best effort). Replay counts it and warns (it changes nothing).
 */
export function linesLostLine(tsRecv: number, lost: LinesLost): string {
  const streams = Object.keys(lost.streams)
    .sort()
    .map((s) => `${JSON.stringify(s)}:${lost.streams[s]}`)
    .join(",");
  return `{"ts_recv":${tsRecv},"event":"lines_lost","lines":${lost.lines},"from_ts":${lost.fromTs},"to_ts":${lost.toTs},"streams":{${streams}},"control":${lost.control}}`;
}

const LINES_LOST_HEAD = /^\{"ts_recv":-?\d+(?:\.\d+)?,"event":"lines_lost"/;

/** The figures of a `lines_lost` line, or null for any other line (cheap for those: a prefix test). */
export function linesLostOf(line: string): LinesLost | null {
  if (!LINES_LOST_HEAD.test(line)) return null;
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  const { lines, from_ts: fromTs, to_ts: toTs, control } = r;
  if (typeof lines !== "number" || typeof fromTs !== "number" || typeof toTs !== "number") return null;
  const streams: Record<string, number> = {};
  if (typeof r.streams === "object" && r.streams !== null) {
    for (const [k, v] of Object.entries(r.streams)) if (typeof v === "number") streams[k] = v;
  }
  return { lines, fromTs, toTs, streams, control: typeof control === "number" ? control : 0 };
}
