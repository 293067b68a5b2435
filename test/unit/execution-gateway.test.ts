// The order gateway, signed transport and user stream against the fake testnet (real HTTP and
// WebSocket on 127.0.0.1), matching against the replayed real SANDUSDT book.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac, generateKeyPairSync } from "node:crypto";
import type { FakeExchange } from "../fake-exchange/index.ts";
import { startFakeTestnet, type FakeTestnet } from "../fake-testnet/index.ts";
import { applyFilters, parseExchangeInfo, smallestMarketNotional } from "../../src/exchange/binance/execution/filters.ts";
import { OrderGateway } from "../../src/exchange/binance/execution/gateway.ts";
import { ed25519Signer, hmacSigner, type Signer } from "../../src/exchange/binance/execution/signer.ts";
import type { VenueAudit } from "../../src/core/execution.ts";
import { SignedRest } from "../../src/exchange/binance/execution/signed-rest.ts";
import { UserStream } from "../../src/exchange/binance/execution/user-stream.ts";
import { startVenue } from "./trade-unit-support.ts";

const SYMBOL = "SANDUSDT";
const API_KEY = "testkey-0123456789abcdef";
const SECRET = "testsecret-fedcba9876543210-do-not-print";

let fx: FakeExchange;
let tn: FakeTestnet;

async function gatewayFor(testnet: FakeTestnet, signer: Signer, audit: VenueAudit[] = [], timeoutMs = 800): Promise<OrderGateway> {
  const rest = new SignedRest({ baseUrl: testnet.restBase, creds: { apiKey: API_KEY, signer }, recvWindowMs: 5000, timeoutMs, timeSyncEveryMs: 60_000, onAudit: (e) => audit.push(e) });
  const info = await rest.publicGet("/fapi/v1/exchangeInfo");
  if (info.kind !== "ok") throw new Error("exchangeInfo");
  const { filters, limits } = parseExchangeInfo(info.body);
  await rest.syncTime();
  return new OrderGateway(rest, filters, limits, { resolveDeadlineMs: 3000, maxSends: 3, orderLimitShare: 0.8 });
}

/** A raw signed request, for checking the fake's own rules. */
async function raw(method: string, path: string, params: Record<string, string>, secret = SECRET, tsOffset = 0): Promise<{ status: number; body: any; headers: Headers }> {
  const q = new URLSearchParams({ ...params, timestamp: String(Date.now() + tsOffset) }).toString();
  const sig = createHmac("sha256", secret).update(q).digest("hex");
  const res = await fetch(`${tn.restBase}${path}?${q}&signature=${sig}`, { method, headers: { "X-MBX-APIKEY": API_KEY } });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

function mid(): number {
  const d = JSON.parse(fx.lastDepth(SYMBOL)!);
  return (Number(d.b[0][0]) + Number(d.a[0][0])) / 2;
}

beforeAll(async () => {
  ({ fx, tn } = await startVenue(SYMBOL, API_KEY, SECRET, { orderLimit10s: 50 }));
});
afterAll(async () => {
  await tn.stop();
  await fx.stop();
});

describe("fake testnet rules (raw requests)", () => {
  test("a bad signature is -1022, a stale or future timestamp -1021", async () => {
    expect((await raw("GET", "/fapi/v2/account", {}, "wrong-secret")).body.code).toBe(-1022);
    expect((await raw("GET", "/fapi/v2/account", {}, SECRET, -6000)).body.code).toBe(-1021);
    expect((await raw("GET", "/fapi/v2/account", {}, SECRET, 1500)).body.code).toBe(-1021);
    expect((await raw("GET", "/fapi/v2/account", { recvWindow: "10000" }, SECRET, -6000)).status).toBe(200);
  });

  test("precision -1111, min notional -4164, margin -2019, plain STOP_MARKET -4120, duplicate id -4116", async () => {
    const m = { symbol: SYMBOL, side: "BUY", type: "MARKET" };
    expect((await raw("POST", "/fapi/v1/order", { ...m, quantity: "1.5" })).body.code).toBe(-1111);
    expect((await raw("POST", "/fapi/v1/order", { ...m, type: "LIMIT", timeInForce: "GTC", quantity: "100", price: "0.123456789" })).body.code).toBe(-1111);
    expect((await raw("POST", "/fapi/v1/order", { ...m, quantity: "1" })).body.code).toBe(-4164);
    expect((await raw("POST", "/fapi/v1/order", { ...m, quantity: "900000" })).body.code).toBe(-2019);
    expect((await raw("POST", "/fapi/v1/order", { ...m, type: "STOP_MARKET", stopPrice: "0.1", quantity: "100" })).body.code).toBe(-4120);
    const ok = await raw("POST", "/fapi/v1/order", { ...m, quantity: "100", newClientOrderId: "dup-1" });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-mbx-order-count-10s")).not.toBeNull();
    expect((await raw("POST", "/fapi/v1/order", { ...m, quantity: "100", newClientOrderId: "dup-1" })).body.code).toBe(-4116);
    await raw("POST", "/fapi/v1/order", { ...m, side: "SELL", quantity: "100", reduceOnly: "true" });
    expect(tn.server.ledger.position(SYMBOL).qty).toBe(0);
  });

  test("order-count limit answers 429 with Retry-After", async () => {
    const small = await startFakeTestnet({ exchange: fx, apiKey: API_KEY, secret: SECRET, orderLimit10s: 2 });
    try {
      const send = async () => {
        const q = new URLSearchParams({ symbol: SYMBOL, side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "100", price: (Math.floor(mid() * 0.9 * 1e5) / 1e5).toFixed(5), timestamp: String(Date.now()) }).toString();
        return fetch(`${small.restBase}/fapi/v1/order?${q}&signature=${createHmac("sha256", SECRET).update(q).digest("hex")}`, { method: "POST", headers: { "X-MBX-APIKEY": API_KEY } });
      };
      expect((await send()).status).toBe(200);
      expect((await send()).status).toBe(200);
      const third = await send();
      expect(third.status).toBe(429);
      expect(third.headers.get("retry-after")).not.toBeNull();
      expect(((await third.json()) as { code: number }).code).toBe(-1015);
    } finally {
      await small.stop();
    }
  });
});

describe("gateway", () => {
  test("MARKET order fills against the replayed book; quantities are put on the step grid", async () => {
    const gw = await gatewayFor(tn, hmacSigner(SECRET));
    const before = tn.server.ledger.fills.length;
    const r = await gw.placeOrder({ symbol: SYMBOL, side: "BUY", type: "MARKET", qty: 60.7, price: null, refPrice: mid(), reduceOnly: false, clientOrderId: "gw-mkt-1" });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.status).toBe("FILLED");
    expect(r.value.origQty).toBe(60);
    const fills = tn.server.ledger.fills.slice(before);
    expect(fills.reduce((a, f) => a + f.qty, 0)).toBe(60);
    const book = JSON.parse(fx.lastDepth(SYMBOL)!);
    expect(fills[0]!.price).toBeGreaterThanOrEqual(Number(book.a[0][0]) * 0.95);
    const close = await gw.placeOrder({ symbol: SYMBOL, side: "SELL", type: "MARKET", qty: 60, price: null, refPrice: mid(), reduceOnly: true, clientOrderId: "gw-mkt-1c" });
    expect(close.ok).toBe(true);
    expect(tn.server.ledger.position(SYMBOL).qty).toBe(0);
  });

  test("a notional below the minimum is refused before sending", async () => {
    const audit: VenueAudit[] = [];
    const gw = await gatewayFor(tn, hmacSigner(SECRET), audit);
    const r = await gw.placeOrder({ symbol: SYMBOL, side: "BUY", type: "MARKET", qty: 2, price: null, refPrice: mid(), reduceOnly: false, clientOrderId: "gw-small" });
    expect(r.ok).toBe(false);
    expect(audit.filter((a) => a.path === "/fapi/v1/order")).toHaveLength(0);
    // Marked as refused by a filter before sending (the trader counts it as no order sent).
    if (!r.ok) expect({ filter: r.filter, attempts: r.attempts, code: r.code }).toEqual({ filter: "min_notional", attempts: 0, code: null });
    const tiny = await gw.placeOrder({ symbol: SYMBOL, side: "SELL", type: "MARKET", qty: 0.4, price: null, refPrice: mid(), reduceOnly: true, clientOrderId: "gw-tiny" });
    expect(!tiny.ok && tiny.filter).toBe("min_qty");
    const unlisted = await gw.placeOrder({ symbol: "NOPEUSDT", side: "BUY", type: "MARKET", qty: 1, price: null, refPrice: 1, reduceOnly: false, clientOrderId: "gw-nope" });
    expect(!unlisted.ok && unlisted.filter).toBe("unlisted");
  });

  test("the smallest order the filters accept: the step, the minimum quantity or the minimum notional, on the step grid", () => {
    const f = { symbol: "X", tickSize: 0.01, tickDecimals: 2, minPrice: 1, maxPrice: 1e6, stepSize: 0.001, stepDecimals: 3, minQty: 0.001, maxQty: 1000, marketStepSize: 0.001, marketStepDecimals: 3, marketMinQty: 0.001, marketMaxQty: 1000, minNotional: 5 };
    // ETHUSDT-like at 2,700: 0.002 is the least quantity reaching 5 USDT.
    expect(smallestMarketNotional(f, 2700)).toBeCloseTo(5.4, 9);
    // At 10,000 one step (10 USDT) is already above the minimum notional.
    expect(smallestMarketNotional(f, 10_000)).toBeCloseTo(10, 9);
    expect(smallestMarketNotional({ ...f, marketMinQty: 0.01 }, 10_000)).toBeCloseTo(100, 9);
    expect(applyFilters(f, { type: "MARKET", qty: 0.002, price: null, refPrice: 2700, reduceOnly: false }).ok).toBe(true);
    expect(applyFilters(f, { type: "MARKET", qty: 0.0009, price: null, refPrice: 2700, reduceOnly: false })).toMatchObject({ ok: false, rule: "min_qty" });
    expect(applyFilters(f, { type: "MARKET", qty: 0.001, price: null, refPrice: 2700, reduceOnly: false })).toMatchObject({ ok: false, rule: "min_notional" });
  });

  test("Ed25519 keys sign requests the venue verifies", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const edNet = await startFakeTestnet({ exchange: fx, apiKey: API_KEY, ed25519PublicPem: publicKey.export({ type: "spki", format: "pem" }).toString() });
    try {
      const gw = await gatewayFor(edNet, ed25519Signer(privateKey));
      expect(await gw.account()).not.toBeNull();
      const wrong = await gatewayFor(edNet, ed25519Signer(generateKeyPairSync("ed25519").privateKey));
      expect(await wrong.account()).toBeNull();
    } finally {
      await edNet.stop();
    }
  });

  test("clock skew: the -1021 re-syncs the offset and the request goes through", async () => {
    const audit: VenueAudit[] = [];
    const gw = await gatewayFor(tn, hmacSigner(SECRET), audit);
    tn.setClockSkew(-20_000);
    try {
      expect(await gw.account()).not.toBeNull();
      expect(audit.some((a) => a.path === "/fapi/v2/account" && a.status === 400)).toBe(true);
      expect(Math.abs(gw.rest.offsetMs + 20_000)).toBeLessThan(500);
    } finally {
      tn.setClockSkew(0);
    }
  });

  for (const fault of ["timeout", "5xx-after-place", "5xx-before-place"] as const) {
    test(`after a ${fault} the order is looked up by its id and exists exactly once`, async () => {
      const gw = await gatewayFor(tn, hmacSigner(SECRET));
      const cid = `gw-fault-${fault}`;
      tn.failNextOrders(fault);
      const r = await gw.placeOrder({ symbol: SYMBOL, side: "BUY", type: "MARKET", qty: 50, price: null, refPrice: mid(), reduceOnly: false, clientOrderId: cid });
      expect(r.ok).toBe(true);
      const orders = [...tn.server.ledger.orders.values()].filter((o) => o.clientOrderId === cid);
      expect(orders).toHaveLength(1);
      expect(gw.counters.lookups).toBeGreaterThanOrEqual(1);
      if (fault === "5xx-before-place") expect(r.ok && r.attempts).toBe(2);
      else expect(r.ok && r.attempts).toBe(1);
      await gw.placeOrder({ symbol: SYMBOL, side: "SELL", type: "MARKET", qty: 50, price: null, refPrice: mid(), reduceOnly: true, clientOrderId: `${cid}-c` });
    });
  }

  test("protective stop goes to the algo endpoint, closes the position when the market reaches it", async () => {
    const gw = await gatewayFor(tn, hmacSigner(SECRET));
    await gw.placeOrder({ symbol: SYMBOL, side: "BUY", type: "MARKET", qty: 50, price: null, refPrice: mid(), reduceOnly: false, clientOrderId: "gw-stop-entry" });
    const tooHigh = await gw.placeStop({ symbol: SYMBOL, side: "SELL", triggerPrice: mid() * 1.05, clientAlgoId: "gw-stop-bad" });
    expect(tooHigh.ok).toBe(false);
    expect(!tooHigh.ok && tooHigh.code).toBe(-2021);
    const s = await gw.placeStop({ symbol: SYMBOL, side: "SELL", triggerPrice: mid() * 0.97, clientAlgoId: "gw-stop-1" });
    expect(s.ok && s.value.algoStatus).toBe("NEW");
    expect((await gw.openStops(SYMBOL))!.map((a) => a.clientAlgoId)).toContain("gw-stop-1");
    expect((await gw.cancelStop("gw-stop-1")).kind).toBe("ok");
    const s2 = await gw.placeStop({ symbol: SYMBOL, side: "SELL", triggerPrice: mid() * 0.97, clientAlgoId: "gw-stop-2" });
    expect(s2.ok).toBe(true);
    tn.shiftBook(SYMBOL, 0.95);
    try {
      tn.server.matchNow();
      expect(tn.server.ledger.position(SYMBOL).qty).toBe(0);
      expect(tn.server.ledger.algos.get(tn.server.ledger.algoByClientId.get("gw-stop-2")!)!.algoStatus).toBe("FINISHED");
      expect(await gw.openStops(SYMBOL)).toEqual([]);
    } finally {
      tn.shiftBook(SYMBOL, 1);
    }
  });
});

describe("user stream", () => {
  test("events arrive; a drop and a listen-key expiry both reconnect", async () => {
    const rest = new SignedRest({ baseUrl: tn.restBase, creds: { apiKey: API_KEY, signer: hmacSigner(SECRET) }, recvWindowMs: 5000, timeoutMs: 2000, timeSyncEveryMs: 60_000 });
    const events: Record<string, unknown>[] = [];
    const connects: boolean[] = [];
    const us = new UserStream(rest, { wsBase: tn.wsBase, keepaliveMs: 60_000, reconnectDelayMs: 50, reconnectMaxDelayMs: 200, onEvent: (e) => events.push(e), onConnected: (r) => connects.push(r), onDisconnected: () => {} });
    expect(await us.start()).toBe(true);
    const gw = await gatewayFor(tn, hmacSigner(SECRET));
    await gw.placeOrder({ symbol: SYMBOL, side: "BUY", type: "MARKET", qty: 50, price: null, refPrice: mid(), reduceOnly: false, clientOrderId: "us-1" });
    for (let i = 0; i < 50 && !events.some((e) => e.e === "ACCOUNT_UPDATE"); i++) await Bun.sleep(20);
    expect(events.some((e) => e.e === "ORDER_TRADE_UPDATE" && (e.o as any).c === "us-1" && (e.o as any).x === "TRADE")).toBe(true);
    expect(tn.dropUserStreams()).toBe(1);
    for (let i = 0; i < 100 && connects.length < 2; i++) await Bun.sleep(20);
    expect(connects).toEqual([false, true]);
    tn.expireListenKey();
    for (let i = 0; i < 100 && connects.length < 3; i++) await Bun.sleep(20);
    expect(connects).toEqual([false, true, true]);
    expect(us.counters.keyExpiries).toBe(1);
    await gw.placeOrder({ symbol: SYMBOL, side: "SELL", type: "MARKET", qty: 50, price: null, refPrice: mid(), reduceOnly: true, clientOrderId: "us-2" });
    for (let i = 0; i < 50 && !events.some((e) => (e.o as any)?.c === "us-2"); i++) await Bun.sleep(20);
    expect(events.some((e) => (e.o as any)?.c === "us-2")).toBe(true);
    us.stop();
  });
});
