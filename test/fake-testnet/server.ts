// The fake USDⓈ-M futures testnet: signed REST on /fapi, the user data stream on /ws/<listenKey>,
// and the faults tests inject. One Bun.serve bound to 127.0.0.1.
import type { Server, ServerWebSocket } from "bun";
import { Authenticator, type AuthFailure, type Credentials } from "./auth.ts";
import { onGrid, type SymbolRules } from "./filters.ts";
import { Ledger, r8, type AlgoOrder, type Book, type Order, type Side } from "./ledger.ts";

export interface TestnetOptions {
  readonly port: number;
  readonly creds: Credentials;
  readonly exchangeInfoText: string;
  readonly rules: ReadonlyMap<string, SymbolRules>;
  readonly bookOf: (symbol: string) => Book | null;
  readonly walletUsdt: number;
  readonly takerRate: number;
  readonly makerRate: number;
  readonly defaultLeverage: number;
  readonly orderLimit10s: number;
  readonly orderLimit1m: number;
  readonly listenKeyTtlMs: number;
  readonly matchEveryMs: number;
}

export type OrderFault = "timeout" | "5xx-after-place" | "5xx-before-place";

export interface RequestRecord {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  /** Parameters as sent, signature removed. */
  readonly params: Readonly<Record<string, string>>;
  readonly status: number;
  readonly code: number | null;
  readonly fault: OrderFault | null;
}

interface StreamConn {
  readonly listenKey: string;
}

const STOP_TYPES = new Set(["STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"]);
const CLIENT_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;

class ApiError {
  constructor(
    readonly status: number,
    readonly code: number,
    readonly msg: string,
  ) {}
}
const fail = (status: number, code: number, msg: string): never => {
  throw new ApiError(status, code, msg);
};

export class TestnetServer {
  readonly ledger: Ledger;
  readonly requests: RequestRecord[] = [];
  /** Every user-stream event sent, in order (for tests). */
  readonly streamEvents: Record<string, unknown>[] = [];
  private server: Server<StreamConn> | undefined;
  private readonly auth: Authenticator;
  private readonly sockets = new Set<ServerWebSocket<StreamConn>>();
  private listenKey: { key: string; expiresAt: number } | null = null;
  private readonly countdowns = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly orderTimes: number[] = [];
  private weightMinute = 0;
  private weightUsed = 0;
  private matchTimer: ReturnType<typeof setInterval> | undefined;
  private readonly pendingFaults: OrderFault[] = [];
  private readonly held = new Set<() => void>();
  private keySeq = 0;
  /** Added to the wall clock to give the exchange's clock (clock-skew fault). */
  skewMs = 0;
  /**
   * Answer new orders as accepted but not yet matched (`newOrderRespType=ACK`: status NEW, nothing
   * executed), whatever the request asked for; fills then come only on the user stream.
   */
  ackOnly = false;
  /** Stream sockets stay open but receive no events (a stalled stream); events are still recorded. */
  muted = false;
  /** countdownCancelAll expiries: symbol and the orders cancelled. */
  readonly countdownFired: { symbol: string; at: number; cancelled: number }[] = [];

  constructor(private readonly opts: TestnetOptions) {
    this.auth = new Authenticator(opts.creds);
    this.ledger = new Ledger(
      { walletUsdt: opts.walletUsdt, takerRate: opts.takerRate, makerRate: opts.makerRate, defaultLeverage: opts.defaultLeverage },
      opts.bookOf,
      (ev) => this.push(ev),
      () => this.serverTime(),
    );
  }

  serverTime(): number {
    return Date.now() + this.skewMs;
  }

  get port(): number {
    return this.server!.port!;
  }

  start(): void {
    this.server = Bun.serve<StreamConn>({
      hostname: "127.0.0.1",
      port: this.opts.port,
      idleTimeout: 0,
      fetch: (req, srv) => this.handle(req, srv),
      websocket: {
        open: (ws) => {
          this.sockets.add(ws);
        },
        close: (ws) => {
          this.sockets.delete(ws);
        },
        message: () => {},
      },
    });
    this.matchTimer = setInterval(() => {
      this.expireKeyIfDue();
      this.ledger.tick();
    }, this.opts.matchEveryMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.matchTimer);
    for (const t of this.countdowns.values()) clearTimeout(t);
    for (const release of this.held) release();
    for (const ws of this.sockets) ws.terminate();
    await this.server?.stop(true);
  }

  // ---- faults -------------------------------------------------------------------------------

  /** The next order POSTs (`/fapi/v1/order`, `/fapi/v1/algoOrder`) meet these faults, in turn. */
  failNextOrders(...faults: OrderFault[]): void {
    this.pendingFaults.push(...faults);
  }

  /** Cuts every user-stream connection without a close frame. */
  dropUserStreams(): number {
    const n = this.sockets.size;
    for (const ws of this.sockets) ws.terminate();
    return n;
  }

  /** The listen key expires now: `listenKeyExpired` is sent and the connections close. */
  expireListenKey(): void {
    if (this.listenKey !== null) this.listenKey.expiresAt = 0;
    this.expireKeyIfDue();
  }

  /** Runs a matching pass now (tests that move faster than the matching timer). */
  matchNow(): void {
    this.ledger.tick();
  }

  streamConnections(): number {
    return this.sockets.size;
  }

  // ---- plumbing ------------------------------------------------------------------------------

  private push(ev: Record<string, unknown>): void {
    this.streamEvents.push(ev);
    if (this.muted) return;
    const text = JSON.stringify(ev);
    for (const ws of this.sockets) ws.send(text);
  }

  private expireKeyIfDue(): void {
    const k = this.listenKey;
    if (k === null || this.serverTime() < k.expiresAt) return;
    this.listenKey = null;
    const ev = { e: "listenKeyExpired", E: this.serverTime(), listenKey: k.key };
    this.streamEvents.push(ev);
    for (const ws of this.sockets) {
      ws.send(JSON.stringify(ev));
      ws.close(1000, "listenKey expired");
    }
  }

  private useWeight(w: number): number {
    const m = Math.floor(Date.now() / 60_000);
    if (m !== this.weightMinute) {
      this.weightMinute = m;
      this.weightUsed = 0;
    }
    return (this.weightUsed += w);
  }

  private orderCounts(): { c10: number; c1m: number } {
    const now = Date.now();
    while (this.orderTimes.length > 0 && this.orderTimes[0]! <= now - 60_000) this.orderTimes.shift();
    let c10 = 0;
    for (const t of this.orderTimes) if (t > now - 10_000) c10++;
    return { c10, c1m: this.orderTimes.length };
  }

  private async handle(req: Request, srv: Server<StreamConn>): Promise<Response | undefined> {
    const url = new URL(req.url);
    const ws = /^\/ws\/([A-Za-z0-9]+)$/.exec(url.pathname);
    if (ws !== null) {
      const key = ws[1]!;
      this.expireKeyIfDue();
      if (this.listenKey === null || this.listenKey.key !== key) return new Response("invalid listen key", { status: 400 });
      return srv.upgrade(req, { data: { listenKey: key } }) ? undefined : new Response("upgrade failed", { status: 400 });
    }
    const body = req.method === "GET" || req.method === "DELETE" ? "" : await req.text();
    const query = url.search.startsWith("?") ? url.search.slice(1) : url.search;
    const params = new URLSearchParams([query, body].filter((s) => s.length > 0).join("&"));
    const shown: Record<string, string> = {};
    for (const [k, v] of params) if (k !== "signature") shown[k] = v;
    const headers: Record<string, string> = { "content-type": "application/json" };
    let status = 200;
    let code: number | null = null;
    let text: string;
    let fault: OrderFault | null = null;
    const isOrderPost = req.method === "POST" && (url.pathname === "/fapi/v1/order" || url.pathname === "/fapi/v1/algoOrder");
    try {
      headers["x-mbx-used-weight-1m"] = String(this.useWeight(url.pathname.includes("countdownCancelAll") ? 10 : 1));
      const result = this.route(req.method, url.pathname, params, req.headers.get("x-mbx-apikey"), query, body, headers);
      if (isOrderPost) {
        fault = this.pendingFaults.shift() ?? null;
        if (fault === "5xx-before-place") fail(503, -1001, "Internal error; unable to process your request. Please try again.");
      }
      text = JSON.stringify(result());
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      status = e.status;
      code = e.code;
      text = JSON.stringify({ code: e.code, msg: e.msg });
      if (e.status === 429) headers["retry-after"] = "2";
    }
    this.requests.push({ at: Date.now(), method: req.method, path: url.pathname, params: shown, status: fault === "timeout" ? 0 : fault === "5xx-after-place" ? 502 : status, code, fault });
    if (fault === "timeout" && status === 200) {
      // The order stands; the answer never comes (released at stop()).
      return new Promise<Response>((resolve) => {
        const release = () => {
          this.held.delete(release);
          resolve(new Response("", { status: 504 }));
        };
        this.held.add(release);
      });
    }
    if (fault === "5xx-after-place" && status === 200) return new Response("<html>502 Bad Gateway</html>", { status: 502, headers: { "content-type": "text/html" } });
    return new Response(text, { status, headers });
  }

  /** Validates and returns a thunk that performs the request (so faults can be decided in between). */
  private route(method: string, path: string, p: URLSearchParams, apiKey: string | null, query: string, body: string, headers: Record<string, string>): () => unknown {
    const key = `${method} ${path}`;
    // Public endpoints.
    if (key === "GET /fapi/v1/time") return () => ({ serverTime: this.serverTime() });
    if (key === "GET /fapi/v1/ping") return () => ({});
    if (key === "GET /fapi/v1/exchangeInfo") return () => JSON.parse(this.opts.exchangeInfoText.replace(/"serverTime":\d+/, `"serverTime":${this.serverTime()}`));
    // User-stream endpoints need the key only.
    if (path === "/fapi/v1/listenKey") {
      this.check(this.auth.apiKeyOk(apiKey));
      return () => this.listenKeyOp(method);
    }
    this.check(this.auth.apiKeyOk(apiKey));
    this.check(this.auth.signatureOk(query, body));
    this.check(Authenticator.timestampOk(p, this.serverTime()));
    switch (key) {
      case "POST /fapi/v1/order":
        return this.newOrder(p, headers);
      case "GET /fapi/v1/order":
        return () => orderJson(this.findOrder(p, -2013, "Order does not exist."));
      case "DELETE /fapi/v1/order":
        return () => {
          const o = this.findOrder(p, -2011, "Unknown order sent.");
          if (o.status !== "NEW" && o.status !== "PARTIALLY_FILLED") fail(400, -2011, "Unknown order sent.");
          this.ledger.cancel(o);
          return orderJson(o);
        };
      case "GET /fapi/v1/openOrders":
        return () => this.ledger.openOrders(p.get("symbol") ?? undefined).map(orderJson);
      case "DELETE /fapi/v1/allOpenOrders":
        return () => {
          const s = this.symbolParam(p);
          for (const o of this.ledger.openOrders(s)) this.ledger.cancel(o);
          return { code: 200, msg: "The operation of cancel all open order is done." };
        };
      case "POST /fapi/v1/algoOrder":
        return this.newAlgo(p, headers);
      case "GET /fapi/v1/algoOrder":
        return () => algoJson(this.findAlgo(p, -2013, "Order does not exist."));
      case "DELETE /fapi/v1/algoOrder":
        return () => {
          const a = this.findAlgo(p, -2011, "Unknown order sent.");
          if (a.algoStatus !== "NEW") fail(400, -2011, "Unknown order sent.");
          this.ledger.cancelAlgo(a);
          return { algoId: a.algoId, clientAlgoId: a.clientAlgoId, code: "200", msg: "success" };
        };
      case "GET /fapi/v1/openAlgoOrders":
        return () => this.ledger.openAlgos(p.get("symbol") ?? undefined).map(algoJson);
      case "DELETE /fapi/v1/algoOpenOrders":
        return () => {
          const s = this.symbolParam(p);
          for (const a of this.ledger.openAlgos(s)) this.ledger.cancelAlgo(a);
          return { code: 200, msg: "The operation of cancel all open order is done." };
        };
      case "POST /fapi/v1/countdownCancelAll":
        return () => this.countdown(p);
      case "GET /fapi/v2/positionRisk":
      case "GET /fapi/v3/positionRisk":
        return () => this.positionRisk(p.get("symbol") ?? undefined);
      case "GET /fapi/v2/account":
      case "GET /fapi/v3/account":
        return () => this.account();
      case "GET /fapi/v2/balance":
        return () => [{ asset: "USDT", balance: String(this.ledger.wallet), availableBalance: String(this.available()) }];
      case "POST /fapi/v1/leverage":
        return () => {
          const s = this.symbolParam(p);
          const lev = Number(p.get("leverage"));
          if (!Number.isInteger(lev) || lev < 1 || lev > 125) fail(400, -4028, "Leverage is not valid");
          this.ledger.leverage.set(s, lev);
          return { leverage: lev, maxNotionalValue: "1000000", symbol: s };
        };
      case "GET /fapi/v1/userTrades":
        return () => {
          const s = this.symbolParam(p);
          const limit = Math.min(Number(p.get("limit") ?? 500), 1000);
          const mine = this.ledger.fills.filter((f) => f.symbol === s);
          // Without fromId or a time the venue answers the most recent trades; a time range starts
          // at its oldest trade. fromId cannot go with a time.
          const from = p.get("fromId");
          const start = p.get("startTime");
          const end = p.get("endTime");
          if (from !== null && (start !== null || end !== null)) fail(400, -1128, "Combination of optional parameters invalid.");
          const chosen =
            from !== null
              ? mine.filter((f) => f.id >= Number(from)).slice(0, limit)
              : start !== null || end !== null
                ? mine.filter((f) => f.time >= Number(start ?? 0) && f.time <= Number(end ?? Number.MAX_SAFE_INTEGER)).slice(0, limit)
                : mine.slice(-limit);
          return chosen.map((f) => ({
            symbol: f.symbol, id: f.id, orderId: f.orderId, side: f.side, price: String(f.price), qty: String(f.qty), realizedPnl: String(f.realizedPnl),
            quoteQty: String(f.quoteQty), commission: String(f.commission), commissionAsset: "USDT", time: f.time, buyer: f.side === "BUY", maker: f.maker, positionSide: "BOTH",
          }));
        };
      default:
        return fail(404, -1000, `unknown endpoint ${key}`);
    }
  }

  private check(f: AuthFailure | null): void {
    if (f !== null) fail(f.status, f.code, f.msg);
  }

  private symbolParam(p: URLSearchParams): string {
    const s = p.get("symbol");
    if (s === null || s === "") fail(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
    if (!this.opts.rules.has(s!)) fail(400, -1121, "Invalid symbol.");
    return s!;
  }

  private required(p: URLSearchParams, name: string): string {
    const v = p.get(name);
    if (v === null || v === "") fail(400, -1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
    return v!;
  }

  private countOrder(headers: Record<string, string>): void {
    const { c10, c1m } = this.orderCounts();
    if (c10 >= this.opts.orderLimit10s || c1m >= this.opts.orderLimit1m) {
      headers["x-mbx-order-count-10s"] = String(c10);
      headers["x-mbx-order-count-1m"] = String(c1m);
      const which = c10 >= this.opts.orderLimit10s ? `${this.opts.orderLimit10s} orders per TEN_SECONDS` : `${this.opts.orderLimit1m} orders per MINUTE`;
      fail(429, -1015, `Too many new orders; current limit is ${which}.`);
    }
    this.orderTimes.push(Date.now());
    headers["x-mbx-order-count-10s"] = String(c10 + 1);
    headers["x-mbx-order-count-1m"] = String(c1m + 1);
  }

  private newOrder(p: URLSearchParams, headers: Record<string, string>): () => unknown {
    const symbol = this.symbolParam(p);
    const rules = this.opts.rules.get(symbol)!;
    const side = this.required(p, "side");
    if (side !== "BUY" && side !== "SELL") fail(400, -1117, "Invalid side.");
    const type = this.required(p, "type");
    if (STOP_TYPES.has(type)) fail(400, -4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.");
    if (type !== "LIMIT" && type !== "MARKET") fail(400, -1116, "Invalid orderType.");
    if ((p.get("positionSide") ?? "BOTH") !== "BOTH") fail(400, -4061, "Order's position side does not match user's setting.");
    const qtyText = this.required(p, "quantity");
    const reduceOnly = p.get("reduceOnly") === "true";
    const cid = p.get("newClientOrderId") ?? `fake-${crypto.randomUUID().slice(0, 20)}`;
    if (!CLIENT_ID.test(cid)) fail(400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.");
    let price = 0;
    let tif = "GTC";
    if (type === "LIMIT") {
      const priceText = this.required(p, "price");
      tif = this.required(p, "timeInForce");
      if (!["GTC", "IOC", "FOK", "GTX"].includes(tif)) fail(400, -1115, "Invalid timeInForce.");
      if (!onGrid(priceText, rules.tickSize, rules.minPrice)) fail(400, -1111, "Precision is over the maximum defined for this asset.");
      price = Number(priceText);
      if (price < rules.minPrice || price > rules.maxPrice) fail(400, -4016, "Limit price can't be higher than max price.");
    }
    const step = type === "MARKET" ? rules.marketStepSize : rules.stepSize;
    if (!onGrid(qtyText, step)) fail(400, -1111, "Precision is over the maximum defined for this asset.");
    const qty = Number(qtyText);
    if (qty <= 0) fail(400, -4003, "Quantity less than or equal to zero.");
    if (qty < (type === "MARKET" ? rules.marketMinQty : rules.minQty) || qty > (type === "MARKET" ? rules.marketMaxQty : rules.maxQty)) fail(400, -4005, "Quantity greater than max quantity.");
    const mark = this.ledger.markPrice(symbol);
    const refPrice = type === "LIMIT" ? price : mark ?? 0;
    if (!reduceOnly && qty * refPrice < rules.minNotional) fail(400, -4164, `Order's notional must be no smaller than ${rules.minNotional} (unless you choose reduce only).`);
    if (this.ledger.byClientId.has(cid)) fail(400, -4116, "ClientOrderId is duplicated.");
    const pos = this.ledger.position(symbol).qty;
    if (reduceOnly && !(side === "SELL" ? pos > 0 : pos < 0)) fail(400, -2022, "ReduceOnly Order is rejected.");
    if (!reduceOnly) {
      const m = this.ledger.marginState();
      // Opening exposure needs initial margin; an order that only reduces the position does not.
      const opening = Math.max(0, side === "BUY" ? qty - Math.max(0, -pos) : qty - Math.max(0, pos));
      if (m.used + (opening * refPrice) / this.ledger.leverageOf(symbol) > m.balance) fail(400, -2019, "Margin is insufficient.");
    }
    this.countOrder(headers);
    const ack = this.ackOnly || p.get("newOrderRespType") === "ACK";
    return () => {
      const o = this.ledger.place({ symbol, side: side as Side, type: type as "LIMIT" | "MARKET", qty, price, timeInForce: tif, reduceOnly, clientOrderId: cid });
      return ack ? { ...orderJson(o), status: "NEW", executedQty: "0", cumQuote: "0", avgPrice: "0" } : orderJson(o);
    };
  }

  private newAlgo(p: URLSearchParams, headers: Record<string, string>): () => unknown {
    if (p.get("algoType") !== "CONDITIONAL") fail(400, -1102, "Mandatory parameter 'algoType' was not sent, was empty/null, or malformed.");
    const symbol = this.symbolParam(p);
    const rules = this.opts.rules.get(symbol)!;
    const side = this.required(p, "side");
    if (side !== "BUY" && side !== "SELL") fail(400, -1117, "Invalid side.");
    const type = this.required(p, "type");
    if (type !== "STOP_MARKET" && type !== "TAKE_PROFIT_MARKET") fail(400, -1116, "Invalid orderType.");
    const trigText = this.required(p, "triggerPrice");
    if (!onGrid(trigText, rules.tickSize, rules.minPrice)) fail(400, -1111, "Precision is over the maximum defined for this asset.");
    const triggerPrice = Number(trigText);
    const closePosition = p.get("closePosition") === "true";
    const reduceOnly = p.get("reduceOnly") === "true";
    if (closePosition && (p.has("quantity") || reduceOnly)) fail(400, -1106, "Parameter 'quantity' sent when not required.");
    let quantity = 0;
    if (!closePosition) {
      const qText = this.required(p, "quantity");
      if (!onGrid(qText, rules.marketStepSize)) fail(400, -1111, "Precision is over the maximum defined for this asset.");
      quantity = Number(qText);
    }
    const cid = p.get("clientAlgoId") ?? `fakealgo-${crypto.randomUUID().slice(0, 20)}`;
    if (!CLIENT_ID.test(cid)) fail(400, -1100, "Illegal characters found in parameter 'clientAlgoId'.");
    if (this.ledger.algoByClientId.has(cid)) fail(400, -4116, "ClientOrderId is duplicated.");
    const mark = this.ledger.markPrice(symbol);
    const isStop = type === "STOP_MARKET";
    const fires = mark !== null && (side === "SELL" ? (isStop ? mark <= triggerPrice : mark >= triggerPrice) : isStop ? mark >= triggerPrice : mark <= triggerPrice);
    if (fires) fail(400, -2021, "Order would immediately trigger.");
    if (this.ledger.openAlgos(symbol).length >= 10) fail(400, -4045, "Reach max stop order limit.");
    this.countOrder(headers);
    return () => algoJson(this.ledger.placeAlgo({ symbol, side: side as Side, orderType: type, quantity, triggerPrice, reduceOnly, closePosition, clientAlgoId: cid }));
  }

  private findOrder(p: URLSearchParams, code: number, msg: string): Order {
    this.symbolParam(p);
    const id = p.get("orderId");
    const cid = p.get("origClientOrderId");
    const o = id !== null ? this.ledger.orders.get(Number(id)) : cid !== null ? this.ledger.orders.get(this.ledger.byClientId.get(cid) ?? -1) : fail(400, -1102, "Either orderId or origClientOrderId must be sent.");
    if (o === undefined || o.symbol !== p.get("symbol")) return fail(400, code, msg);
    return o;
  }

  private findAlgo(p: URLSearchParams, code: number, msg: string): AlgoOrder {
    const id = p.get("algoId");
    const cid = p.get("clientAlgoId");
    const a = id !== null ? this.ledger.algos.get(Number(id)) : cid !== null ? this.ledger.algos.get(this.ledger.algoByClientId.get(cid) ?? -1) : fail(400, -1102, "Either algoId or clientAlgoId must be sent.");
    return a ?? fail(400, code, msg);
  }

  private countdown(p: URLSearchParams): unknown {
    const symbol = this.symbolParam(p);
    const ms = Number(this.required(p, "countdownTime"));
    if (!Number.isInteger(ms) || ms < 0) fail(400, -1102, "Mandatory parameter 'countdownTime' was not sent, was empty/null, or malformed.");
    clearTimeout(this.countdowns.get(symbol));
    this.countdowns.delete(symbol);
    if (ms > 0) {
      this.countdowns.set(
        symbol,
        setTimeout(() => {
          this.countdowns.delete(symbol);
          // Regular open orders only: conditional orders live in the algo service (see README).
          const open = this.ledger.openOrders(symbol);
          for (const o of open) this.ledger.cancel(o);
          this.countdownFired.push({ symbol, at: Date.now(), cancelled: open.length });
        }, ms),
      );
    }
    return { symbol, countdownTime: String(ms) };
  }

  private listenKeyOp(method: string): unknown {
    const now = this.serverTime();
    this.expireKeyIfDue();
    if (method === "POST") {
      if (this.listenKey === null) this.listenKey = { key: `fakeLK${++this.keySeq}${crypto.randomUUID().replace(/-/g, "")}`, expiresAt: 0 };
      this.listenKey.expiresAt = now + this.opts.listenKeyTtlMs;
      return { listenKey: this.listenKey.key };
    }
    if (method === "PUT") {
      if (this.listenKey === null) fail(400, -1125, "This listenKey does not exist.");
      this.listenKey!.expiresAt = now + this.opts.listenKeyTtlMs;
      return { listenKey: this.listenKey!.key };
    }
    if (method === "DELETE") {
      this.listenKey = null;
      for (const ws of this.sockets) ws.close(1000, "listenKey deleted");
      return {};
    }
    return fail(405, -1000, "method not allowed");
  }

  private available(): number {
    const m = this.ledger.marginState();
    return r8(m.balance - m.used);
  }

  private positionRisk(symbol?: string): unknown {
    const out = [];
    for (const s of symbol !== undefined ? [symbol] : [...this.ledger.positions.keys()]) {
      const pos = this.ledger.position(s);
      const mark = this.ledger.markPrice(s) ?? 0;
      out.push({
        symbol: s, positionAmt: String(pos.qty), entryPrice: String(pos.entryPrice), markPrice: String(mark), unRealizedProfit: String(this.ledger.unrealized(s)),
        leverage: String(this.ledger.leverageOf(s)), notional: String(pos.qty * mark), marginType: "cross", positionSide: "BOTH", updateTime: this.serverTime(),
      });
    }
    return out;
  }

  private account(): unknown {
    const m = this.ledger.marginState();
    return {
      totalWalletBalance: String(this.ledger.wallet), totalUnrealizedProfit: String(r8(m.balance - this.ledger.wallet)), totalMarginBalance: String(m.balance),
      totalInitialMargin: String(m.used), availableBalance: String(this.available()), maxWithdrawAmount: String(this.available()),
      assets: [{ asset: "USDT", walletBalance: String(this.ledger.wallet), marginBalance: String(m.balance), availableBalance: String(this.available()) }],
      positions: this.positionRisk(),
    };
  }
}

function orderJson(o: Order): Record<string, unknown> {
  return {
    orderId: o.orderId, symbol: o.symbol, status: o.status, clientOrderId: o.clientOrderId, price: String(o.price), avgPrice: String(o.executedQty > 0 ? o.cumQuote / o.executedQty : 0),
    origQty: String(o.origQty), executedQty: String(o.executedQty), cumQuote: String(o.cumQuote), timeInForce: o.timeInForce, type: o.type, reduceOnly: o.reduceOnly,
    closePosition: false, side: o.side, positionSide: "BOTH", stopPrice: "0", workingType: "CONTRACT_PRICE", origType: o.type, time: o.time, updateTime: o.updateTime,
  };
}

function algoJson(a: AlgoOrder): Record<string, unknown> {
  return {
    algoId: a.algoId, clientAlgoId: a.clientAlgoId, algoType: "CONDITIONAL", orderType: a.orderType, symbol: a.symbol, side: a.side, positionSide: "BOTH", timeInForce: "GTC",
    quantity: String(a.quantity), algoStatus: a.algoStatus, triggerPrice: String(a.triggerPrice), price: "0", workingType: "CONTRACT_PRICE", reduceOnly: a.reduceOnly,
    closePosition: a.closePosition, createTime: a.createTime, updateTime: a.updateTime, actualOrderId: a.actualOrderId === null ? "" : String(a.actualOrderId),
  };
}
