// Tests of the fake Binance exchange, through a real WebSocket client and HTTP, against the real
// recordings it replays.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { aggregateTrades } from "../fake-exchange/fixtures.ts";
import { recordedLoopMs, startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";

const FIXTURES = join(import.meta.dir, "..", "..", "..", "shared", "fixtures", "binance");

class Client {
  readonly texts: string[] = [];
  pings = 0;
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on("message", (d) => this.texts.push(String(d)));
    this.ws.on("ping", () => this.pings++);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
    this.closed = new Promise((resolve) => this.ws.once("close", (code, reason) => resolve({ code, reason: String(reason) })));
  }

  /** Data frames (everything except control responses). */
  frames(): { stream: string; data: any; text: string }[] {
    return this.texts.filter((t) => t.startsWith('{"stream"')).map((text) => ({ ...JSON.parse(text), text }));
  }

  async request(body: { method: string; params?: unknown[]; id: number }): Promise<string> {
    const before = this.texts.length;
    this.ws.send(JSON.stringify(body));
    await until(() => this.texts.slice(before).some((t) => t.endsWith(`"id":${body.id}}`)));
    return this.texts.slice(before).find((t) => t.endsWith(`"id":${body.id}}`))!;
  }
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await Bun.sleep(10);
  }
}

async function open(url: string): Promise<Client> {
  const c = new Client(url);
  await c.opened;
  return c;
}

function byStream<T extends { stream: string }>(frames: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const f of frames) m.set(f.stream, [...(m.get(f.stream) ?? []), f]);
  return m;
}

function expectDepthChain(frames: { data: any }[]): void {
  for (let i = 1; i < frames.length; i++) {
    const [p, c] = [frames[i - 1].data, frames[i].data];
    expect(c.pu).toBe(p.u);
    expect(c.U).toBeGreaterThan(p.u);
    expect(c.u).toBeGreaterThanOrEqual(c.U);
    expect(c.E).toBeGreaterThanOrEqual(p.E);
  }
}

function expectTradeChain(frames: { data: any }[]): void {
  for (let i = 1; i < frames.length; i++) {
    const [p, c] = [frames[i - 1].data, frames[i].data];
    expect(c.a).toBe(p.a + 1);
    expect(c.f).toBe(p.l + 1);
    expect(c.l).toBeGreaterThanOrEqual(c.f);
    expect(c.T).toBeGreaterThanOrEqual(p.T);
  }
}

function expectSaneTop5(d: any): void {
  expect(Object.keys(d)).toEqual(["e", "E", "T", "s", "U", "u", "pu", "b", "a"]);
  expect(d.b).toHaveLength(5);
  expect(d.a).toHaveLength(5);
  for (const side of [d.b, d.a]) for (const [p, q] of side) {
    expect(typeof p).toBe("string");
    expect(Number(q)).toBeGreaterThan(0);
  }
  for (let i = 1; i < 5; i++) {
    expect(Number(d.b[i][0])).toBeLessThan(Number(d.b[i - 1][0]));
    expect(Number(d.a[i][0])).toBeGreaterThan(Number(d.a[i - 1][0]));
  }
  expect(Number(d.b[0][0])).toBeLessThan(Number(d.a[0][0]));
  expect(d.T).toBeLessThanOrEqual(d.E);
}

/**
 * Independent reference: replays BATUSDT's recorded diff stream onto its REST snapshot with plain
 * maps keyed by the price text, and returns the top 5 after the diffs whose u is asked for.
 */
function referenceTop5ByU(wanted: ReadonlySet<number>): Map<number, { b: string[][]; a: string[][] }> {
  const text = readFileSync(join(FIXTURES, "cryptofeed", "BINANCE_FUTURES-1125a2.0"), "utf8");
  let snapshot: any;
  const diffs: any[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("https://fapi.binance.com/fapi/v1/depth?symbol=BATUSDT&")) {
      snapshot = JSON.parse(line.slice(line.indexOf(": ") + 2));
    } else if (line.includes(': {"stream":"batusdt@depth@100ms"')) {
      diffs.push(JSON.parse(line.slice(line.indexOf(": ") + 2)).data);
    }
  }
  const bids = new Map<string, string>(snapshot.bids);
  const asks = new Map<string, string>(snapshot.asks);
  const top = (m: Map<string, string>, desc: boolean) =>
    [...m.entries()].sort((x, y) => (desc ? Number(y[0]) - Number(x[0]) : Number(x[0]) - Number(y[0]))).slice(0, 5);
  const out = new Map<number, { b: string[][]; a: string[][] }>();
  let started = false;
  for (const d of diffs) {
    if (d.u < snapshot.lastUpdateId) continue;
    if (!started) {
      expect(d.U).toBeLessThanOrEqual(snapshot.lastUpdateId);
      started = true;
    }
    for (const [side, levels] of [[bids, d.b], [asks, d.a]] as const) {
      for (const [p, q] of levels) {
        if (Number(q) === 0) side.delete(p);
        else side.set(p, q);
      }
    }
    if (wanted.has(d.u)) out.set(d.u, { b: top(bids, true), a: top(asks, false) });
  }
  return out;
}

describe("fake exchange: protocol, data and records (cryptofeed symbols, speed 20)", () => {
  let fx: FakeExchange;
  let pub: Client;
  let mkt: Client;
  let raw: Client;
  let startedAt: number;

  beforeAll(async () => {
    startedAt = Date.now();
    fx = await startFakeExchange({ symbols: ["BATUSDT", "CHRUSDT", "CTKUSDT", "NEOUSDT", "SANDUSDT"], speed: 20, pingIntervalMs: 200 });
    // Nobody is connected yet: the exchange must still be trading.
    await until(() => fx.producedTrades("SANDUSDT").length > 0);
    pub = await open(`${fx.publicWsBase}/stream?streams=batusdt@depth5@100ms/sandusdt@depth5@100ms/neousdt@aggTrade`);
    mkt = await open(`${fx.marketWsBase}/stream?streams=sandusdt@aggTrade/neousdt@aggTrade/batusdt@depth5@100ms`);
    raw = await open(`${fx.publicWsBase}/ws/ctkusdt@depth5@100ms`);
    await until(() => pub.frames().length >= 150 && mkt.frames().length >= 30);
  });

  afterAll(async () => {
    for (const c of [pub, mkt, raw]) c?.ws.close();
    await fx?.stop();
  });

  test("combined wrapper, lowercase stream names, upper-case data.s", () => {
    for (const c of [pub, mkt]) {
      for (const f of c.frames()) {
        expect(Object.keys(JSON.parse(f.text))).toEqual(["stream", "data"]);
        expect(f.stream).toBe(f.stream.toLowerCase().replace("@aggtrade", "@aggTrade"));
        expect(f.data.s).toBe(f.stream.split("@")[0].toUpperCase());
      }
    }
  });

  test("depth only on /public, aggTrade only on /market; wrong-route streams accepted but silent", async () => {
    const pubStreams = new Set(pub.frames().map((f) => f.stream));
    const mktStreams = new Set(mkt.frames().map((f) => f.stream));
    expect([...pubStreams].sort()).toEqual(["batusdt@depth5@100ms", "sandusdt@depth5@100ms"]);
    expect([...mktStreams].sort()).toEqual(["neousdt@aggTrade", "sandusdt@aggTrade"]);
    expect(await pub.request({ method: "LIST_SUBSCRIPTIONS", id: 3 })).toBe(
      '{"result":["batusdt@depth5@100ms","sandusdt@depth5@100ms","neousdt@aggTrade"],"id":3}',
    );
  });

  test("SUBSCRIBE / UNSUBSCRIBE answered unwrapped and take effect", async () => {
    expect(await mkt.request({ method: "SUBSCRIBE", params: ["ctkusdt@aggTrade"], id: 1 })).toBe('{"result":null,"id":1}');
    await until(() => mkt.frames().some((f) => f.stream === "ctkusdt@aggTrade"));
    expect(await mkt.request({ method: "UNSUBSCRIBE", params: ["ctkusdt@aggTrade"], id: 2 })).toBe('{"result":null,"id":2}');
    const n = mkt.frames().filter((f) => f.stream === "ctkusdt@aggTrade").length;
    await Bun.sleep(300);
    expect(mkt.frames().filter((f) => f.stream === "ctkusdt@aggTrade").length).toBe(n);
    expect(await mkt.request({ method: "NOPE", id: 4 })).toContain('"code":2');
  });

  test("raw /ws mode sends bare payloads", () => {
    expect(raw.texts.length).toBeGreaterThan(5);
    for (const t of raw.texts) {
      const d = JSON.parse(t);
      expect(d.e).toBe("depthUpdate");
      expect(d.s).toBe("CTKUSDT");
    }
  });

  test("depth5: pu chains, books sorted and uncrossed, times rewritten to now", () => {
    for (const [, frames] of byStream(pub.frames())) {
      expect(frames.length).toBeGreaterThan(20);
      expectDepthChain(frames);
      for (const f of frames) {
        expectSaneTop5(f.data);
        expect(f.data.E).toBeGreaterThanOrEqual(startedAt);
        expect(f.data.E).toBeLessThanOrEqual(Date.now());
      }
    }
  });

  test("depth5 books equal an independent reconstruction of the recorded diff stream", () => {
    const frames = pub.frames().filter((f) => f.stream === "batusdt@depth5@100ms");
    const reference = referenceTop5ByU(new Set(frames.map((f) => f.data.u)));
    let compared = 0;
    for (const f of frames) {
      const ref = reference.get(f.data.u);
      expect(ref).toBeDefined(); // still in loop 0, so ids are the recorded ones
      expect(f.data.b).toEqual(ref!.b);
      expect(f.data.a).toEqual(ref!.a);
      compared++;
    }
    expect(compared).toBeGreaterThan(20);
  });

  test("aggTrade: a and f/l continuous, payload fields as recorded", () => {
    // ctkusdt@aggTrade was only subscribed briefly above.
    for (const [, frames] of byStream(mkt.frames().filter((f) => f.stream !== "ctkusdt@aggTrade"))) {
      expect(frames.length).toBeGreaterThan(3);
      expectTradeChain(frames);
      for (const f of frames) expect(Object.keys(f.data)).toEqual(["e", "E", "a", "s", "p", "q", "f", "l", "T", "m"]);
    }
  });

  test("records: sent frames equal what the client received; produced trades include undelivered ones", () => {
    const conn = fx.connections().find((c) => c.url.startsWith("/market/"))!;
    const sent = fx.sentFrames(conn.id).map((f) => f.text);
    expect(sent.slice(0, mkt.texts.length)).toEqual(mkt.texts);
    const produced = fx.producedTrades("SANDUSDT");
    const delivered = mkt.frames().filter((f) => f.stream === "sandusdt@aggTrade");
    expect(produced[0].a).toBeLessThan(delivered[0].data.a); // traded before anyone connected
    for (let i = 1; i < produced.length; i++) expect(produced[i].a).toBe(produced[i - 1].a + 1);
    const byA = new Map(produced.map((t) => [t.a, t.text]));
    for (const f of delivered) expect(JSON.stringify(f.data)).toBe(byA.get(f.data.a)!);
  });

  test("server pings arrive and pongs are recorded", () => {
    expect(pub.pings).toBeGreaterThan(0);
    const conn = fx.connections().find((c) => c.url.startsWith("/public/stream"))!;
    expect(conn.pingsSent).toBeGreaterThan(0);
    expect(conn.pongsReceived).toBeGreaterThan(0);
  });

  test("REST aggTrades serves the produced history in the REST shape", async () => {
    const produced = fx.producedTrades("SANDUSDT");
    const res = await fetch(`${fx.restBase}/fapi/v1/aggTrades?symbol=SANDUSDT&fromId=${produced[1].a}&limit=1000`);
    expect(res.status).toBe(200);
    expect(Number(res.headers.get("x-mbx-used-weight-1m"))).toBeGreaterThanOrEqual(20);
    const body = (await res.json()) as any[];
    expect(body.length).toBeGreaterThanOrEqual(produced.length - 1);
    produced.slice(1).forEach((t, i) => {
      const { e, E, s, ...rest } = JSON.parse(t.text);
      expect(Object.keys(body[i])).toEqual(["a", "p", "q", "f", "l", "T", "m"]);
      expect(body[i]).toEqual(rest);
    });
    const latest = (await (await fetch(`${fx.restBase}/fapi/v1/aggTrades?symbol=SANDUSDT&limit=2`)).json()) as any[];
    expect(latest).toHaveLength(2);
    expect(latest[1].a).toBe(latest[0].a + 1);
    const bad = await fetch(`${fx.restBase}/fapi/v1/aggTrades?symbol=FOOUSDT`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ code: -1121, msg: "Invalid symbol." });
    expect((await fetch(`${fx.restBase}/fapi/v1/aggTrades?symbol=SANDUSDT&limit=1001`)).status).toBe(400);
  });

  test("REST depth and exchangeInfo", async () => {
    const depth = (await (await fetch(`${fx.restBase}/fapi/v1/depth?symbol=BATUSDT&limit=100`)).json()) as any;
    expect(depth.bids).toHaveLength(100);
    expect(Number(depth.bids[0][0])).toBeLessThan(Number(depth.asks[0][0]));
    expect(depth.lastUpdateId).toBeGreaterThan(0);
    const info = (await (await fetch(`${fx.restBase}/fapi/v1/exchangeInfo`)).json()) as any;
    expect(Math.abs(info.serverTime - Date.now())).toBeLessThan(5000);
    const bySymbol = new Map(info.symbols.map((s: any) => [s.symbol, s]));
    for (const s of fx.symbols) expect(bySymbol.has(s)).toBe(true);
    expect((bySymbol.get("BTCSTUSDT") as any).status).toBe("PENDING_TRADING");
    expect((bySymbol.get("BTCUSDT_210924") as any).contractType).toBe("CURRENT_QUARTER");
  });

  test("faults: silence, drop, rejected upgrade with Retry-After", async () => {
    fx.silence("public", true);
    await Bun.sleep(50);
    const n = pub.frames().length;
    const m = mkt.frames().length;
    await Bun.sleep(400);
    expect(pub.frames().length).toBe(n);
    expect(mkt.frames().length).toBeGreaterThan(m);
    fx.silence("public", false);
    await until(() => pub.frames().length > n);

    expect(fx.dropConnections("market")).toBe(1);
    expect((await mkt.closed).code).toBe(1006);

    fx.rejectUpgrades(1, 429, 7);
    const status = await new Promise<{ status: number; retryAfter: string | undefined }>((resolve) => {
      const ws = new WebSocket(`${fx.marketWsBase}/stream?streams=sandusdt@aggTrade`);
      ws.on("unexpected-response", (_req, res) => resolve({ status: res.statusCode!, retryAfter: res.headers["retry-after"] as string }));
    });
    expect(status).toEqual({ status: 429, retryAfter: "7" });
    const again = await open(`${fx.marketWsBase}/stream?streams=sandusdt@aggTrade`);
    await until(() => again.frames().length > 0);
    again.ws.close();
    expect(fx.upgradeAttempts().map((u) => u.status).slice(-2)).toEqual([429, 101]);
  });
});

describe("fake exchange: setSpeed (the live benchmark's warm-up)", () => {
  test("the clock stays continuous, runs at the new speed, and the id chains stay whole across the change", async () => {
    const fx = await startFakeExchange({ symbols: ["BTCUSDT"], syntheticSymbols: 2, speed: 1 });
    try {
      const sym = fx.symbols[0]!.toLowerCase();
      const mkt = await open(`${fx.marketWsBase}/stream?streams=${sym}@aggTrade`);
      const pub = await open(`${fx.publicWsBase}/stream?streams=${sym}@depth5@100ms`);
      await Bun.sleep(500);
      const slow = mkt.frames().length + pub.frames().length;
      const x0 = fx.exchangeTime();
      fx.setSpeed(20);
      expect(fx.exchangeTime() - x0).toBeGreaterThanOrEqual(0);
      expect(fx.exchangeTime() - x0).toBeLessThan(50);
      const w0 = performance.now();
      await Bun.sleep(500);
      const advanced = fx.exchangeTime() - x0;
      const wall = performance.now() - w0;
      expect(advanced).toBeGreaterThan(wall * 15);
      expect(advanced).toBeLessThan(wall * 25);
      const fast = mkt.frames().length + pub.frames().length - slow;
      expect(fast).toBeGreaterThan(slow * 5);
      expect(() => fx.setSpeed(0)).toThrow("speed must be > 0");
      expectTradeChain(mkt.frames());
      expectDepthChain(pub.frames());
      mkt.ws.close();
      pub.ws.close();
    } finally {
      await fx.stop();
    }
  });
});

describe("fake exchange: loop boundary keeps every id series continuous", () => {
  test("cryptofeed symbols", async () => {
    const period = recordedLoopMs("SANDUSDT");
    // Start 6 recorded seconds before the wrap: at speed 20 the loop ends ~0.3 s after start.
    const fx = await startFakeExchange({ symbols: ["SANDUSDT", "NEOUSDT"], speed: 20, startOffsetMs: period - 6000 });
    try {
      const pub = await open(`${fx.publicWsBase}/stream?streams=sandusdt@depth5@100ms/neousdt@depth5@100ms`);
      const mkt = await open(`${fx.marketWsBase}/stream?streams=sandusdt@aggTrade/neousdt@aggTrade`);
      await until(() => fx.exchangeTime() > period + 8000);
      for (const [, frames] of byStream(pub.frames())) expectDepthChain(frames);
      for (const [, frames] of byStream(mkt.frames())) expectTradeChain(frames);
      // The recording's first SAND aggTrade id is 9445517 and it holds 166 trades: ids past the
      // last recorded one prove the wrap was crossed.
      const sand = mkt.frames().filter((f) => f.stream === "sandusdt@aggTrade").map((f) => f.data.a);
      expect(sand.some((a) => a < 9445517 + 166)).toBe(true);
      expect(sand.some((a) => a >= 9445517 + 166)).toBe(true);
      pub.ws.close();
      mkt.ws.close();
    } finally {
      await fx.stop();
    }
  });

  test("hftbacktest BTCUSDT/ETHUSDT (trades aggregated from @trade)", async () => {
    const fx = await startFakeExchange({ symbols: ["BTCUSDT", "ETHUSDT"], speed: 20, startOffsetMs: 344_878 - 4000 });
    try {
      expect(fx.loopPeriodMs("BTCUSDT")).toBe(344_878);
      const pub = await open(`${fx.publicWsBase}/stream?streams=btcusdt@depth5@100ms/ethusdt@depth5@100ms`);
      const mkt = await open(`${fx.marketWsBase}/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade`);
      await until(() => fx.exchangeTime() > 344_878 + 6000);
      for (const [, frames] of byStream(pub.frames())) {
        expectDepthChain(frames);
        for (const f of frames) expectSaneTop5(f.data);
      }
      for (const [, frames] of byStream(mkt.frames())) expectTradeChain(frames);
      const btc = fx.producedTrades("BTCUSDT").map((t) => JSON.parse(t.text));
      expectTradeChain(btc.map((data) => ({ data })));
      // Loop 1 begins with the recording's first trade id shifted by the 21,313 recorded trades.
      const wrapped = btc.findIndex((t, i) => i > 0 && t.f === 5266583935 + 21313);
      expect(wrapped).toBeGreaterThan(0);
      pub.ws.close();
      mkt.ws.close();
    } finally {
      await fx.stop();
    }
  });
});

test("@trade prints aggregate by price, side and trade time, with exact decimal quantities", () => {
  const t = (id: number, p: string, q: string, m: boolean, T: number) => ({ E: T + 5, T, t: id, p, q, m });
  const agg = aggregateTrades([
    t(100, "1.5", "0.1", true, 1000),
    t(101, "1.5", "0.20", true, 1000),
    t(102, "1.5", "0.7", false, 1000), // other side
    t(103, "1.6", "1", false, 1000), // other price
    t(104, "1.6", "2", false, 1001), // other time
  ]);
  expect(agg.map(({ a, f, l, q }) => ({ a, f, l, q }))).toEqual([
    { a: 50, f: 100, l: 101, q: "0.30" },
    { a: 51, f: 102, l: 102, q: "0.7" },
    { a: 52, f: 103, l: 103, q: "1" },
    { a: 53, f: 104, l: 104, q: "2" },
  ]);
});

describe("fake exchange: limits and synthetic symbols", () => {
  test("rate limit: violations recorded, connection closed with 1008 when enforced", async () => {
    const fx = await startFakeExchange({ symbols: ["SANDUSDT"], syntheticSymbols: 3, syntheticSource: "SANDUSDT", enforceRateLimit: true, speed: 20 });
    try {
      expect(fx.symbols).toEqual(["SANDUSDT", "SYN001USDT", "SYN002USDT", "SYN003USDT"]);
      const c = await open(`${fx.marketWsBase}/stream?streams=syn002usdt@aggTrade`);
      await until(() => c.frames().length > 0);
      expect(c.frames()[0].data.s).toBe("SYN002USDT");
      // 25 in a burst: even if they straddle a second boundary, one second holds more than 10.
      for (let i = 0; i < 25; i++) c.ws.send(JSON.stringify({ method: "LIST_SUBSCRIPTIONS", id: i }));
      expect((await c.closed).code).toBe(1008);
      const rec = fx.connections()[0];
      expect(rec.rateViolations.length).toBe(1);
      expect(rec.rateViolations[0].count).toBe(11);
      const info = (await (await fetch(`${fx.restBase}/fapi/v1/exchangeInfo`)).json()) as any;
      const syn = info.symbols.find((s: any) => s.symbol === "SYN003USDT");
      expect(syn).toMatchObject({ pair: "SYN003USDT", baseAsset: "SYN003", status: "TRADING", contractType: "PERPETUAL" });
    } finally {
      await fx.stop();
    }
  });
});

test("the CLI: --help prints the usage and exits 0; an unknown option exits 64 pointing at --help", () => {
  const main = join(import.meta.dir, "..", "fake-exchange", "main.ts");
  for (const flag of ["--help", "-h"]) {
    const r = Bun.spawnSync([process.execPath, main, flag]);
    expect(r.exitCode).toBe(0);
    const out = r.stdout.toString();
    expect(out).toStartWith("usage: bun test/fake-exchange/main.ts");
    for (const opt of ["--speed", "--symbols", "--port", "--synthetic", "--synthetic-source", "--ping-interval-ms", "--trade-history", "--record-frames", "--faults", "--faults-for-ms", "--diff-depth"]) {
      expect(out).toContain(`  ${opt} `);
    }
  }
  const bad = Bun.spawnSync([process.execPath, main, "--bogus"]);
  expect(bad.exitCode).toBe(64);
  expect(bad.stderr.toString()).toBe("fake-exchange: Unknown option '--bogus' (--help lists the options)\n");
});
