/**
 * The stream gate (src/exchange/binance/stream-gate.ts): duplicate drops, trade-id gaps backfilled over a real
 * local REST server in id order before the held live frames, bounded holds, book gaps, malformed
 * frames passed through untouched. The output calls are recorded in order: that order is the log's.
 */
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Backfiller } from "../../src/exchange/binance/backfill.ts";
import { parseData } from "../../src/exchange/binance/frame-parser.ts";
import { RestClient } from "../../src/exchange/binance/rest-client.ts";
import { StreamGate, type GateFrame, type GateOptions } from "../../src/exchange/binance/stream-gate.ts";
import type { FeedOutput } from "../../src/core/feed.ts";
import { waitFor } from "../helpers/binary.ts";

const TRADE = "btcusdt@aggTrade";
const BOOK = "btcusdt@depth5@100ms";

/**
 * The gate sees frames either as parsed payloads (the JSON.parse path) or with the event the frame
 * scanner built; every test below runs both ways.
 */
let scanned = false;

function frame(stream: string, kind: "aggTrade" | "depth", socket: number, recvTsMs: number, data: Record<string, unknown>): GateFrame {
  let event = null;
  if (scanned) {
    const r = parseData(kind, "BTCUSDT", data);
    if (!r.ok) throw new Error(r.reason);
    event = r.event;
  }
  // `data` stays for the recorder's labels; the gate reads it only when `event` is null.
  return { stream, socket, recvTsMs, t0: 0, event, bad: null, data, dataText: JSON.stringify(data) };
}

function trade(a: number, socket = 1): GateFrame {
  return frame(TRADE, "aggTrade", socket, 3000 + a, { e: "aggTrade", E: 2000 + a, a, s: "BTCUSDT", p: "1", q: "1", f: a, l: a, T: 1000 + a, m: false });
}

function book(u: number, pu: number, socket = 1): GateFrame {
  return frame(BOOK, "depth", socket, 5000 + u, { e: "depthUpdate", E: 5000 + u, T: 5000 + u, s: "BTCUSDT", U: pu + 1, u, pu, b: [["1", "1"]], a: [["2", "1"]] });
}

/** Records what the gate lets through, as compact strings, in call order. */
function recorder(): FeedOutput & { readonly out: string[] } {
  const out: string[] = [];
  return {
    out,
    frame(_s, f, held) {
      const d = (f as GateFrame).data as { a?: unknown; u?: unknown } | null;
      const id = f.stream === TRADE ? d?.a : d?.u;
      out.push(`${f.stream === TRADE ? "T" : "B"}${String(id)}${held ? "h" : ""}`);
    },
    backfill(_s, _stream, text) {
      out.push(`R${(JSON.parse(text) as { a: number }).a}`);
    },
    gap(_s, stream, from, to) {
      out.push(`gap${stream === TRADE ? "T" : "B"}${from}-${to}`);
    },
    connection() {},
  };
}

/** REST aggTrades serving `served` ids (optionally only after `delayMs`). */
function restStub(served: (a: number) => boolean, delayMs = 0) {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      if (delayMs > 0) await Bun.sleep(delayMs);
      const from = Number(u.searchParams.get("fromId"));
      const limit = Number(u.searchParams.get("limit"));
      const page: string[] = [];
      for (let a = from; page.length < limit && a < from + 10_000; a++) {
        if (served(a)) page.push(`{"a":${a},"p":"1","q":"1","f":${a},"l":${a},"T":${1000 + a},"m":true}`);
      }
      return new Response(`[${page.join(",")}]`, { headers: { "x-mbx-used-weight-1m": "20" } });
    },
  });
  return { server, backfiller: new Backfiller(new RestClient({ baseUrl: `http://127.0.0.1:${server.port}`, weightBudget1m: 2400 }), { maxRetries: 1, retryDelayMs: 10 }) };
}

const opts = (over: Partial<GateOptions>): GateOptions => ({ dedupLru: 64, backfiller: null, maxHoldMs: 60_000, maxHeldPerStream: 1000, maxHeldTotal: 10_000, reorderGraceMs: 0, ...over });

let servers: { stop(force?: boolean): void }[] = [];
afterEach(() => {
  for (const s of servers) s.stop(true);
  servers = [];
});

for (const mode of ["parsed payloads", "scanned events"] as const) {
describe(mode, () => {
  beforeAll(() => {
    scanned = mode === "scanned events";
  });

describe("duplicates", () => {
  test("dropped before output and counted by cause", () => {
    const rec = recorder();
    const g = new StreamGate(["BTCUSDT"], rec, opts({}));
    g.offer(trade(1));
    g.offer(trade(2));
    g.offer(trade(2)); // same socket again: duplicate
    g.offer(trade(2, 7)); // another socket: rotation overlap
    g.offer(trade(3, 7));
    g.offer(book(10, 9));
    g.offer(book(10, 9));
    expect(rec.out).toEqual(["T1", "T2", "T3", "B10"]);
    expect(g.totals).toMatchObject({ duplicates: 2, overlapDropped: 1, staleDropped: 0 });
    expect(g.bySymbol.get("BTCUSDT")!.duplicates).toBe(2);
  });

  test("frames the engine would reject pass through and move no id state", () => {
    const rec = recorder();
    const g = new StreamGate(["BTCUSDT"], rec, opts({}));
    g.offer(trade(5));
    // Malformed payloads never come as scanned events: the scanner falls back on them.
    const bad: GateFrame = { ...trade(9), event: null, data: { a: "9", T: 1 } };
    g.offer(bad);
    g.offer({ ...trade(9), event: null, data: null });
    g.offer(trade(6));
    expect(rec.out).toEqual(["T5", "T9", "Tundefined", "T6"]);
    expect(g.totals.backfills).toBe(0);
  });

  test("without a backfiller a trade-id gap is recorded and the trade goes on", () => {
    const rec = recorder();
    const g = new StreamGate(["BTCUSDT"], rec, opts({}));
    g.offer(trade(1));
    g.offer(trade(4));
    expect(rec.out).toEqual(["T1", "gapT2-3", "T4"]);
    expect(g.totals).toMatchObject({ tradeGaps: 1, missingTradeIds: 2 });
    // A trade of the gap turning up late cannot be applied in order any more: stale.
    g.offer(trade(3));
    expect(rec.out.length).toBe(3);
    expect(g.totals.staleDropped).toBe(1);
  });
});

describe("backfill", () => {
  test("recovered trades come before the held live frames, in id order; other streams flow meanwhile", async () => {
    const { server, backfiller } = restStub(() => true, 50);
    servers.push(server);
    const rec = recorder();
    const g = new StreamGate(["BTCUSDT"], rec, opts({ backfiller }));
    g.offer(trade(100));
    g.offer(trade(105)); // 101..104 missing: backfill starts, 105 is held
    g.offer(book(10, 9)); // the book stream is not held
    g.offer(trade(106));
    g.offer(trade(105, 2)); // a copy from another socket, held too, dropped on release
    expect(rec.out).toEqual(["T100", "B10"]);
    expect(g.totals.held).toBe(3);
    await waitFor("backfill done", () => (g.totals.held === 0 ? true : undefined), 5000, 10);
    expect(rec.out).toEqual(["T100", "B10", "R101", "R102", "R103", "R104", "T105h", "T106h"]);
    expect(g.totals).toMatchObject({ backfills: 1, backfilled: 4, tradeGaps: 0, overlapDropped: 1 });
  });

  test("a missing trade arriving late from another socket fills the hole in id order; no REST request", async () => {
    let requests = 0;
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (requests++, new Response("[]")) });
    servers.push(server);
    const backfiller = new Backfiller(new RestClient({ baseUrl: `http://127.0.0.1:${server.port}`, weightBudget1m: 2400 }));
    const rec = recorder();
    const g = new StreamGate(["BTCUSDT"], rec, opts({ backfiller, reorderGraceMs: 300 }));
    g.offer(trade(1, 1));
    g.offer(trade(4, 2)); // the replacement socket is ahead: 2 and 3 still to come from socket 1
    g.offer(trade(5, 2));
    g.offer(trade(2, 1));
    expect(rec.out).toEqual(["T1", "T2"]);
    g.offer(trade(3, 1));
    expect(rec.out).toEqual(["T1", "T2", "T3", "T4h", "T5h"]);
    g.offer(trade(4, 1));
    expect(rec.out.length).toBe(5);
    await Bun.sleep(400);
    expect(requests).toBe(0);
    expect(g.totals).toMatchObject({ lateFilled: 2, backfilled: 0, tradeGaps: 0, held: 0, overlapDropped: 1 });
  });

  test("ids REST does not serve become a gap, in order", async () => {
    const { server, backfiller } = restStub((a) => a !== 3 && a !== 4);
    servers.push(server);
    const rec = recorder();
    const g = new StreamGate(["BTCUSDT"], rec, opts({ backfiller }));
    g.offer(trade(1));
    g.offer(trade(6));
    await waitFor("backfill done", () => (g.totals.held === 0 ? true : undefined), 5000, 10);
    expect(rec.out).toEqual(["T1", "R2", "gapT3-4", "R5", "T6h"]);
    expect(g.totals).toMatchObject({ backfilled: 2, tradeGaps: 1, missingTradeIds: 2 });
  });

  test("a held frame with a new gap starts the next backfill; the frames behind it keep waiting", async () => {
    const { server, backfiller } = restStub(() => true, 30);
    servers.push(server);
    const rec = recorder();
    const g = new StreamGate(["BTCUSDT"], rec, opts({ backfiller }));
    g.offer(trade(1));
    g.offer(trade(3));
    g.offer(trade(6));
    g.offer(trade(7));
    await waitFor("both backfills done", () => (g.totals.held === 0 && g.totals.backfills === 2 ? true : undefined), 5000, 10);
    expect(rec.out).toEqual(["T1", "R2", "T3h", "R4", "R5", "T6h", "T7h"]);
  });

  test("a full hold buffer abandons the backfill: the rest is a gap, the held frames go on", async () => {
    const { server, backfiller } = restStub(() => true, 2000);
    servers.push(server);
    const rec = recorder();
    const g = new StreamGate(["BTCUSDT"], rec, opts({ backfiller, maxHeldPerStream: 3 }));
    g.offer(trade(1));
    g.offer(trade(5));
    g.offer(trade(6));
    g.offer(trade(7));
    expect(rec.out).toEqual(["T1"]);
    g.offer(trade(8)); // 4 held > 3
    expect(rec.out).toEqual(["T1", "gapT2-4", "T5h", "T6h", "T7h", "T8h"]);
    expect(g.totals).toMatchObject({ holdsAbandoned: 1, held: 0, tradeGaps: 1 });
    // The late REST answer changes nothing.
    await Bun.sleep(2200);
    expect(rec.out.length).toBe(6);
  });

  test("a hold older than the limit is abandoned on tick", () => {
    const { server, backfiller } = restStub(() => true, 5000);
    servers.push(server);
    const rec = recorder();
    const g = new StreamGate(["BTCUSDT"], rec, opts({ backfiller, maxHoldMs: 1000 }));
    g.offer(trade(1));
    g.offer(trade(3));
    g.tick(performance.now() + 500);
    expect(rec.out).toEqual(["T1"]);
    g.tick(performance.now() + 1500);
    expect(rec.out).toEqual(["T1", "gapT2-2", "T3h"]);
  });

  test("drain (shutdown) writes every held frame; later gaps are recorded without a backfill", () => {
    const { server, backfiller } = restStub(() => true, 5000);
    servers.push(server);
    const rec = recorder();
    const g = new StreamGate(["BTCUSDT"], rec, opts({ backfiller }));
    g.offer(trade(1));
    g.offer(trade(3));
    g.offer(trade(4));
    g.drain();
    g.offer(trade(9));
    expect(rec.out).toEqual(["T1", "gapT2-2", "T3h", "T4h", "gapT5-8", "T9"]);
  });
});

describe("book gaps", () => {
  test("pu not the previous u: counted and recorded as a gap of update ids", () => {
    const rec = recorder();
    const g = new StreamGate(["BTCUSDT"], rec, opts({}));
    g.offer(book(10, 9));
    g.offer(book(12, 10));
    g.offer(book(20, 15)); // 13..15 missed
    g.offer(book(22, 20));
    expect(rec.out).toEqual(["B10", "B12", "gapB13-15", "B20", "B22"]);
    expect(g.totals.depthGaps).toBe(1);
  });

  test("when pu never chains on a stream, gap lines stop after the audit; the counter goes on", () => {
    const rec = recorder();
    const notices: string[] = [];
    const g = new StreamGate(["BTCUSDT"], rec, opts({ onNotice: (k) => notices.push(k) }));
    for (let i = 0; i < 40; i++) g.offer(book(100 + 10 * i, 100 + 10 * i - 5));
    expect(g.totals.depthGaps).toBe(39);
    expect(rec.out.filter((l) => l.startsWith("gapB")).length).toBe(10);
    expect(notices).toContain(`chain:${BOOK}`);
  });

  test("breaks right after a socket change (a reconnect) do not count toward the audit", () => {
    const rec = recorder();
    const g = new StreamGate(["BTCUSDT"], rec, opts({}));
    for (let i = 0; i < 40; i++) g.offer(book(100 + 10 * i, 100 + 10 * i - 5, i + 1));
    expect(rec.out.filter((l) => l.startsWith("gapB")).length).toBe(39);
  });
});
});
}
