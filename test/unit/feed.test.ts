import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { StreamConnection, type ConnectionListener } from "../../src/exchange/binance/connection.ts";
import { freePort } from "../helpers/binary.ts";
import { parseData, rawDataText } from "../../src/exchange/binance/frame-parser.ts";
import { MAX_STREAMS_PER_CONNECTION, combinedUrl, parseStreamName, planConnections } from "../../src/exchange/binance/streams.ts";

const FIXTURES = join(import.meta.dir, "..", "..", "..", "shared", "fixtures", "binance");

describe("streams and connection plans", () => {
  test("aggTrade goes to /market and depth5@100ms to /public, lower-case names", () => {
    const plans = planConnections(["BTCUSDT", "ETHUSDT"], true);
    expect(plans).toEqual([
      { id: "market-0", route: "market", streams: ["btcusdt@aggTrade", "ethusdt@aggTrade"] },
      { id: "public-0", route: "public", streams: ["btcusdt@depth5@100ms", "ethusdt@depth5@100ms"] },
    ]);
    expect(planConnections(["BTCUSDT"], false).map((p) => p.route)).toEqual(["market"]);
  });

  test(`more than ${MAX_STREAMS_PER_CONNECTION} symbols need several connections per route`, () => {
    const symbols = Array.from({ length: 450 }, (_, i) => `S${i}USDT`);
    const plans = planConnections(symbols, true);
    expect(plans.filter((p) => p.route === "market").map((p) => p.streams.length)).toEqual([200, 200, 50]);
    expect(plans.filter((p) => p.route === "public").map((p) => p.streams.length)).toEqual([200, 200, 50]);
    expect(new Set(plans.flatMap((p) => p.streams)).size).toBe(900);
  });

  test("combined URL and stream name parsing", () => {
    expect(combinedUrl("wss://fstream.binance.com/public/", ["a@x", "b@y"])).toBe("wss://fstream.binance.com/public/stream?streams=a@x/b@y");
    expect(parseStreamName("btcusdt@depth5@100ms")).toEqual({ symbol: "BTCUSDT", kind: "depth" });
    expect(parseStreamName("1000pepeusdt@aggTrade")).toEqual({ symbol: "1000PEPEUSDT", kind: "aggTrade" });
    expect(parseStreamName("btcusdt@markPrice")).toBeNull();
    expect(parseStreamName("@aggTrade")).toBeNull();
  });
});

describe("frame parsing", () => {
  const frames = ["2021-04-05_5sym_aggTrade.frames.ndjson", "2021-04-17_4sym_aggTrade.frames.ndjson", "2021-07-22_4sym_aggTrade.frames.ndjson"].flatMap((f) =>
    readFileSync(join(FIXTURES, "cryptofeed", "derived", f), "utf8").split("\n").filter((l) => l.length > 0),
  );

  test("every real recorded aggTrade frame parses to exactly its fields", () => {
    expect(frames.length).toBe(850);
    for (const text of frames) {
      const w = JSON.parse(text) as { stream: string; data: Record<string, unknown> };
      const sp = parseStreamName(w.stream)!;
      const r = parseData(sp.kind, sp.symbol, w.data);
      if (!r.ok || r.event.kind !== "aggTrade") throw new Error(`not parsed: ${text}`);
      const d = w.data;
      expect(r.event).toEqual({
        kind: "aggTrade",
        symbol: d.s as string,
        eventTime: d.E as number,
        tradeTime: d.T as number,
        aggId: d.a as number,
        price: Number(d.p),
        qty: Number(d.q),
        firstTradeId: d.f as number,
        lastTradeId: d.l as number,
        buyerIsMaker: d.m as boolean,
      });
      // The exact payload is sliced out, never re-serialised.
      expect(rawDataText(text, w)).toBe(JSON.stringify(w.data));
    }
  });

  test("real depth payloads parse into flat level arrays", () => {
    // Frame lines are `<recv_epoch_seconds>: <frame>` (fixtures README).
    const frame = readFileSync(join(FIXTURES, "cryptofeed", "BINANCE_FUTURES.ws.1.0"), "utf8")
      .split("\n")
      .map((l) => /^([0-9.]+): (.*)$/.exec(l)?.[2])
      .find((f) => f !== undefined && f.includes('"depthUpdate"'))!;
    const w = JSON.parse(frame) as { stream: string; data: { b: string[][]; a: string[][]; u: number; pu: number; U: number; E: number; T: number } };
    const r = parseData("depth", "AKROUSDT", w.data);
    if (!r.ok || r.event.kind !== "depth") throw new Error("not parsed");
    expect(r.event.lastId).toBe(w.data.u);
    expect(r.event.prevLastId).toBe(w.data.pu);
    expect(r.event.firstId).toBe(w.data.U);
    expect(r.event.transactTime).toBe(w.data.T);
    expect(Array.from(r.event.bids)).toEqual(w.data.b.flatMap(([p, q]) => [Number(p), Number(q)]));
    expect(Array.from(r.event.asks)).toEqual(w.data.a.flatMap(([p, q]) => [Number(p), Number(q)]));
  });

  test("structurally malformed payloads are rejected with a reason (docs/indicators.md §15.3)", () => {
    const bad = (kind: "depth" | "aggTrade", d: unknown) => {
      const r = parseData(kind, "BTCUSDT", d);
      return r.ok ? null : r.reason;
    };
    expect(bad("depth", { E: 1, T: 1, b: [], a: [] })).toContain("u");
    expect(bad("depth", { u: 5, b: [], a: [] })).toContain("T and E");
    expect(bad("depth", { u: 5, T: 1, b: "x", a: [] })).toContain("b/a");
    expect(bad("aggTrade", { a: "12", p: "1", q: "1", T: 1, m: true })).toContain("integer a");
    expect(bad("aggTrade", { a: 1.5, p: "1", q: "1", T: 1, m: true })).toContain("integer a");
    expect(bad("aggTrade", [1, 2])).toContain("object");
    expect(bad("aggTrade", null)).toContain("object");
  });

  test("unparsable numbers become NaN and a non-boolean m becomes null, for the calculators to count", () => {
    const r = parseData("aggTrade", "BTCUSDT", { a: 7, p: "abc", q: "", T: 5, m: "yes" });
    if (!r.ok || r.event.kind !== "aggTrade") throw new Error("expected a trade event");
    expect(Number.isNaN(r.event.price)).toBe(true);
    expect(Number.isNaN(r.event.qty)).toBe(true);
    expect(r.event.buyerIsMaker).toBeNull();
  });

  test("a wrapper with extra keys falls back to re-serialising the payload", () => {
    const text = '{"stream":"x@aggTrade","data":{"a":1},"extra":{"b":2}}';
    expect(rawDataText(text, JSON.parse(text))).toBe('{"a":1}');
  });
});

/** A minimal WebSocket server whose behaviour each test scripts. */
function server(handlers: { upgrade?: (n: number) => Response | undefined; open?: (ws: import("bun").ServerWebSocket<number>, n: number) => void }) {
  let n = 0;
  return Bun.serve<number>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      n++;
      const res = handlers.upgrade?.(n);
      if (res !== undefined) return res;
      if (srv.upgrade(req, { data: n })) return undefined;
      return new Response("no", { status: 400 });
    },
    websocket: {
      open(ws) {
        handlers.open?.(ws, ws.data);
      },
      message() {},
    },
  });
}

function recorder() {
  const events: string[] = [];
  const frames: string[] = [];
  const listener: ConnectionListener = {
    onConnect: () => events.push("connect"),
    onDisconnect: (_c, reason) => events.push(`disconnect:${reason}`),
    onFrame: (_c, text) => frames.push(text),
    onRejectedFrame: (_c, reason) => events.push(`rejected:${reason}`),
  };
  return { events, frames, listener };
}

const fastOpts = (port: number) => ({
  baseUrl: `ws://127.0.0.1:${port}/market`,
  pingIntervalMs: 60_000,
  heartbeatTimeoutMs: 400,
  reconnectDelayMs: 50,
  reconnectMaxDelayMs: 200,
  maxFrameBytes: 1024,
});

describe("StreamConnection against a real socket", () => {
  test("reconnects after the server closes, and keeps receiving", async () => {
    const srv = server({
      open(ws, n) {
        ws.send(`{"n":${n}}`);
        if (n === 1) setTimeout(() => ws.close(1011, "bye"), 20);
      },
    });
    const rec = recorder();
    const c = new StreamConnection({ id: "market-0", route: "market", streams: ["btcusdt@aggTrade"] }, fastOpts(srv.port!), rec.listener);
    c.start();
    for (let i = 0; i < 50 && rec.frames.length < 2; i++) await Bun.sleep(20);
    c.stop();
    srv.stop(true);
    expect(rec.frames).toEqual(['{"n":1}', '{"n":2}']);
    expect(rec.events[0]).toBe("connect");
    expect(rec.events[1]).toStartWith("disconnect:closed (1011");
    expect(rec.events[2]).toBe("connect");
    expect(c.reconnects).toBe(1);
  });

  test("a connection that accepts the handshake but sends nothing is closed and replaced", async () => {
    const srv = server({ open(ws, n) { if (n >= 2) ws.send("{}"); } });
    const rec = recorder();
    const c = new StreamConnection({ id: "public-0", route: "public", streams: ["btcusdt@depth5@100ms"] }, fastOpts(srv.port!), rec.listener);
    c.start();
    for (let i = 0; i < 100 && rec.frames.length < 1; i++) await Bun.sleep(20);
    c.stop();
    srv.stop(true);
    expect(rec.events[1]).toBe("disconnect:no frame for 400 ms");
    expect(rec.frames).toEqual(["{}"]);
  });

  test("HTTP 429 with Retry-After delays the next attempt at least that long", async () => {
    const attempts: number[] = [];
    const srv = server({
      upgrade(n) {
        attempts.push(Date.now());
        return n === 1 ? new Response("slow down", { status: 429, headers: { "retry-after": "1" } }) : undefined;
      },
      open(ws) { ws.send("{}"); },
    });
    const rec = recorder();
    const c = new StreamConnection({ id: "market-0", route: "market", streams: ["x@aggTrade"] }, fastOpts(srv.port!), rec.listener);
    c.start();
    for (let i = 0; i < 100 && rec.frames.length < 1; i++) await Bun.sleep(20);
    c.stop();
    srv.stop(true);
    expect(attempts.length).toBe(2);
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(950);
    expect(rec.frames).toEqual(["{}"]);
  });

  test("a failed connection attempt is reported with its reason and the delay before the next", async () => {
    const port = freePort(); // nothing listens there
    const failures: { reason: string; retryInMs: number }[] = [];
    const rec = recorder();
    const c = new StreamConnection({ id: "market-0", route: "market", streams: ["x@aggTrade"] }, fastOpts(port), {
      ...rec.listener,
      onConnectFailed: (_c, reason, retryInMs) => failures.push({ reason, retryInMs }),
    });
    c.start();
    for (let i = 0; i < 100 && failures.length < 3; i++) await Bun.sleep(20);
    c.stop();
    expect(failures.length).toBeGreaterThanOrEqual(3);
    for (const f of failures) {
      expect(f.reason.length).toBeGreaterThan(0);
      expect(f.retryInMs).toBeGreaterThan(0);
      expect(f.retryInMs).toBeLessThanOrEqual(200);
    }
    // Nothing was ever open, so nothing was connected or disconnected.
    expect(rec.events).toEqual([]);
  });

  test("oversized and binary frames are rejected, not delivered", async () => {
    const srv = server({ open(ws) { ws.send("x".repeat(2000)); ws.send(new Uint8Array([1, 2, 3])); ws.send("{}"); } });
    const rec = recorder();
    const c = new StreamConnection({ id: "market-0", route: "market", streams: ["x@aggTrade"] }, fastOpts(srv.port!), rec.listener);
    c.start();
    for (let i = 0; i < 50 && rec.frames.length < 1; i++) await Bun.sleep(20);
    c.stop();
    srv.stop(true);
    expect(rec.frames).toEqual(["{}"]);
    expect(rec.events.filter((e) => e.startsWith("rejected:"))).toEqual(["rejected:oversized frame (2000 bytes)", "rejected:binary frame"]);
  });
});
