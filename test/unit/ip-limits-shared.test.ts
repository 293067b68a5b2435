/**
 * Binance counts weight and bans per IP, and keeps banning an IP that goes on sending after a 429.
 * With `trade.allow_mainnet` the signed trading transport and the market-data client send to the
 * same host from one process: a 429/418 answered to either must hold the other for Retry-After, the
 * first request after the pause must go alone, and the minute's weight is one figure. Clients of
 * different hosts (mainnet data, testnet trading) share nothing. Real HTTP on 127.0.0.1: one small
 * server per test stands for a host, so each test starts with limits of its own.
 */
import { afterEach, expect, test } from "bun:test";
import { parseExchangeInfo } from "../../src/exchange/binance/execution/filters.ts";
import { OrderGateway } from "../../src/exchange/binance/execution/gateway.ts";
import { SignedRest } from "../../src/exchange/binance/execution/signed-rest.ts";
import { hmacSigner } from "../../src/exchange/binance/execution/signer.ts";
import { IpLimits, ipLimitsOf } from "../../src/exchange/binance/ip-limits.ts";
import { RestClient } from "../../src/exchange/binance/rest-client.ts";
import { loadExchangeInfoText } from "../fake-exchange/fixtures.ts";

const RETRY_AFTER_SEC = 2;

interface Seen {
  readonly path: string;
  readonly at: number;
  readonly status: number;
  /** Requests in flight at the server when this one arrived (itself included). */
  readonly concurrent: number;
}

/** A REST host: answers after `delayMs`, the next `throttle(n)` requests 429 with Retry-After. */
function startHost(delayMs = 0) {
  const seen: Seen[] = [];
  let throttleNext = 0;
  let inFlight = 0;
  let weight = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const path = new URL(req.url).pathname;
      inFlight++;
      const concurrent = inFlight;
      try {
        weight += path === "/fapi/v1/exchangeInfo" ? 1 : 5;
        const headers = { "content-type": "application/json", "x-mbx-used-weight-1m": String(weight) };
        if (delayMs > 0) await Bun.sleep(delayMs);
        if (throttleNext > 0) {
          throttleNext--;
          seen.push({ path, at: Date.now(), status: 429, concurrent });
          return new Response(JSON.stringify({ code: -1003, msg: "Too many requests" }), { status: 429, headers: { ...headers, "retry-after": String(RETRY_AFTER_SEC) } });
        }
        seen.push({ path, at: Date.now(), status: 200, concurrent });
        const body = path === "/fapi/v1/exchangeInfo" ? loadExchangeInfoText() : path === "/fapi/v1/time" ? JSON.stringify({ serverTime: Date.now() }) : "{}";
        return new Response(body, { status: 200, headers });
      } finally {
        inFlight--;
      }
    },
  });
  return { base: `http://127.0.0.1:${server.port}`, seen, throttle: (n: number) => (throttleNext = n), stop: () => server.stop(true) };
}

const hosts: ReturnType<typeof startHost>[] = [];
function host(delayMs = 0) {
  const h = startHost(delayMs);
  hosts.push(h);
  return h;
}
afterEach(() => {
  for (const h of hosts.splice(0)) h.stop();
});

const signedRest = (base: string) =>
  new SignedRest({ baseUrl: base, creds: { apiKey: "k-0123456789", signer: hmacSigner("s-0123456789") }, recvWindowMs: 5000, timeoutMs: 5000, timeSyncEveryMs: 60_000 });

test("a 429 answered to market data holds the trading transport on the same host, and orders are refused with the reason", async () => {
  const h = host();
  const data = new RestClient({ baseUrl: h.base, weightBudget1m: 1800 });
  const trade = signedRest(h.base);
  const info = await trade.publicGet("/fapi/v1/exchangeInfo");
  expect(info.kind).toBe("ok");
  const { filters, limits } = parseExchangeInfo((info as { body: unknown }).body);
  const gateway = new OrderGateway(trade, filters, limits, { resolveDeadlineMs: 500, maxSends: 3, orderLimitShare: 0.8 });

  h.throttle(1);
  const r = await data.get("/fapi/v1/depth", { symbol: "BTCUSDT", limit: 5 }, 2);
  expect(r.status).toBe(429);
  const throttledAt = Date.now();

  // A pause longer than the gateway's deadline: the order is refused without being sent.
  const refused = await gateway.placeOrder({ symbol: "BTCUSDT", side: "BUY", type: "MARKET", qty: 0.01, price: null, refPrice: 30_000, reduceOnly: false, clientOrderId: "ip-1" });
  expect(refused.ok).toBe(false);
  expect(refused.ok === false && refused.reason).toContain("429/418");
  expect(h.seen.filter((s) => s.path === "/fapi/v1/order")).toEqual([]);

  // Other signed-transport requests wait the pause out, then go.
  const later = await trade.publicGet("/fapi/v1/exchangeInfo");
  expect(later.kind).toBe("ok");
  expect(h.seen.at(-1)!.at - throttledAt).toBeGreaterThanOrEqual(RETRY_AFTER_SEC * 1000 - 100);
}, 10_000);

test("a 429 answered to the trading transport pauses market data; after the pause one request goes alone", async () => {
  const h = host(150);
  const data = new RestClient({ baseUrl: h.base, weightBudget1m: 1800 });
  const trade = signedRest(h.base);

  h.throttle(1);
  const r = await trade.publicGet("/fapi/v1/exchangeInfo");
  expect(r.kind === "rejected" && r.status).toBe(429);
  const throttledAt = Date.now();

  const answers = await Promise.all([
    data.get("/fapi/v1/depth", { symbol: "BTCUSDT", limit: 5 }, 2),
    data.user().get("/fapi/v1/depth", { symbol: "ETHUSDT", limit: 5 }, 2),
    trade.publicGet("/fapi/v1/exchangeInfo"),
  ]);
  expect(answers.map((a) => ("kind" in a ? a.kind : a.ok))).toEqual([true, true, "ok"]);
  const after = h.seen.slice(1);
  expect(after).toHaveLength(3);
  for (const s of after) expect(s.at - throttledAt).toBeGreaterThanOrEqual(RETRY_AFTER_SEC * 1000 - 100);
  // The probe was alone at the server; the other two went once it had its answer.
  expect(after[0]!.concurrent).toBe(1);
  expect(after[1]!.at - after[0]!.at).toBeGreaterThanOrEqual(100);
}, 10_000);

test("the minute's weight is the host's: the trading transport's answers show in the market-data client and back", async () => {
  const h = host();
  const data = new RestClient({ baseUrl: h.base, weightBudget1m: 1800 });
  const trade = signedRest(h.base);
  await trade.publicGet("/fapi/v1/exchangeInfo");
  expect(data.counters.usedWeight1m).toBe(1);
  await data.get("/fapi/v1/depth", { symbol: "BTCUSDT", limit: 5 }, 2);
  expect(trade.limits.usedWeight1m).toBe(6);
});

test("clients of different hosts share nothing (mainnet data beside testnet trading)", async () => {
  const mainnet = host();
  const testnet = host();
  const data = new RestClient({ baseUrl: mainnet.base, weightBudget1m: 1800 });
  const trade = signedRest(testnet.base);
  mainnet.throttle(1);
  expect((await data.get("/fapi/v1/depth", { symbol: "BTCUSDT", limit: 5 }, 2)).status).toBe(429);
  const t0 = Date.now();
  expect((await trade.publicGet("/fapi/v1/exchangeInfo")).kind).toBe("ok");
  expect(Date.now() - t0).toBeLessThan(1500); // sharing would hold it for Retry-After (2 s)
  expect(trade.limits.pausedUntil).toBe(0);
});

test("every 429/418 of the host is told once to its listeners, whichever client received it; the seconds left count down to 0", async () => {
  const h = host();
  const data = new RestClient({ baseUrl: h.base, weightBudget1m: 1800 });
  const trade = signedRest(h.base);
  const told: [number, number][] = [];
  const stop = ipLimitsOf(h.base).onThrottle((t) => told.push([t.status, t.pauseMs]));
  try {
    h.throttle(1);
    await data.get("/fapi/v1/depth", { symbol: "BTCUSDT", limit: 5 }, 2);
    expect(data.counters.pausedSec).toBe(RETRY_AFTER_SEC);
    h.throttle(1);
    await trade.publicGet("/fapi/v1/exchangeInfo");
    expect(told).toEqual([
      [429, RETRY_AFTER_SEC * 1000],
      [429, RETRY_AFTER_SEC * 1000],
    ]);
    // The trading request waited out the first pause, then set a second one.
    expect(data.counters.pausedSec).toBe(RETRY_AFTER_SEC);
    await Bun.sleep(RETRY_AFTER_SEC * 1000 + 50);
    expect(data.counters.pausedSec).toBe(0);
  } finally {
    stop();
  }
}, 10_000);

test("requests in flight together that all come back 429 are one pause, told once; an answer asking for longer is told again", async () => {
  const h = host(100);
  const data = new RestClient({ baseUrl: h.base, weightBudget1m: 1800 });
  const told: number[] = [];
  const stop = ipLimitsOf(h.base).onThrottle((t) => told.push(t.status));
  try {
    h.throttle(3);
    await Promise.all([0, 1, 2].map(() => data.get("/fapi/v1/depth", { symbol: "BTCUSDT", limit: 5 }, 2)));
    const throttled = h.seen.filter((s) => s.status === 429);
    expect(throttled.length).toBe(3);
    expect(Math.max(...throttled.map((s) => s.concurrent))).toBeGreaterThan(1);
    expect(told).toEqual([429]);
  } finally {
    stop();
  }
  // The same rule on the clock alone: a ban answered during a 429's pause lengthens it, and is said.
  const ip = new IpLimits();
  const said: [number, number][] = [];
  ip.onThrottle((t) => said.push([t.status, t.pauseMs]));
  const t0 = 1_000_000;
  ip.throttled(429, "1", undefined, t0);
  ip.throttled(429, "1", undefined, t0 + 40);
  ip.throttled(418, "600", undefined, t0 + 60);
  ip.throttled(418, "600", undefined, t0 + 90);
  ip.throttled(429, "1", undefined, t0 + 700_000);
  expect(said).toEqual([
    [429, 1000],
    [418, 600_000],
    [429, 1000],
  ]);
}, 10_000);
