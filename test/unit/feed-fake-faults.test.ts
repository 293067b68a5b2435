/**
 * The fake exchange's fault plan (test/fake-exchange/fault-plan.ts) does what the feed tests rely
 * on: seeded decisions, each fault as described, and a log of exactly what was injected.
 */
import { afterEach, describe, expect, test } from "bun:test";
import WebSocket from "ws";
import { eventId, parseData } from "../../src/exchange/binance/frame-parser.ts";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { malformedFrame, prng, type MalformedKind } from "../fake-exchange/fault-plan.ts";
import type { Frame } from "../fake-exchange/types.ts";
import { waitFor } from "../helpers/binary.ts";

interface Client {
  readonly ws: WebSocket;
  readonly texts: string[];
  pings: number;
}

function client(url: string): Client {
  const ws = new WebSocket(url);
  const c: Client = { ws, texts: [], pings: 0 };
  ws.on("message", (d: Buffer) => c.texts.push(d.toString("utf8")));
  ws.on("ping", () => c.pings++);
  return c;
}

let fx: FakeExchange | null = null;
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await fx?.stop();
  fx = null;
});

const data = (text: string) => (JSON.parse(text) as { data: Record<string, number> }).data;

describe("seeded decisions", () => {
  test("the same seed gives the same sequence, another seed another", () => {
    const a = prng(42);
    const b = prng(42);
    const c = prng(43);
    const xs = Array.from({ length: 20 }, () => a());
    expect(Array.from({ length: 20 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe("malformed frames are malformed in the way their kind says", () => {
  const trade: Frame = { stream: "btcusdt@aggTrade", symbol: "BTCUSDT", kind: "aggTrade", data: '{"e":"aggTrade","E":5,"a":77,"s":"BTCUSDT","p":"1","q":"1","f":1,"l":1,"T":4,"m":true}' };
  const book: Frame = { stream: "btcusdt@depth5@100ms", symbol: "BTCUSDT", kind: "depth5", data: '{"e":"depthUpdate","E":5,"T":4,"s":"BTCUSDT","U":1,"u":9,"pu":0,"b":[["1","1"]],"a":[["2","1"]]}' };
  const parsedData = (text: string) => (JSON.parse(text) as { data: unknown }).data;

  test("not JSON, not an object, oversized", () => {
    expect(() => JSON.parse(malformedFrame("not-json", trade, 0))).toThrow();
    expect(Array.isArray(JSON.parse(malformedFrame("not-object", trade, 0)))).toBe(true);
    const big = malformedFrame("oversized", trade, 2 * 1024 * 1024);
    expect(big.length).toBe(2 * 1024 * 1024);
    expect((JSON.parse(big) as { stream: string }).stream).toBe("btcusdt@aggTrade");
  });

  test("payloads the parser rejects, for both stream kinds", () => {
    for (const [f, kind] of [
      [trade, "aggTrade"],
      [book, "depth"],
    ] as const) {
      for (const k of ["bad-id-type", "missing-time", "null-data"] as MalformedKind[]) {
        const d = parsedData(malformedFrame(k, f, 0));
        expect(parseData(kind, "BTCUSDT", d).ok).toBe(false);
        expect(eventId(kind, d)).toBeNull();
      }
    }
  });

  test("unknown stream", () => {
    expect((JSON.parse(malformedFrame("unknown-stream", trade, 0)) as { stream: string }).stream).toBe("btcusdt@markPrice");
  });
});

describe("faults against a real client", () => {
  test("duplicates: every frame twice at rate 1, logged per connection", async () => {
    fx = await startFakeExchange({ symbols: ["SANDUSDT"], speed: 20 });
    const ctl = fx.startFaults({ duplicateRate: 1 });
    const c = client(`${fx.marketWsBase}/stream?streams=sandusdt@aggTrade`);
    clients.push(c);
    await waitFor("frames", () => (c.texts.length >= 10 ? true : undefined), 10_000, 20);
    ctl.stop();
    const n = c.texts.length - (c.texts.length % 2);
    for (let i = 0; i < n; i += 2) expect(c.texts[i + 1]).toBe(c.texts[i]);
    expect(ctl.log.duplicates.length).toBeGreaterThanOrEqual(n / 2);
    expect(ctl.log.duplicates.every((d) => d.stream === "sandusdt@aggTrade" && d.connId === 1)).toBe(true);
  });

  test("skipped depth: withheld from everyone, never two in a row per symbol; the next frame's pu names the skipped u", async () => {
    fx = await startFakeExchange({ symbols: ["SANDUSDT"], speed: 20 });
    const ctl = fx.startFaults({ skipDepthRate: 1 });
    const c = client(`${fx.publicWsBase}/stream?streams=sandusdt@depth5@100ms`);
    clients.push(c);
    await waitFor("frames", () => (c.texts.length >= 10 ? true : undefined), 10_000, 20);
    ctl.stop();
    const got = c.texts.map(data);
    const skipped = new Set(ctl.log.skippedDepth.map((s) => s.u));
    for (let i = 1; i < got.length; i++) {
      expect(got[i]!.pu).not.toBe(got[i - 1]!.u);
      expect(skipped.has(got[i]!.pu!)).toBe(true);
    }
  });

  test("withheld trades: never sent, but produced and served over REST", async () => {
    fx = await startFakeExchange({ symbols: ["SANDUSDT"], speed: 20 });
    const ctl = fx.startFaults({ withholdTradeRate: 1 });
    const c = client(`${fx.marketWsBase}/stream?streams=sandusdt@aggTrade`);
    clients.push(c);
    await waitFor("withheld trades", () => (ctl.log.withheldTrades.length >= 3 ? true : undefined), 10_000, 20);
    ctl.stop();
    expect(c.texts.filter((t) => ctl.log.withheldTrades.some((w) => t.includes(`"a":${w.a},`)))).toEqual([]);
    const a = ctl.log.withheldTrades[0]!.a;
    const rest = (await (await fetch(`${fx.restBase}/fapi/v1/aggTrades?symbol=SANDUSDT&fromId=${a}&limit=1`)).json()) as { a: number }[];
    expect(rest[0]!.a).toBe(a);
  });

  test("a silenced connection stays open and keeps getting pings, but no data", async () => {
    fx = await startFakeExchange({ symbols: ["SANDUSDT"], speed: 20, pingIntervalMs: 100 });
    const ctl = fx.startFaults({ silenceEveryMs: 200 });
    const c = client(`${fx.publicWsBase}/stream?streams=sandusdt@depth5@100ms`);
    clients.push(c);
    await waitFor("silenced", () => (ctl.log.silenced.length >= 1 ? true : undefined), 10_000, 20);
    const n = c.texts.length;
    const pings = c.pings;
    await Bun.sleep(600);
    ctl.stop();
    expect(c.texts.length).toBe(n);
    expect(c.pings).toBeGreaterThan(pings);
    expect(fx.openConnections().map((o) => o.id)).toEqual([ctl.log.silenced[0]!.connId]);
  });

  test("drops every N ms cut every open connection (1006); nothing is injected just before a drop", async () => {
    fx = await startFakeExchange({ symbols: ["SANDUSDT"], speed: 20 });
    const ctl = fx.startFaults({ dropEveryMs: 600, duplicateRate: 1, guardMs: 200 });
    const first = client(`${fx.publicWsBase}/stream?streams=sandusdt@depth5@100ms`);
    clients.push(first);
    const closed = new Promise<number>((r) => first.ws.on("close", (code: number) => r(code)));
    expect(await closed).toBe(1006);
    ctl.stop();
    const drop = ctl.log.drops[0]!;
    expect(drop.connIds).toEqual([1]);
    const before = ctl.log.duplicates.filter((d) => d.at <= drop.at);
    expect(before.length).toBeGreaterThan(0);
    for (const d of before) expect(drop.at - d.at).toBeGreaterThanOrEqual(180);
  });

  test("rejected upgrades and REST requests answer 429 with Retry-After, then serve normally", async () => {
    fx = await startFakeExchange({ symbols: ["SANDUSDT"], speed: 20 });
    fx.startFaults({ rejectFirstUpgrades: { count: 1, retryAfterSec: 3 }, rejectFirstRest: { count: 2, status: 418, retryAfterSec: 7 } });
    const r1 = await fetch(`${fx.restBase}/fapi/v1/aggTrades?symbol=SANDUSDT`);
    const r2 = await fetch(`${fx.restBase}/fapi/v1/time`);
    const r3 = await fetch(`${fx.restBase}/fapi/v1/time`);
    expect([r1.status, r1.headers.get("retry-after"), r2.status, r3.status]).toEqual([418, "7", 418, 200]);
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${fx!.marketWsBase}/stream?streams=sandusdt@aggTrade`);
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode!));
    });
    expect(status).toBe(429);
    expect(fx.upgradeAttempts().map((u) => u.status)).toEqual([429]);
    expect(fx.restRequests().map((r) => r.status)).toEqual([418, 418, 200]);
  });
});
