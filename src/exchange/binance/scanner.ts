/**
 * Hand-written scanner for the two hot frame shapes of the live feed: combined-stream aggTrade and
 * depth (`{"stream":"<sym>@aggTrade"|"<sym>@depth…","data":{…}}`), and for the same payloads in the
 * NDJSON raw-log data lines replay reads. It reads the fields straight into a reusable event instead
 * of building the object tree `JSON.parse` builds and `parseData` then walks.
 *
 * Contract (checked against the reference path on every real fixture frame and on fuzzed ones,
 * test/unit/scanner*.test.ts): when `scanFrame` returns SCAN_AGG_TRADE or SCAN_DEPTH,
 *   - `JSON.parse(text)` succeeds and yields exactly `{stream, data}` (two keys, in that order);
 *   - `parseStreamName(stream)` has the same kind, and `parseData` succeeds with an event whose every
 *     field is identical (numbers bit for bit, including -0 and NaN);
 *   - `text.slice(dataStart, dataEnd)` equals `rawDataText(text, wrapper)`.
 * `scanDataLine` likewise agrees with JSON.parse + applyRecord → applyData on a `dataLine` line.
 * Anything else — whitespace, escapes, number forms other than plain integers, integers of more than 15
 * digits, duplicate or missing fields, values of an unexpected type, nested unknown values, truncation,
 * any other stream — returns SCAN_FALLBACK, and the caller takes the `JSON.parse` path, which also
 * produces the rejection reason. Falling back is always safe; being wrong never is.
 *
 * Numbers: integers accumulate exactly below 10^15 < 2^53. Decimal strings of at most 15 digits are
 * `m / 10^k` with m and 10^k exact doubles, so the one IEEE division is the correctly rounded value of
 * the decimal, i.e. exactly what `Number(string)` returns (the Clinger fast path); other strings go to
 * `Number()` itself. An empty string is NaN, as in parseData.
 *
 * docs/performance.md shows how frame-intake.ts and replay call it.
 */
import type { AggTradeEvent, DepthEvent } from "../../core/market-events.ts";

export const SCAN_FALLBACK = 0;
export const SCAN_AGG_TRADE = 1;
export const SCAN_DEPTH = 2;
export type ScanResult = typeof SCAN_FALLBACK | typeof SCAN_AGG_TRADE | typeof SCAN_DEPTH;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Levels up to this count get one cached array per count, so depth5 allocates nothing per frame. */
const CACHED_LEVEL_COUNTS = 64;
const EMPTY = new Float64Array(0);

/**
 * Output of `scanFrame`, reused frame after frame. The events are overwritten by the next scan: a
 * consumer must copy what it keeps (the engines do: BookTracker copies the levels, onTrade reads
 * scalars).
 */
export class FrameScan {
  /** `text.slice(streamStart, streamEnd)` is the stream name. */
  streamStart = 0;
  streamEnd = 0;
  /** `text.slice(dataStart, dataEnd)` is the exact payload text (what rawDataText returns). */
  dataStart = 0;
  dataEnd = 0;
  /** `ts_recv` of a raw-log line (scanDataLine only). */
  tsRecv = 0;
  readonly trade: Mutable<AggTradeEvent> = {
    kind: "aggTrade",
    symbol: "",
    eventTime: null,
    tradeTime: null,
    aggId: 0,
    price: Number.NaN,
    qty: Number.NaN,
    firstTradeId: null,
    lastTradeId: null,
    buyerIsMaker: null,
  };
  readonly depth: Mutable<DepthEvent> = {
    kind: "depth",
    symbol: "",
    eventTime: null,
    transactTime: null,
    firstId: null,
    lastId: 0,
    prevLastId: null,
    bids: EMPTY,
    asks: EMPTY,
  };
  /** Levels as scanned, grown on demand; copied into an exact-length array per side at the end. */
  bidBuf = new Float64Array(2 * 8);
  askBuf = new Float64Array(2 * 8);
  readonly bidArrays: Float64Array[] = [];
  readonly askArrays: Float64Array[] = [];

  /** The scanned aggTrade, labelled with its (upper-case) symbol. */
  tradeEvent(symbol: string): AggTradeEvent {
    this.trade.symbol = symbol;
    return this.trade;
  }

  /** The scanned depth message, labelled with its (upper-case) symbol. */
  depthEvent(symbol: string): DepthEvent {
    this.depth.symbol = symbol;
    return this.depth;
  }

  /** A copy of the scanned aggTrade that the next scan leaves alone (for frames that wait in a queue). */
  ownTradeEvent(symbol: string): AggTradeEvent {
    return { ...this.trade, symbol };
  }

  /** A copy of the scanned depth message, levels included, that the next scan leaves alone. */
  ownDepthEvent(symbol: string): DepthEvent {
    const d = this.depth;
    return { ...d, symbol, bids: d.bids.slice(), asks: d.asks.slice() };
  }
}

// Character codes.
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const LBRACE = 123;
const RBRACE = 125;
const LBRACKET = 91;
const RBRACKET = 93;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const AT = 64;

const FRAME_PREFIX = '{"stream":"';
const DATA_KEY = ',"data":{';

/** Integers of more digits may exceed 2^53 (or be exact only by luck): left to JSON.parse. */
const MAX_INT_DIGITS = 15;
/** 10^0 … 10^22: every one an exact double. */
const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

// Second results of the scanning helpers, which return the position after what they read (-1: fall back).
let intValue = 0;
let numValue = 0;
let levelCount = 0;

/**
 * Scans one combined-stream frame `{"stream":"<name>","data":{…}}`. Returns SCAN_AGG_TRADE or
 * SCAN_DEPTH with `out` filled, or SCAN_FALLBACK when the frame is anything else (then `out` holds
 * garbage).
 */
export function scanFrame(text: string, out: FrameScan): ScanResult {
  if (!text.startsWith(FRAME_PREFIX)) return SCAN_FALLBACK;
  const kind = scanStream(text, FRAME_PREFIX.length, out);
  if (kind === SCAN_FALLBACK || !text.startsWith(DATA_KEY, out.streamEnd + 1)) return SCAN_FALLBACK;
  return scanPayloadToEnd(text, out.streamEnd + DATA_KEY.length, kind, out);
}

const LINE_PREFIX = '{"ts_recv":';
const LINE_STREAM = ',"stream":"';
const LINE_EVENT_LATENCY = ',"latency_event_ms":';
const LINE_PIPELINE_LATENCY = ',"latency_pipeline_ms":';

/**
 * Scans one NDJSON raw-log data line as src/pipeline/raw-line.ts `dataLine` writes it:
 * `{"ts_recv":N,"stream":"<name>","latency_event_ms":X,"latency_pipeline_ms":Y,"data":{…}}`.
 * On SCAN_AGG_TRADE / SCAN_DEPTH, `out.tsRecv` is `ts_recv` and the rest is as for scanFrame: exactly
 * what JSON.parse + applyRecord → applyData would apply (control lines, other layouts: fallback).
 */
export function scanDataLine(line: string, out: FrameScan): ScanResult {
  if (!line.startsWith(LINE_PREFIX)) return SCAN_FALLBACK;
  let p = scanInt(line, LINE_PREFIX.length);
  if (p < 0 || !line.startsWith(LINE_STREAM, p)) return SCAN_FALLBACK;
  out.tsRecv = intValue;
  const kind = scanStream(line, p + LINE_STREAM.length, out);
  if (kind === SCAN_FALLBACK) return SCAN_FALLBACK;
  p = out.streamEnd + 1;
  if (!line.startsWith(LINE_EVENT_LATENCY, p)) return SCAN_FALLBACK;
  p += LINE_EVENT_LATENCY.length;
  p = line.startsWith("null", p) ? p + 4 : skipNumber(line, p);
  if (p < 0 || !line.startsWith(LINE_PIPELINE_LATENCY, p)) return SCAN_FALLBACK;
  p = skipNumber(line, p + LINE_PIPELINE_LATENCY.length);
  if (p < 0 || !line.startsWith(DATA_KEY, p)) return SCAN_FALLBACK;
  return scanPayloadToEnd(line, p + DATA_KEY.length - 1, kind, out);
}

/**
 * The stream name starting at `p` up to its closing quote, into out.streamStart/streamEnd. Returns its
 * kind by parseStreamName's rule (a non-empty symbol, then exactly `@aggTrade` or `@depth…`), or
 * SCAN_FALLBACK. Names are printable ASCII without `"` or `\`; anything else goes the slow way.
 */
function scanStream(text: string, p: number, out: FrameScan): ScanResult {
  const start = p;
  const len = text.length;
  let at = -1;
  for (;;) {
    if (p >= len) return SCAN_FALLBACK;
    const c = text.charCodeAt(p);
    if (c === QUOTE) break;
    if (c < 0x20 || c > 0x7e || c === BACKSLASH) return SCAN_FALLBACK;
    if (c === AT && at < 0) at = p;
    p++;
  }
  out.streamStart = start;
  out.streamEnd = p;
  if (at <= start) return SCAN_FALLBACK;
  if (p - at === 9 && text.startsWith("@aggTrade", at)) return SCAN_AGG_TRADE;
  if (text.startsWith("@depth", at)) return SCAN_DEPTH;
  return SCAN_FALLBACK;
}

/**
 * The payload object whose `{` is at `dataStart`, which must be followed by the wrapper's closing `}`
 * and nothing else.
 */
function scanPayloadToEnd(text: string, dataStart: number, kind: ScanResult, out: FrameScan): ScanResult {
  const close = kind === SCAN_AGG_TRADE ? scanAggTrade(text, dataStart + 1, out.trade) : scanDepth(text, dataStart + 1, out);
  const len = text.length;
  if (close < 0 || close !== len - 2 || text.charCodeAt(len - 1) !== RBRACE) return SCAN_FALLBACK;
  out.dataStart = dataStart;
  out.dataEnd = close + 1;
  return kind;
}

// Known fields, one bit each; a second occurrence falls back (JSON.parse would keep the last one).
const A_AGG = 1;
const A_E = 2;
const A_T = 4;
const A_P = 8;
const A_Q = 16;
const A_F = 32;
const A_L = 64;
const A_M = 128;

/**
 * Members of an aggTrade payload from `p` (just after `{`). Returns the position of the closing
 * `}`, or -1. Semantics of parseAggTrade: `a` an integer (required), `E`/`T` numbers (at least one),
 * `p`/`q` numeric strings (absent: NaN), `f`/`l` integers (absent: null), `m` boolean (absent: null).
 */
function scanAggTrade(text: string, p: number, ev: Mutable<AggTradeEvent>): number {
  let seen = 0;
  ev.eventTime = null;
  ev.tradeTime = null;
  ev.price = Number.NaN;
  ev.qty = Number.NaN;
  ev.firstTradeId = null;
  ev.lastTradeId = null;
  ev.buyerIsMaker = null;
  if (text.charCodeAt(p) === RBRACE) return -1; // `{}` lacks `a`
  for (;;) {
    if (text.charCodeAt(p) !== QUOTE) return -1;
    const ks = p + 1;
    const ke = stringEnd(text, ks);
    if (ke < 0 || text.charCodeAt(ke + 1) !== COLON) return -1;
    p = ke + 2;
    let bit = 0;
    if (ke - ks === 1) {
      switch (text.charCodeAt(ks)) {
        case 97: // a
          bit = A_AGG;
          p = scanInt(text, p);
          ev.aggId = intValue;
          break;
        case 69: // E
          bit = A_E;
          p = scanInt(text, p);
          ev.eventTime = intValue;
          break;
        case 84: // T
          bit = A_T;
          p = scanInt(text, p);
          ev.tradeTime = intValue;
          break;
        case 112: // p
          bit = A_P;
          if (text.charCodeAt(p) !== QUOTE) return -1;
          p = decimalString(text, p + 1) + 1; // 0 when the string is bad: caught below
          ev.price = numValue;
          break;
        case 113: // q
          bit = A_Q;
          if (text.charCodeAt(p) !== QUOTE) return -1;
          p = decimalString(text, p + 1) + 1;
          ev.qty = numValue;
          break;
        case 102: // f
          bit = A_F;
          p = scanInt(text, p);
          ev.firstTradeId = intValue;
          break;
        case 108: // l
          bit = A_L;
          p = scanInt(text, p);
          ev.lastTradeId = intValue;
          break;
        case 109: // m
          bit = A_M;
          if (text.startsWith("true", p)) {
            ev.buyerIsMaker = true;
            p += 4;
          } else if (text.startsWith("false", p)) {
            ev.buyerIsMaker = false;
            p += 5;
          } else return -1;
          break;
        default:
          p = skipScalar(text, p);
      }
    } else {
      p = skipScalar(text, p);
    }
    if (p <= 0 || (seen & bit) !== 0) return -1;
    seen |= bit;
    const c = text.charCodeAt(p);
    if (c === COMMA) p++;
    else if (c === RBRACE) break;
    else return -1;
  }
  // parseAggTrade rejects these; the fallback path reports why.
  if ((seen & A_AGG) === 0 || (seen & (A_E | A_T)) === 0) return -1;
  return p;
}

const D_LAST = 1;
const D_E = 2;
const D_T = 4;
const D_FIRST = 8;
const D_PREV = 16;
const D_BIDS = 32;
const D_ASKS = 64;

/**
 * Members of a depth payload from `p` (just after `{`); returns the position of the closing `}`, or
 * -1. Semantics of parseDepth: `u` an integer (required), `E`/`T` numbers (at least one), `U`/`pu`
 * integers (absent: null), `b`/`a` lists of `["price","qty"]` (required).
 */
function scanDepth(text: string, p: number, out: FrameScan): number {
  const ev = out.depth;
  let seen = 0;
  let nBids = 0;
  let nAsks = 0;
  ev.eventTime = null;
  ev.transactTime = null;
  ev.firstId = null;
  ev.prevLastId = null;
  if (text.charCodeAt(p) === RBRACE) return -1;
  for (;;) {
    if (text.charCodeAt(p) !== QUOTE) return -1;
    const ks = p + 1;
    const ke = stringEnd(text, ks);
    if (ke < 0 || text.charCodeAt(ke + 1) !== COLON) return -1;
    p = ke + 2;
    let bit = 0;
    const klen = ke - ks;
    if (klen === 1) {
      switch (text.charCodeAt(ks)) {
        case 117: // u
          bit = D_LAST;
          p = scanInt(text, p);
          ev.lastId = intValue;
          break;
        case 69: // E
          bit = D_E;
          p = scanInt(text, p);
          ev.eventTime = intValue;
          break;
        case 84: // T
          bit = D_T;
          p = scanInt(text, p);
          ev.transactTime = intValue;
          break;
        case 85: // U
          bit = D_FIRST;
          p = scanInt(text, p);
          ev.firstId = intValue;
          break;
        case 98: // b
          bit = D_BIDS;
          p = scanSide(text, p, out, true);
          nBids = levelCount;
          break;
        case 97: // a
          bit = D_ASKS;
          p = scanSide(text, p, out, false);
          nAsks = levelCount;
          break;
        default:
          p = skipScalar(text, p);
      }
    } else if (klen === 2 && text.charCodeAt(ks) === 112 && text.charCodeAt(ks + 1) === 117) {
      // pu
      bit = D_PREV;
      p = scanInt(text, p);
      ev.prevLastId = intValue;
    } else {
      p = skipScalar(text, p);
    }
    if (p < 0 || (seen & bit) !== 0) return -1;
    seen |= bit;
    const c = text.charCodeAt(p);
    if (c === COMMA) p++;
    else if (c === RBRACE) break;
    else return -1;
  }
  if ((seen & D_LAST) === 0 || (seen & (D_E | D_T)) === 0 || (seen & (D_BIDS | D_ASKS)) !== (D_BIDS | D_ASKS)) return -1;
  ev.bids = exactLevels(out.bidBuf, nBids, out.bidArrays);
  ev.asks = exactLevels(out.askBuf, nAsks, out.askArrays);
  return p;
}

/** The first `2n` values of `buf` in an array of exactly that length (cached per count). */
function exactLevels(buf: Float64Array, n: number, cache: Float64Array[]): Float64Array {
  let arr: Float64Array | undefined = n < CACHED_LEVEL_COUNTS ? cache[n] : undefined;
  if (arr === undefined) {
    arr = new Float64Array(2 * n);
    if (n < CACHED_LEVEL_COUNTS) cache[n] = arr;
  }
  for (let i = 0; i < 2 * n; i++) arr[i] = buf[i];
  return arr;
}

/**
 * A list of `["price","qty"]` levels at `p` into the side's buffer. Returns the position after `]`
 * (count in `levelCount`), or -1 for anything else (numbers instead of strings, extra elements, …).
 */
function scanSide(text: string, p: number, out: FrameScan, bids: boolean): number {
  if (text.charCodeAt(p) !== LBRACKET) return -1;
  p++;
  let n = 0;
  if (text.charCodeAt(p) === RBRACKET) {
    levelCount = 0;
    return p + 1;
  }
  let buf = bids ? out.bidBuf : out.askBuf;
  for (;;) {
    if (text.charCodeAt(p) !== LBRACKET || text.charCodeAt(p + 1) !== QUOTE) return -1;
    if (2 * n + 2 > buf.length) {
      const bigger = new Float64Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
      if (bids) out.bidBuf = buf;
      else out.askBuf = buf;
    }
    const pe = decimalString(text, p + 2);
    if (pe < 0 || text.charCodeAt(pe + 1) !== COMMA || text.charCodeAt(pe + 2) !== QUOTE) return -1;
    buf[2 * n] = numValue;
    const qe = decimalString(text, pe + 3);
    if (qe < 0 || text.charCodeAt(qe + 1) !== RBRACKET) return -1;
    buf[2 * n + 1] = numValue;
    n++;
    p = qe + 2;
    const c = text.charCodeAt(p);
    if (c === COMMA) p++;
    else if (c === RBRACKET) break;
    else return -1;
  }
  levelCount = n;
  return p + 1;
}

/**
 * Position of the `"` closing a string whose content starts at `p`, or -1 when the string has an
 * escape (its decoded text differs from the raw one), a control character (JSON.parse rejects it) or
 * no end.
 */
function stringEnd(text: string, p: number): number {
  const len = text.length;
  for (; p < len; p++) {
    const c = text.charCodeAt(p);
    if (c === QUOTE) return p;
    if (c === BACKSLASH || c < 0x20) return -1;
  }
  return -1;
}

/**
 * A plain JSON integer at `p` (`-?(0|[1-9][0-9]*)`, at most 15 digits) into `intValue`; returns the
 * position after it, or -1. A fraction or exponent after it is caught by the caller, which expects
 * `,` or `}` next.
 */
function scanInt(text: string, p: number): number {
  let c = text.charCodeAt(p);
  let neg = false;
  if (c === MINUS) {
    neg = true;
    c = text.charCodeAt(++p);
  }
  if (c === ZERO) {
    intValue = neg ? -0 : 0;
    return p + 1;
  }
  if (!(c > ZERO && c <= NINE)) return -1;
  const start = p;
  let v = c - ZERO;
  for (;;) {
    c = text.charCodeAt(++p);
    if (c >= ZERO && c <= NINE) v = v * 10 + (c - ZERO);
    else break;
  }
  if (p - start > MAX_INT_DIGITS) return -1;
  intValue = neg ? -v : v;
  return p;
}

/**
 * A string whose content starts at `s`, as a number into `numValue` with parseData's semantics
 * (`Number(content)`, NaN when empty). Returns the position of the closing `"`, or -1 when the
 * string is not one JSON.parse reads verbatim (see stringEnd). Plain decimals of at most 15 digits
 * are converted in the same pass (the exact fast path); every other content is handed to Number().
 */
function decimalString(text: string, s: number): number {
  let p = s;
  let c = text.charCodeAt(p);
  let neg = false;
  if (c === MINUS) {
    neg = true;
    c = text.charCodeAt(++p);
  }
  let m = 0;
  let digits = 0;
  let dot = -1; // digits before the dot; -1: no dot
  for (;;) {
    if (c >= ZERO && c <= NINE) {
      m = m * 10 + (c - ZERO);
      digits++;
    } else if (c === DOT && dot < 0) {
      dot = digits;
    } else {
      break;
    }
    c = text.charCodeAt(++p);
  }
  if (c === QUOTE && digits > 0 && digits <= MAX_INT_DIGITS && dot !== digits) {
    const frac = dot < 0 ? 0 : digits - dot;
    const v = frac > 0 ? m / POW10[frac]! : m;
    numValue = neg ? -v : v;
    return p;
  }
  const e = stringEnd(text, s);
  if (e < 0) return -1;
  numValue = e === s ? Number.NaN : Number(text.slice(s, e));
  return e;
}

/**
 * Skips a value of a field the parser ignores: a string, number, true, false or null, validated as
 * JSON.parse would. Objects and arrays fall back (no hot frame has them in an ignored field).
 */
function skipScalar(text: string, p: number): number {
  const c = text.charCodeAt(p);
  if (c === QUOTE) {
    const e = stringEnd(text, p + 1);
    return e < 0 ? -1 : e + 1;
  }
  if (c === MINUS || (c >= ZERO && c <= NINE)) return skipNumber(text, p);
  if (c === 116) return text.startsWith("true", p) ? p + 4 : -1;
  if (c === 102) return text.startsWith("false", p) ? p + 5 : -1;
  if (c === 110) return text.startsWith("null", p) ? p + 4 : -1;
  return -1;
}

/** The full JSON number grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
function skipNumber(text: string, p: number): number {
  if (text.charCodeAt(p) === MINUS) p++;
  let c = text.charCodeAt(p);
  if (c === ZERO) p++;
  else if (c > ZERO && c <= NINE) p = skipDigits(text, p + 1);
  else return -1;
  if (text.charCodeAt(p) === DOT) {
    c = text.charCodeAt(p + 1);
    if (!(c >= ZERO && c <= NINE)) return -1;
    p = skipDigits(text, p + 2);
  }
  c = text.charCodeAt(p);
  if (c === 101 || c === 69) {
    p++;
    c = text.charCodeAt(p);
    if (c === PLUS || c === MINUS) p++;
    c = text.charCodeAt(p);
    if (!(c >= ZERO && c <= NINE)) return -1;
    p = skipDigits(text, p + 1);
  }
  return p;
}

function skipDigits(text: string, p: number): number {
  for (;;) {
    const c = text.charCodeAt(p);
    if (c >= ZERO && c <= NINE) p++;
    else return p;
  }
}
