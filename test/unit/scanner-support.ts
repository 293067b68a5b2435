/**
 * Frame corpora and the reference check for the frame scanner's tests (and the parse benchmark).
 *
 * Corpora, all from the real recordings in ../shared/fixtures/binance (read in place):
 *   - derived aggTrade frames: the exact recorded texts (cryptofeed derived/*.ndjson);
 *   - every combined frame of the cryptofeed ws recordings (aggTrade, diff depth, bookTicker, kline);
 *   - every line of the hftbacktest files (diff depth@0ms, bookTicker, trade, markPrice, one REST body);
 *   - depth5@100ms and aggTrade frames exactly as the fake exchange renders them, folded from the
 *     recorded diff depth of every served recording (test/fake-exchange/script.ts), two loops each.
 *
 * `checkFrame` is the contract of src/exchange/binance/scanner.ts: it throws unless the scanner either falls back
 * or yields exactly what JSON.parse + parseStreamName + parseData + rawDataText yield.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { AggTradeEvent, DepthEvent, MarketEvent } from "../../src/core/market-events.ts";
import { parseData, rawDataText } from "../../src/exchange/binance/frame-parser.ts";
import { FrameScan, SCAN_AGG_TRADE, SCAN_DEPTH, SCAN_FALLBACK, scanDataLine, scanFrame } from "../../src/exchange/binance/scanner.ts";
import { parseStreamName } from "../../src/exchange/binance/streams.ts";
import { REAL_SYMBOLS, recordingIdOf } from "../fake-exchange/fixtures.ts";
import { makeTrack, renderItem } from "../fake-exchange/replay.ts";
import { recordingScripts } from "../fake-exchange/script.ts";
import { prng } from "../helpers/prng.ts";
export { prng };

export const FIXTURES = join(import.meta.dir, "..", "..", "..", "shared", "fixtures", "binance");

const lines = (text: string) => text.split("\n").filter((l) => l.length > 0);

/** The 850 recorded aggTrade frames, byte for byte. */
export function derivedAggTradeFrames(): string[] {
  const dir = join(FIXTURES, "cryptofeed", "derived");
  return ["2021-04-05_5sym_aggTrade.frames.ndjson", "2021-04-17_4sym_aggTrade.frames.ndjson", "2021-07-22_4sym_aggTrade.frames.ndjson"].flatMap((f) =>
    lines(readFileSync(join(dir, f), "utf8")),
  );
}

/** Every data frame of the cryptofeed WebSocket recordings (`<recv>: <frame>` lines). */
export function cryptofeedFrames(): string[] {
  const dir = join(FIXTURES, "cryptofeed");
  const out: string[] = [];
  for (const f of ["BINANCE_FUTURES-1125a2.0", "BINANCE_FUTURES.ws.5.0", "BINANCE_FUTURES.ws.1.0"]) {
    for (const l of lines(readFileSync(join(dir, f), "utf8"))) {
      const m = /^[0-9.]+: (\{.*)$/.exec(l);
      if (m !== null) out.push(m[1]!);
    }
  }
  return out;
}

/** Every frame of the hftbacktest recordings (`<recv> <frame>` lines), the REST body included. */
export function hftbacktestFrames(): string[] {
  const dir = join(FIXTURES, "hftbacktest");
  const out: string[] = [];
  for (const f of ["btcusdt_20240808.gz", "ethusdt_20240808.gz", "btcusdt_20240718.gz", "btcusdt_20230404.dat.gz"]) {
    for (const l of lines(gunzipSync(readFileSync(join(dir, f))).toString("utf8"))) out.push(l.slice(l.indexOf(" ") + 1));
  }
  return out;
}

/** Arbitrary but realistic wall-clock base for the fake exchange's `E` (ms). */
const E_BASE = 1_763_000_000_000;

/**
 * depth5@100ms and aggTrade frames of every real symbol as the fake exchange sends them, for `loops`
 * passes of each recording (ids shifted per loop). In recorded order per symbol.
 */
export function scriptFrames(loops = 2, symbols: readonly string[] = REAL_SYMBOLS): { readonly depth: string[]; readonly aggTrade: string[] } {
  const depth: string[] = [];
  const aggTrade: string[] = [];
  for (const symbol of symbols) {
    const script = recordingScripts(recordingIdOf(symbol)!).get(symbol)!;
    const track = makeTrack(symbol, script, 0, 0);
    for (let loop = 0; loop < loops; loop++) {
      for (const item of script.items) {
        const E = E_BASE + loop * script.period + item.t;
        const f = renderItem(track, item, loop, E, E - item.lag);
        (item.kind === "depth" ? depth : aggTrade).push(`{"stream":"${f.stream}","data":${f.data}}`);
      }
    }
  }
  return { depth, aggTrade };
}

const same = (a: unknown, b: unknown): boolean => Object.is(a, b);

function sameLevels(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function diffEvent(got: MarketEvent, want: MarketEvent): string | null {
  if (got.kind !== want.kind) return `kind ${got.kind} != ${want.kind}`;
  for (const k of Object.keys(want) as (keyof MarketEvent)[]) {
    const g = got[k] as unknown;
    const w = want[k] as unknown;
    if (w instanceof Float64Array) {
      if (!(g instanceof Float64Array) || !sameLevels(g, w)) return `${k}: [${String(g)}] != [${String(w)}]`;
    } else if (!same(g, w)) return `${k}: ${String(g)} != ${String(w)}`;
  }
  if (Object.keys(got).length !== Object.keys(want).length) return "different field sets";
  return null;
}

const show = (text: string) => JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}…` : text);

/**
 * Scans `text` and checks the scanner's contract against the reference path. Returns what the scanner
 * did; throws with the frame and the first difference when it claims a result the reference disagrees with.
 */
export function checkFrame(text: string, scan: FrameScan): "scanned" | "fallback" {
  const k = scanFrame(text, scan);
  if (k === SCAN_FALLBACK) return "fallback";
  const fail = (why: string): never => {
    throw new Error(`scanner result differs from JSON.parse+parseData (${why}) on ${show(text)}`);
  };
  let w: unknown;
  try {
    w = JSON.parse(text);
  } catch {
    return fail("JSON.parse rejects the frame");
  }
  if (typeof w !== "object" || w === null || Array.isArray(w)) return fail("not an object");
  const keys = Object.keys(w);
  if (keys.length !== 2 || keys[0] !== "stream" || keys[1] !== "data") return fail(`wrapper keys ${keys.join(",")}`);
  const wrapper = w as { stream: unknown; data: unknown };
  if (typeof wrapper.stream !== "string") return fail("stream not a string");
  if (text.slice(scan.streamStart, scan.streamEnd) !== wrapper.stream) return fail("stream span");
  const sp = parseStreamName(wrapper.stream);
  if (sp === null) return fail("parseStreamName rejects the stream");
  if (sp.kind !== (k === SCAN_AGG_TRADE ? "aggTrade" : "depth")) return fail(`kind ${sp.kind}`);
  const r = parseData(sp.kind, sp.symbol, wrapper.data);
  if (!r.ok) return fail(`parseData rejects: ${r.reason}`);
  const got: AggTradeEvent | DepthEvent = k === SCAN_DEPTH ? scan.depthEvent(sp.symbol) : scan.tradeEvent(sp.symbol);
  const d = diffEvent(got, r.event);
  if (d !== null) return fail(d);
  if (text.slice(scan.dataStart, scan.dataEnd) !== rawDataText(text, wrapper as { stream: string; data: unknown })) return fail("payload span");
  return "scanned";
}

/**
 * Scans a raw-log line and checks scanDataLine's contract against what replay does with it today:
 * JSON.parse, then applyRecord (numeric `ts_recv`, no `event`) → applyData (parseStreamName,
 * parseData). Returns what the scanner did; throws on any disagreement.
 */
export function checkDataLine(line: string, scan: FrameScan): "scanned" | "fallback" {
  const k = scanDataLine(line, scan);
  if (k === SCAN_FALLBACK) return "fallback";
  const fail = (why: string): never => {
    throw new Error(`scanDataLine result differs from JSON.parse+applyRecord (${why}) on ${show(line)}`);
  };
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    return fail("JSON.parse rejects the line");
  }
  if (typeof rec !== "object" || rec === null || Array.isArray(rec)) return fail("not an object");
  const r = rec as Record<string, unknown>;
  if (typeof r.ts_recv !== "number" || !Object.is(r.ts_recv, scan.tsRecv)) return fail(`ts_recv ${String(r.ts_recv)} != ${scan.tsRecv}`);
  if (r.event !== undefined) return fail("a control line");
  if (typeof r.stream !== "string" || line.slice(scan.streamStart, scan.streamEnd) !== r.stream) return fail("stream span");
  const sp = parseStreamName(r.stream);
  if (sp === null) return fail("parseStreamName rejects the stream");
  if (sp.kind !== (k === SCAN_AGG_TRADE ? "aggTrade" : "depth")) return fail(`kind ${sp.kind}`);
  const res = parseData(sp.kind, sp.symbol, r.data);
  if (!res.ok) return fail(`parseData rejects: ${res.reason}`);
  const d = diffEvent(k === SCAN_DEPTH ? scan.depthEvent(sp.symbol) : scan.tradeEvent(sp.symbol), res.event);
  if (d !== null) return fail(d);
  let payload: unknown;
  try {
    payload = JSON.parse(line.slice(scan.dataStart, scan.dataEnd));
  } catch {
    return fail("payload span is not JSON");
  }
  if (JSON.stringify(payload) !== JSON.stringify(r.data)) return fail("payload span");
  return "scanned";
}

/** True when the reference path turns the frame into an aggTrade or depth event. */
export function referenceParses(text: string): boolean {
  let w: { stream?: unknown; data?: unknown };
  try {
    w = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof w !== "object" || w === null || typeof w.stream !== "string") return false;
  const sp = parseStreamName(w.stream);
  return sp !== null && parseData(sp.kind, sp.symbol, w.data).ok;
}

