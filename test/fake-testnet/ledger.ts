// The fake testnet's account: orders, algo (conditional) orders, fills, positions and the USDT
// wallet, in one-way position mode, with cross margin. Every state change is also pushed to the
// user data stream through `emit`. Matching uses the replayed real book (depth5 of the fake exchange).

export type Side = "BUY" | "SELL";
export type OrderType = "LIMIT" | "MARKET";
export type OrderStatus = "NEW" | "PARTIALLY_FILLED" | "FILLED" | "CANCELED" | "EXPIRED";
export type AlgoStatus = "NEW" | "TRIGGERED" | "FINISHED" | "CANCELED" | "EXPIRED";

export interface Level {
  readonly price: number;
  readonly qty: number;
}
export interface Book {
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
}

export interface Order {
  readonly orderId: number;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly origQty: number;
  readonly price: number;
  readonly timeInForce: string;
  readonly reduceOnly: boolean;
  readonly time: number;
  status: OrderStatus;
  executedQty: number;
  cumQuote: number;
  updateTime: number;
  /** Set when an algo order placed it. */
  readonly fromAlgoId: number | null;
}

export interface AlgoOrder {
  readonly algoId: number;
  readonly clientAlgoId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly orderType: string;
  readonly quantity: number;
  readonly triggerPrice: number;
  readonly reduceOnly: boolean;
  readonly closePosition: boolean;
  readonly createTime: number;
  algoStatus: AlgoStatus;
  updateTime: number;
  actualOrderId: number | null;
}

export interface Fill {
  readonly id: number;
  readonly orderId: number;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly price: number;
  readonly qty: number;
  readonly quoteQty: number;
  readonly commission: number;
  readonly realizedPnl: number;
  readonly maker: boolean;
  readonly time: number;
}

export interface Position {
  /** Signed: > 0 long, < 0 short. */
  qty: number;
  entryPrice: number;
  /** Largest |qty| × price this position ever reached at the exchange (limit checks in tests). */
  maxAbsNotional: number;
  maxAbsQty: number;
}

export interface LedgerOptions {
  readonly walletUsdt: number;
  readonly takerRate: number;
  readonly makerRate: number;
  readonly defaultLeverage: number;
}

/** Rounds away binary noise so amounts print like the exchange's decimals. */
export const r8 = (x: number): number => Math.round(x * 1e8) / 1e8;

export class Ledger {
  readonly orders = new Map<number, Order>();
  readonly byClientId = new Map<string, number>();
  readonly algos = new Map<number, AlgoOrder>();
  readonly algoByClientId = new Map<string, number>();
  readonly fills: Fill[] = [];
  readonly positions = new Map<string, Position>();
  readonly leverage = new Map<string, number>();
  wallet: number;
  private nextOrderId = 7_000_001;
  private nextAlgoId = 3_000_001;
  private nextTradeId = 500_001;

  constructor(
    private readonly opts: LedgerOptions,
    private readonly bookOf: (symbol: string) => Book | null,
    private readonly emit: (event: Record<string, unknown>) => void,
    private readonly now: () => number,
  ) {
    this.wallet = opts.walletUsdt;
  }

  position(symbol: string): Position {
    let p = this.positions.get(symbol);
    if (p === undefined) {
      p = { qty: 0, entryPrice: 0, maxAbsNotional: 0, maxAbsQty: 0 };
      this.positions.set(symbol, p);
    }
    return p;
  }

  leverageOf(symbol: string): number {
    return this.leverage.get(symbol) ?? this.opts.defaultLeverage;
  }

  markPrice(symbol: string): number | null {
    const b = this.bookOf(symbol);
    if (b === null || b.bids.length === 0 || b.asks.length === 0) return null;
    return (b.bids[0]!.price + b.asks[0]!.price) / 2;
  }

  unrealized(symbol: string): number {
    const p = this.position(symbol);
    const mark = this.markPrice(symbol);
    return p.qty === 0 || mark === null ? 0 : p.qty * (mark - p.entryPrice);
  }

  /** Initial margin in use by positions and open orders, and the margin balance. */
  marginState(): { used: number; balance: number } {
    let used = 0;
    let upnl = 0;
    for (const [s, p] of this.positions) {
      const mark = this.markPrice(s) ?? p.entryPrice;
      used += (Math.abs(p.qty) * mark) / this.leverageOf(s);
      upnl += this.unrealized(s);
    }
    for (const o of this.orders.values()) {
      if ((o.status === "NEW" || o.status === "PARTIALLY_FILLED") && !o.reduceOnly) used += ((o.origQty - o.executedQty) * o.price) / this.leverageOf(o.symbol);
    }
    return { used, balance: this.wallet + upnl };
  }

  openOrders(symbol?: string): Order[] {
    return [...this.orders.values()].filter((o) => (o.status === "NEW" || o.status === "PARTIALLY_FILLED") && (symbol === undefined || o.symbol === symbol));
  }

  openAlgos(symbol?: string): AlgoOrder[] {
    return [...this.algos.values()].filter((a) => a.algoStatus === "NEW" && (symbol === undefined || a.symbol === symbol));
  }

  /** Creates an accepted order and matches what is marketable now. Validation happened before. */
  place(p: { symbol: string; side: Side; type: OrderType; qty: number; price: number; timeInForce: string; reduceOnly: boolean; clientOrderId: string; fromAlgoId?: number }): Order {
    const t = this.now();
    const o: Order = {
      orderId: this.nextOrderId++,
      clientOrderId: p.clientOrderId,
      symbol: p.symbol,
      side: p.side,
      type: p.type,
      origQty: p.qty,
      price: p.type === "LIMIT" ? p.price : 0,
      timeInForce: p.type === "LIMIT" ? p.timeInForce : "GTC",
      reduceOnly: p.reduceOnly,
      time: t,
      status: "NEW",
      executedQty: 0,
      cumQuote: 0,
      updateTime: t,
      fromAlgoId: p.fromAlgoId ?? null,
    };
    this.orders.set(o.orderId, o);
    this.byClientId.set(o.clientOrderId, o.orderId);
    this.orderEvent(o, "NEW", null);
    this.match(o, true);
    return o;
  }

  cancel(o: Order, status: "CANCELED" | "EXPIRED" = "CANCELED"): void {
    if (o.status !== "NEW" && o.status !== "PARTIALLY_FILLED") return;
    o.status = status;
    o.updateTime = this.now();
    this.orderEvent(o, status, null);
  }

  placeAlgo(p: { symbol: string; side: Side; orderType: string; quantity: number; triggerPrice: number; reduceOnly: boolean; closePosition: boolean; clientAlgoId: string }): AlgoOrder {
    const t = this.now();
    const a: AlgoOrder = { algoId: this.nextAlgoId++, ...p, createTime: t, algoStatus: "NEW", updateTime: t, actualOrderId: null };
    this.algos.set(a.algoId, a);
    this.algoByClientId.set(a.clientAlgoId, a.algoId);
    this.algoEvent(a);
    return a;
  }

  cancelAlgo(a: AlgoOrder): void {
    if (a.algoStatus !== "NEW") return;
    a.algoStatus = "CANCELED";
    a.updateTime = this.now();
    this.algoEvent(a);
  }

  /** One matching pass: resting limits against the current book, then stop triggers. */
  tick(): void {
    for (const o of this.openOrders()) this.match(o, false);
    for (const a of this.openAlgos()) {
      const mark = this.markPrice(a.symbol);
      if (mark === null) continue;
      const hit = a.side === "SELL" ? mark <= a.triggerPrice : mark >= a.triggerPrice;
      if (hit) this.trigger(a);
    }
  }

  private trigger(a: AlgoOrder): void {
    a.algoStatus = "TRIGGERED";
    a.updateTime = this.now();
    this.algoEvent(a);
    const pos = this.position(a.symbol);
    const reducing = a.side === "SELL" ? pos.qty > 0 : pos.qty < 0;
    const qty = a.closePosition ? Math.abs(pos.qty) : a.reduceOnly ? Math.min(a.quantity, Math.abs(pos.qty)) : a.quantity;
    if ((a.closePosition || a.reduceOnly) && (!reducing || qty <= 0)) {
      a.algoStatus = "EXPIRED";
      this.algoEvent(a);
      return;
    }
    const o = this.place({ symbol: a.symbol, side: a.side, type: "MARKET", qty, price: 0, timeInForce: "GTC", reduceOnly: a.reduceOnly || a.closePosition, clientOrderId: `algo-${a.algoId}`, fromAlgoId: a.algoId });
    a.actualOrderId = o.orderId;
    a.algoStatus = "FINISHED";
    a.updateTime = this.now();
    this.algoEvent(a);
  }

  /** Fills what crosses: takers walk the depth5 levels (a thin book's rest fills at its last level). */
  private match(o: Order, taker: boolean): void {
    const book = this.bookOf(o.symbol);
    if (book === null) return;
    const levels = o.side === "BUY" ? book.asks : book.bids;
    if (levels.length === 0) return;
    let left = r8(o.origQty - o.executedQty);
    if (o.reduceOnly) {
      const pos = this.position(o.symbol).qty;
      const room = o.side === "SELL" ? Math.max(0, pos) : Math.max(0, -pos);
      left = Math.min(left, room);
      if (left <= 0) {
        this.cancel(o, "EXPIRED");
        return;
      }
    }
    const crosses = (px: number) => o.type === "MARKET" || (o.side === "BUY" ? px <= o.price : px >= o.price);
    if (taker) {
      for (let i = 0; i < levels.length && left > 0; i++) {
        const lv = levels[i]!;
        if (!crosses(lv.price)) break;
        const q = i === levels.length - 1 && o.type === "MARKET" ? left : Math.min(left, lv.qty);
        this.fill(o, lv.price, q, false);
        left = r8(left - q);
      }
      if (left > 0 && (o.type === "MARKET" || o.timeInForce === "IOC" || o.timeInForce === "FOK")) this.cancel(o, "EXPIRED");
    } else if (crosses(levels[0]!.price)) {
      // A resting order the book has moved through fills at its own price, as a maker.
      this.fill(o, o.price, left, true);
    }
  }

  private fill(o: Order, price: number, qty: number, maker: boolean): void {
    const pos = this.position(o.symbol);
    const signed = o.side === "BUY" ? qty : -qty;
    let realized = 0;
    if (pos.qty !== 0 && Math.sign(pos.qty) !== Math.sign(signed)) {
      const closing = Math.min(Math.abs(pos.qty), qty);
      realized = r8(closing * (price - pos.entryPrice) * Math.sign(pos.qty));
      const rest = r8(pos.qty + signed);
      if (Math.sign(rest) === Math.sign(pos.qty) || rest === 0) pos.qty = rest;
      else {
        pos.qty = rest;
        pos.entryPrice = price;
      }
      if (pos.qty === 0) pos.entryPrice = 0;
    } else {
      const nq = r8(pos.qty + signed);
      pos.entryPrice = (pos.entryPrice * Math.abs(pos.qty) + price * qty) / Math.abs(nq);
      pos.qty = nq;
    }
    pos.maxAbsQty = Math.max(pos.maxAbsQty, Math.abs(pos.qty));
    pos.maxAbsNotional = Math.max(pos.maxAbsNotional, Math.abs(pos.qty) * price);
    const commission = r8(price * qty * (maker ? this.opts.makerRate : this.opts.takerRate));
    this.wallet = r8(this.wallet + realized - commission);
    const t = this.now();
    const f: Fill = { id: this.nextTradeId++, orderId: o.orderId, clientOrderId: o.clientOrderId, symbol: o.symbol, side: o.side, price, qty, quoteQty: r8(price * qty), commission, realizedPnl: realized, maker, time: t };
    this.fills.push(f);
    o.executedQty = r8(o.executedQty + qty);
    o.cumQuote = r8(o.cumQuote + price * qty);
    o.status = o.executedQty >= o.origQty - 1e-12 ? "FILLED" : "PARTIALLY_FILLED";
    o.updateTime = t;
    this.orderEvent(o, "TRADE", f);
    this.emit({
      e: "ACCOUNT_UPDATE",
      E: t,
      T: t,
      a: {
        m: "ORDER",
        B: [{ a: "USDT", wb: String(this.wallet), cw: String(this.wallet), bc: "0" }],
        P: [{ s: o.symbol, pa: String(pos.qty), ep: String(pos.entryPrice), cr: "0", up: String(this.unrealized(o.symbol)), mt: "cross", iw: "0", ps: "BOTH" }],
      },
    });
  }

  private orderEvent(o: Order, exec: string, f: Fill | null): void {
    const t = this.now();
    this.emit({
      e: "ORDER_TRADE_UPDATE",
      E: t,
      T: t,
      o: {
        s: o.symbol,
        c: o.clientOrderId,
        S: o.side,
        o: o.type,
        f: o.timeInForce,
        q: String(o.origQty),
        p: String(o.price),
        ap: String(o.executedQty > 0 ? o.cumQuote / o.executedQty : 0),
        sp: "0",
        x: exec,
        X: o.status,
        i: o.orderId,
        l: String(f?.qty ?? 0),
        z: String(o.executedQty),
        L: String(f?.price ?? 0),
        N: "USDT",
        n: String(f?.commission ?? 0),
        T: f?.time ?? t,
        t: f?.id ?? 0,
        m: f?.maker ?? false,
        R: o.reduceOnly,
        ps: "BOTH",
        rp: String(f?.realizedPnl ?? 0),
      },
    });
  }

  private algoEvent(a: AlgoOrder): void {
    const t = this.now();
    this.emit({
      e: "ALGO_UPDATE",
      E: t,
      T: t,
      o: { caid: a.clientAlgoId, aid: a.algoId, at: "CONDITIONAL", o: a.orderType, s: a.symbol, S: a.side, ps: "BOTH", q: String(a.quantity), X: a.algoStatus, tp: String(a.triggerPrice), R: a.reduceOnly, cp: a.closePosition, ai: a.actualOrderId === null ? "" : String(a.actualOrderId) },
    });
  }
}
