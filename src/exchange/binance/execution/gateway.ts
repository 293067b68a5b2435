/**
 * The order gateway of the trading venue. Every order carries a client order id chosen by the caller
 * (deterministic per intent), so it is idempotent: after a timeout or a 5xx the order is looked up by
 * that id before anything is sent again, and a resend reuses the id (a second copy would be refused as
 * a duplicate anyway). Filters are applied before sending; order-count limits are respected from the
 * response headers and our own count.
 */
import { applyFilters, type FilterRule, type RateLimits, type SymbolFilters } from "./filters.ts";
import type { RestReply, SignedRest } from "./signed-rest.ts";
import type { NewOrder, OrderState, PositionState, TradePage, VenueSide, VenueTrade } from "../../../core/execution.ts";

export interface AlgoState {
  readonly algoId: number;
  readonly clientAlgoId: string;
  readonly symbol: string;
  readonly side: VenueSide;
  readonly orderType: string;
  readonly triggerPrice: number;
  readonly algoStatus: string;
}

/** An order or stop sent, with Binance's own error code when it refused (venue.ts maps it). */
export type GatewayOutcome<T> =
  | { readonly ok: true; readonly value: T; readonly latencyMs: number; readonly attempts: number }
  | { readonly ok: false; readonly code: number | null; readonly reason: string; readonly latencyMs: number; readonly attempts: number;
      /** true when the venue may hold the order after all (it never answered definitely). */
      readonly uncertain: boolean;
      /**
       * Set when the gateway's own check of the symbol's rules refused it before sending (nothing went
       * out: attempts 0): the rule, or "unlisted" without rules for the symbol. Null once anything was
       * sent, and for a refusal unsent for the host's order-rate pause (that one was asked for).
       */
      readonly filter: FilterRule | "unlisted" | null };

export interface NewAlgoStop {
  readonly symbol: string;
  /** Side of the closing order (SELL protects a long). */
  readonly side: VenueSide;
  readonly triggerPrice: number;
  readonly clientAlgoId: string;
}

export interface GatewayOptions {
  /** How long a lost answer is chased by queries before the outcome is declared unknown. */
  readonly resolveDeadlineMs: number;
  /** Sends of one order at most (the first plus resends after "does not exist"). */
  readonly maxSends: number;
  /** Fraction of the venue's order-count limits we allow ourselves (headroom for other clients). */
  readonly orderLimitShare: number;
}

const num = (x: unknown): number => Number(x);

/** Order statuses after which no fill comes. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(["FILLED", "CANCELED", "EXPIRED", "REJECTED", "EXPIRED_IN_MATCH"]);

function orderState(b: Record<string, unknown>): OrderState {
  return {
    orderId: num(b.orderId), clientOrderId: String(b.clientOrderId), symbol: String(b.symbol), side: b.side as VenueSide, type: String(b.type),
    origQty: num(b.origQty), price: num(b.price), status: String(b.status), final: FINAL_STATUSES.has(String(b.status)), executedQty: num(b.executedQty), avgPrice: num(b.avgPrice),
    reduceOnly: b.reduceOnly === true, updateTime: num(b.updateTime ?? b.time ?? 0),
  };
}

function algoState(b: Record<string, unknown>): AlgoState {
  return { algoId: num(b.algoId), clientAlgoId: String(b.clientAlgoId), symbol: String(b.symbol), side: b.side as VenueSide, orderType: String(b.orderType), triggerPrice: num(b.triggerPrice), algoStatus: String(b.algoStatus) };
}

/** Binance "Order does not exist" (-2013) and "Unknown order sent" (-2011). */
export const NOT_FOUND: ReadonlySet<number> = new Set([-2013, -2011]);

export class OrderGateway {
  private readonly sent: number[] = [];
  /** Orders sent and the outcomes resolved by lookups, for the status page. */
  readonly counters = { sent: 0, resends: 0, lookups: 0, rejected: 0, uncertain: 0, throttled: 0 };

  constructor(
    readonly rest: SignedRest,
    readonly filters: ReadonlyMap<string, SymbolFilters>,
    private readonly limits: RateLimits,
    private readonly opts: GatewayOptions,
  ) {}

  /** LIMIT or MARKET on /fapi/v1/order. */
  async placeOrder(o: NewOrder): Promise<GatewayOutcome<OrderState>> {
    const f = this.filters.get(o.symbol);
    if (f === undefined) return this.refuse(`no exchange filters for ${o.symbol}`, "unlisted");
    const c = applyFilters(f, { type: o.type, qty: o.qty, price: o.price, refPrice: o.refPrice, reduceOnly: o.reduceOnly });
    if (!c.ok) return this.refuse(c.reason, c.rule);
    const params: Record<string, string> = { symbol: o.symbol, side: o.side, type: o.type, quantity: c.qty, newClientOrderId: o.clientOrderId, newOrderRespType: "RESULT" };
    if (o.type === "LIMIT") {
      params.price = c.price!;
      params.timeInForce = o.timeInForce ?? "GTC";
    }
    if (o.reduceOnly) params.reduceOnly = "true";
    return this.idempotent(
      () => this.rest.signed("POST", "/fapi/v1/order", params),
      () => this.rest.signed("GET", "/fapi/v1/order", { symbol: o.symbol, origClientOrderId: o.clientOrderId }),
      orderState,
    );
  }

  /** A protective STOP_MARKET (closePosition) on the conditional-order endpoint /fapi/v1/algoOrder. */
  async placeStop(s: NewAlgoStop): Promise<GatewayOutcome<AlgoState>> {
    const f = this.filters.get(s.symbol);
    if (f === undefined) return this.refuse(`no exchange filters for ${s.symbol}`, "unlisted");
    // Away from the market: a long's stop rounds down, a short's up, so rounding never tightens it.
    const c = applyFilters(f, { type: "STOP", qty: f.marketMinQty, price: s.triggerPrice, refPrice: s.triggerPrice, reduceOnly: true, priceMode: s.side === "SELL" ? "floor" : "ceil" });
    if (!c.ok) return this.refuse(c.reason, c.rule);
    const params = { algoType: "CONDITIONAL", symbol: s.symbol, side: s.side, type: "STOP_MARKET", triggerPrice: c.price!, closePosition: "true", workingType: "CONTRACT_PRICE", clientAlgoId: s.clientAlgoId };
    return this.idempotent(
      () => this.rest.signed("POST", "/fapi/v1/algoOrder", params),
      () => this.rest.signed("GET", "/fapi/v1/algoOrder", { clientAlgoId: s.clientAlgoId }),
      algoState,
    );
  }

  async queryOrder(symbol: string, orderId: number): Promise<OrderState | null> {
    const r = await this.rest.signed("GET", "/fapi/v1/order", { symbol, orderId });
    return r.kind === "ok" ? orderState(r.body as Record<string, unknown>) : null;
  }

  async cancelOrder(symbol: string, clientOrderId: string): Promise<RestReply> {
    return this.rest.signed("DELETE", "/fapi/v1/order", { symbol, origClientOrderId: clientOrderId });
  }

  async cancelAllOrders(symbol: string): Promise<RestReply> {
    return this.rest.signed("DELETE", "/fapi/v1/allOpenOrders", { symbol });
  }

  async cancelStop(clientAlgoId: string): Promise<RestReply> {
    return this.rest.signed("DELETE", "/fapi/v1/algoOrder", { clientAlgoId });
  }

  /** A conditional order by its client id, whatever its status (the open-orders list has only resting ones). */
  async queryStop(clientAlgoId: string): Promise<AlgoState | null> {
    const r = await this.rest.signed("GET", "/fapi/v1/algoOrder", { clientAlgoId });
    return r.kind === "ok" ? algoState(r.body as Record<string, unknown>) : null;
  }

  async cancelAllStops(symbol: string): Promise<RestReply> {
    return this.rest.signed("DELETE", "/fapi/v1/algoOpenOrders", { symbol });
  }

  async openOrders(symbol?: string): Promise<OrderState[] | null> {
    const r = await this.rest.signed("GET", "/fapi/v1/openOrders", symbol === undefined ? {} : { symbol });
    return r.kind === "ok" && Array.isArray(r.body) ? (r.body as Record<string, unknown>[]).map(orderState) : null;
  }

  async openStops(symbol?: string): Promise<AlgoState[] | null> {
    const r = await this.rest.signed("GET", "/fapi/v1/openAlgoOrders", symbol === undefined ? {} : { symbol });
    return r.kind === "ok" && Array.isArray(r.body) ? (r.body as Record<string, unknown>[]).map(algoState) : null;
  }

  async positions(symbol?: string): Promise<PositionState[] | null> {
    const r = await this.versioned("positionRisk", symbol === undefined ? {} : { symbol });
    if (r.kind !== "ok" || !Array.isArray(r.body)) return null;
    return (r.body as Record<string, unknown>[]).map((p) => ({ symbol: String(p.symbol), qty: num(p.positionAmt), entryPrice: num(p.entryPrice), markPrice: num(p.markPrice), unrealizedPnl: num(p.unRealizedProfit) }));
  }

  async account(): Promise<{ walletBalance: number; availableBalance: number; unrealizedPnl: number } | null> {
    const r = await this.versioned("account", {});
    if (r.kind !== "ok") return null;
    const b = r.body as Record<string, unknown>;
    return { walletBalance: num(b.totalWalletBalance), availableBalance: num(b.availableBalance), unrealizedPnl: num(b.totalUnrealizedProfit) };
  }

  setLeverage(symbol: string, leverage: number): Promise<RestReply> {
    return this.rest.signed("POST", "/fapi/v1/leverage", { symbol, leverage });
  }

  /** Arms (or with 0 disarms) the venue's dead-man switch for the symbol's open orders. */
  countdownCancelAll(symbol: string, countdownMs: number): Promise<RestReply> {
    return this.rest.signed("POST", "/fapi/v1/countdownCancelAll", { symbol, countdownTime: countdownMs });
  }

  /**
   * One page of the account's trade list (`limit` at its largest, 1000). Without `fromId` or
   * `startTime` the venue answers the latest trades; `fromId` and `startTime` exclude each other.
   */
  async userTrades(symbol: string, page: TradePage): Promise<VenueTrade[] | null> {
    const from: Record<string, number> = page === "latest" ? {} : "fromId" in page ? { fromId: page.fromId } : { startTime: page.fromTime };
    const r = await this.rest.signed("GET", "/fapi/v1/userTrades", { symbol, ...from, limit: 1000 });
    if (r.kind !== "ok" || !Array.isArray(r.body)) return null;
    return (r.body as Record<string, unknown>[]).map((t) => ({
      id: num(t.id), orderId: num(t.orderId), symbol: String(t.symbol), side: t.side as VenueSide, price: num(t.price), qty: num(t.qty),
      commission: num(t.commission), realizedPnl: num(t.realizedPnl), maker: t.maker === true, time: num(t.time),
    }));
  }

  /**
   * Whether an order may go now: not while the host's clients are paused after a 429/418 (ours or
   * the market data's), and within the order counts — our own sends in the last 10 s / 60 s and the
   * venue's count from the headers, the larger of the two.
   */
  orderRoom(now = Date.now()): { ok: boolean; waitMs: number; why: string } {
    while (this.sent.length > 0 && this.sent[0]! <= now - 60_000) this.sent.shift();
    const own10 = this.sent.filter((t) => t > now - 10_000).length;
    const l = this.rest.limits;
    const cap10 = Math.floor(this.limits.orders10s * this.opts.orderLimitShare);
    const cap1m = Math.floor(this.limits.orders1m * this.opts.orderLimitShare);
    if (now < l.pausedUntil) return { ok: false, waitMs: l.pausedUntil - now, why: "the venue asked this host to wait (HTTP 429/418)" };
    if (Math.max(own10, l.orderCount10s) >= cap10) return { ok: false, waitMs: own10 > 0 ? this.sent.find((t) => t > now - 10_000)! + 10_000 - now : 1000, why: "order-count limit (10 s) reached" };
    if (Math.max(this.sent.length, l.orderCount1m) >= cap1m) return { ok: false, waitMs: this.sent.length > 0 ? this.sent[0]! + 60_000 - now : 5000, why: "order-count limit (1 min) reached" };
    return { ok: true, waitMs: 0, why: "" };
  }

  /** v2 of an account endpoint, or v3 where the venue has retired v2 (404). */
  private async versioned(name: "positionRisk" | "account", params: Record<string, string>): Promise<RestReply> {
    const r = await this.rest.signed("GET", `/fapi/v2/${name}`, params);
    return r.kind === "rejected" && r.status === 404 ? this.rest.signed("GET", `/fapi/v3/${name}`, params) : r;
  }

  /** Refused by the symbol's rules before sending: nothing left the process. */
  private refuse<T>(reason: string, filter: FilterRule | "unlisted"): GatewayOutcome<T> {
    this.counters.rejected++;
    return { ok: false, code: null, reason, latencyMs: 0, attempts: 0, uncertain: false, filter };
  }

  /**
   * Send; on an unknown outcome, look the order up by its client id until the venue answers
   * definitely: found → that is the order; "does not exist" → resend with the same id.
   */
  private async idempotent<T>(send: () => Promise<RestReply>, lookup: () => Promise<RestReply>, parse: (b: Record<string, unknown>) => T): Promise<GatewayOutcome<T>> {
    const t0 = performance.now();
    const took = () => performance.now() - t0;
    let attempts = 0;
    while (attempts < this.opts.maxSends) {
      const room = this.orderRoom();
      if (!room.ok) {
        if (room.waitMs > this.opts.resolveDeadlineMs) return { ok: false, code: null, reason: `${room.why}; room in ${Math.ceil(room.waitMs / 1000)} s`, latencyMs: took(), attempts, uncertain: false, filter: null };
        this.counters.throttled++;
        await Bun.sleep(room.waitMs);
        continue;
      }
      attempts++;
      if (attempts > 1) this.counters.resends++;
      this.counters.sent++;
      this.sent.push(Date.now());
      const r = await send();
      if (r.kind === "ok") return { ok: true, value: parse(r.body as Record<string, unknown>), latencyMs: took(), attempts };
      if (r.kind === "rejected" && r.status === 429) {
        this.counters.throttled++;
        continue; // not accepted; SignedRest waits out Retry-After before the next send
      }
      if (r.kind === "rejected" && r.code !== -4116) {
        this.counters.rejected++;
        return { ok: false, code: r.code, reason: `${r.code ?? r.status}: ${r.msg}`, latencyMs: took(), attempts, uncertain: false, filter: null };
      }
      // Unknown outcome, or "duplicate" (an earlier send of this id did land): ask before anything else.
      const found = await this.resolve(lookup);
      if (found === "absent") continue;
      if (found === "unknown") {
        this.counters.uncertain++;
        return { ok: false, code: null, reason: `no definite answer within ${this.opts.resolveDeadlineMs} ms`, latencyMs: took(), attempts, uncertain: true, filter: null };
      }
      return { ok: true, value: parse(found), latencyMs: took(), attempts };
    }
    return { ok: false, code: null, reason: `not accepted after ${attempts} sends`, latencyMs: took(), attempts, uncertain: false, filter: null };
  }

  private async resolve(lookup: () => Promise<RestReply>): Promise<Record<string, unknown> | "absent" | "unknown"> {
    // A duration: on the monotonic clock, so a stepped wall clock neither cuts it short nor stretches it.
    const deadline = performance.now() + this.opts.resolveDeadlineMs;
    let delay = 200;
    while (performance.now() < deadline) {
      this.counters.lookups++;
      const q = await lookup();
      if (q.kind === "ok") return q.body as Record<string, unknown>;
      if (q.kind === "rejected" && q.code !== null && NOT_FOUND.has(q.code)) return "absent";
      await Bun.sleep(Math.min(delay, Math.max(0, deadline - performance.now())));
      delay = Math.min(delay * 2, 2000);
    }
    return "unknown";
  }
}
