// REST endpoints on the same port: exchangeInfo, aggTrades (from the produced history) and depth
// (the book the last depth5 frame was cut from), with Binance's error shapes and weight header.
import { OrderBook, levelsJson } from "./book.ts";
import type { Faults } from "./faults.ts";
import type { Records } from "./records.ts";
import type { Track } from "./replay.ts";
import type { SymbolSeries } from "./fixtures.ts";
import type { LiveDiffBook } from "./diff-depth.ts";

export interface RestContext {
  readonly records: Records;
  readonly tracks: ReadonlyMap<string, Track>;
  readonly exchangeInfo: () => string;
  /** Consulted first on every request (REST throttling faults). */
  readonly faults?: Faults;
  /** With the diffDepth option: depth answers come from these books (the diff stream's), per symbol. */
  readonly diffBooks?: ReadonlyMap<string, LiveDiffBook>;
}

const DEPTH_WEIGHT: Readonly<Record<number, number>> = { 5: 2, 10: 2, 20: 2, 50: 2, 100: 5, 500: 10, 1000: 20 };

class WeightMeter {
  private minute = 0;
  private used = 0;
  add(w: number): number {
    const m = Math.floor(Date.now() / 60_000);
    if (m !== this.minute) {
      this.minute = m;
      this.used = 0;
    }
    return (this.used += w);
  }
}

function json(body: string, status: number, weight: number): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "application/json", "x-mbx-used-weight-1m": String(weight) },
  });
}

const err = (code: number, msg: string) => JSON.stringify({ code, msg });
const INVALID_SYMBOL = err(-1121, "Invalid symbol.");
const MISSING_SYMBOL = err(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
const BAD_LIMIT = err(-1130, "Data sent for parameter 'limit' is not valid.");

function intParam(q: URLSearchParams, name: string): number | undefined | null {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  return /^-?\d+$/.test(v) ? Number(v) : null;
}

// Rebuilding a book costs up to ~0.3 s for BTCUSDT, so keep the last one per series and move it
// forward when the next request is later in the same loop.
const bookCache = new WeakMap<SymbolSeries, { book: OrderBook; pos: number }>();

function bookOf(track: Track): { lastUpdateId: number; book: OrderBook } {
  const { series, sync, items, shift } = track.script;
  const last = track.lastDepth ?? { loop: track.loop, item: items.find((i) => i.kind === "depth")! };
  if (last.item.kind !== "depth") throw new Error("unreachable");
  let c = bookCache.get(series);
  if (!c || c.pos > last.item.diffEnd) {
    c = { book: OrderBook.fromSnapshot(series.snapshot), pos: sync };
    bookCache.set(series, c);
  }
  for (; c.pos < last.item.diffEnd; c.pos++) c.book.apply(series.diffs[c.pos]);
  return { lastUpdateId: last.item.u + last.loop * shift.updateId, book: c.book };
}

export function restHandler(ctx: RestContext): (req: Request, url: URL) => Response | Promise<Response> {
  const meter = new WeightMeter();
  return (_req, url) => {
    const rejected = ctx.faults?.takeRestRejection() ?? (url.pathname === "/fapi/v1/depth" ? ctx.faults?.takeDepthRejection() : undefined);
    if (rejected) {
      ctx.records.rest.push({ at: Date.now(), path: url.pathname, query: url.search, status: rejected.status, weight: 0 });
      return rejected;
    }
    let weight = 1;
    let status = 200;
    let body: string;
    const q = url.searchParams;
    const symbolParam = q.get("symbol");
    const track = symbolParam ? ctx.tracks.get(symbolParam) : undefined;
    switch (url.pathname) {
      case "/fapi/v1/ping":
        body = "{}";
        break;
      case "/fapi/v1/time":
        body = `{"serverTime":${Date.now()}}`;
        break;
      case "/fapi/v1/exchangeInfo":
        body = ctx.exchangeInfo();
        break;
      case "/fapi/v1/aggTrades": {
        weight = 20;
        const limit = intParam(q, "limit") ?? 500;
        const fromId = intParam(q, "fromId");
        const startTime = intParam(q, "startTime");
        const endTime = intParam(q, "endTime");
        if (!symbolParam) [status, body] = [400, MISSING_SYMBOL];
        else if (!track) [status, body] = [400, INVALID_SYMBOL];
        else if (limit === null || limit < 1 || limit > 1000) [status, body] = [400, BAD_LIMIT];
        else if (fromId === null || startTime === null || endTime === null) [status, body] = [400, err(-1100, "Illegal characters found in a parameter.")];
        else body = aggTradesBody(ctx.records, track.symbol, limit, fromId, startTime, endTime);
        break;
      }
      case "/fapi/v1/depth": {
        const limit = intParam(q, "limit") ?? 500;
        weight = (limit && DEPTH_WEIGHT[limit]) || 20;
        if (!symbolParam) [status, body] = [400, MISSING_SYMBOL];
        else if (!track) [status, body] = [400, INVALID_SYMBOL];
        else if (limit === null || !(limit in DEPTH_WEIGHT)) [status, body] = [400, BAD_LIMIT];
        else if (ctx.diffBooks?.has(track.symbol)) {
          // Taken now (when the request is processed), possibly sent late.
          const fault = ctx.faults?.takeDepthFault() ?? { stale: false, delayMs: 0 };
          body = ctx.diffBooks.get(track.symbol)!.body(limit, fault.stale, Date.now());
          if (fault.delayMs > 0) {
            const used = meter.add(weight);
            ctx.records.rest.push({ at: Date.now(), path: url.pathname, query: url.search, status, weight });
            const text = body;
            return Bun.sleep(fault.delayMs).then(() => json(text, 200, used));
          }
        } else {
          const { lastUpdateId, book } = bookOf(track);
          const now = Date.now();
          body = `{"lastUpdateId":${lastUpdateId},"E":${now},"T":${now},"bids":${levelsJson(book.bids(limit))},"asks":${levelsJson(book.asks(limit))}}`;
        }
        break;
      }
      default:
        status = 404;
        weight = 0;
        body = err(-1000, `Unknown path ${url.pathname}`);
    }
    const used = meter.add(weight);
    ctx.records.rest.push({ at: Date.now(), path: url.pathname, query: url.search, status, weight });
    return json(body, status, used);
  };
}

function aggTradesBody(
  records: Records,
  symbol: string,
  limit: number,
  fromId: number | undefined,
  startTime: number | undefined,
  endTime: number | undefined,
): string {
  const log = records.tradeLog(symbol);
  if (!log) return "[]";
  let from: number;
  let to = log.ids.length;
  if (fromId !== undefined) from = log.indexFrom(fromId);
  else if (startTime !== undefined || endTime !== undefined) {
    const lo = startTime ?? -Infinity;
    const hi = endTime ?? Infinity;
    const out: string[] = [];
    for (let i = 0; i < log.texts.length && out.length < limit; i++) {
      const t = JSON.parse(log.texts[i]);
      if (t.T >= lo && t.T <= hi) out.push(restShape(log.texts[i]));
    }
    return `[${out.join(",")}]`;
  } else from = Math.max(0, to - limit);
  to = Math.min(to, from + limit);
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(restShape(log.texts[i]));
  return `[${out.join(",")}]`;
}

/** The REST aggTrade shape: the stream payload without e, E and s, same field order. */
function restShape(text: string): string {
  const t = JSON.parse(text);
  return `{"a":${t.a},"p":"${t.p}","q":"${t.q}","f":${t.f},"l":${t.l},"T":${t.T},"m":${t.m}}`;
}
