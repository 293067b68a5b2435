/**
 * Turns a stream's `data` payload into a normalised event, validating its structure
 * (docs/indicators.md §15.3). Shared by the live feed and by replay, so both see identical events.
 */
import type { AggTradeEvent, DepthEvent, MarketEvent } from "../../core/market-events.ts";
import type { StreamKind } from "./streams.ts";

export type ParseResult = { readonly ok: true; readonly event: MarketEvent } | { readonly ok: false; readonly reason: string };

const fail = (reason: string): ParseResult => ({ ok: false, reason });

function num(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.length > 0) return Number(v);
  return Number.NaN;
}

function optInt(v: unknown): number | null {
  return typeof v === "number" && Number.isInteger(v) ? v : null;
}

function levels(side: readonly unknown[]): Float64Array {
  const out = new Float64Array(side.length * 2);
  for (let i = 0; i < side.length; i++) {
    const lvl = side[i];
    if (Array.isArray(lvl) && lvl.length >= 2) {
      out[2 * i] = num(lvl[0]);
      out[2 * i + 1] = num(lvl[1]);
    } else {
      out[2 * i] = Number.NaN;
      out[2 * i + 1] = Number.NaN;
    }
  }
  return out;
}

export function parseDepth(symbol: string, d: Record<string, unknown>): ParseResult {
  const u = optInt(d.u);
  if (u === null) return fail("depth without integer u");
  const E = typeof d.E === "number" ? d.E : null;
  const T = typeof d.T === "number" ? d.T : null;
  if (E === null && T === null) return fail("depth without T and E");
  if (!Array.isArray(d.b) || !Array.isArray(d.a)) return fail("depth without b/a lists");
  const ev: DepthEvent = {
    kind: "depth",
    symbol,
    eventTime: E,
    transactTime: T,
    firstId: optInt(d.U),
    lastId: u,
    prevLastId: optInt(d.pu),
    bids: levels(d.b),
    asks: levels(d.a),
  };
  return { ok: true, event: ev };
}

export function parseAggTrade(symbol: string, d: Record<string, unknown>): ParseResult {
  const a = optInt(d.a);
  if (a === null) return fail("aggTrade without integer a");
  const T = typeof d.T === "number" ? d.T : null;
  const E = typeof d.E === "number" ? d.E : null;
  if (T === null && E === null) return fail("aggTrade without T and E");
  const ev: AggTradeEvent = {
    kind: "aggTrade",
    symbol,
    eventTime: E,
    tradeTime: T,
    aggId: a,
    price: num(d.p),
    qty: num(d.q),
    firstTradeId: optInt(d.f),
    lastTradeId: optInt(d.l),
    buyerIsMaker: typeof d.m === "boolean" ? d.m : null,
  };
  return { ok: true, event: ev };
}

/**
 * The sequencing id of a payload that `parseData` would accept (`u` for depth, `a` for aggTrade), or
 * null when it would reject it: the feed's duplicate and gap checks only ever see ids of frames the
 * engine will also accept, so a malformed frame cannot move any id state (docs/indicators.md §15.3).
 */
export function eventId(kind: StreamKind, data: unknown): number | null {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return null;
  const d = data as Record<string, unknown>;
  if (typeof d.T !== "number" && typeof d.E !== "number") return null;
  if (kind === "aggTrade") return optInt(d.a);
  if (!Array.isArray(d.b) || !Array.isArray(d.a)) return null;
  return optInt(d.u);
}

export function parseData(kind: StreamKind, symbol: string, data: unknown): ParseResult {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return fail("data is not an object");
  return kind === "depth" ? parseDepth(symbol, data as Record<string, unknown>) : parseAggTrade(symbol, data as Record<string, unknown>);
}

/**
 * The exact `data` payload text of a combined frame, without re-serialising: Binance sends
 * `{"stream":"<name>","data":<payload>}` with exactly that prefix and no other key, so the payload is
 * everything between the prefix and the closing brace. Any other layout falls back to re-serialising.
 */
export function rawDataText(frame: string, wrapper: { readonly stream: string; readonly data: unknown }): string {
  const prefix = `{"stream":${JSON.stringify(wrapper.stream)},"data":`;
  if (frame.startsWith(prefix) && frame.charCodeAt(frame.length - 1) === 125 /* } */ && keyCount(wrapper) === 2) {
    return frame.slice(prefix.length, frame.length - 1);
  }
  return JSON.stringify(wrapper.data);
}

function keyCount(o: object): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}
