/**
 * The testnet trader (docs/trading.md): fed the engine's rows the way paper trading is, it turns the
 * shared strategy's intents into venue orders through the venue's execution seam (core/execution.ts),
 * within the per-symbol limits, and reports the venue's fills back to the strategy.
 *
 * - Every symbol's venue work (orders, stops, reconciliation, halts) runs in one queue, one step at a
 *   time, so a decision always sees the position the previous one left.
 * - The account's event stream is the source of truth for fills (deduplicated by trade id); after every
 *   (re)connection, missed fills are fetched from the trade list and positions, open orders and stops
 *   are reconciled before trading resumes.
 * - A position always has a venue-side protective stop that closes it; the venue's dead-man switch is
 *   renewed on a timer, so a dead process leaves no resting order behind, while the stop keeps
 *   protecting the position.
 * - The kill switch (risk/limits.ts RiskBook, fed the venue's figures) flattens and stops a symbol
 *   for the UTC day.
 */
import type { ExecutionVenue, OrderState, Outcome, StopState, StreamFill, VenueEvent, VenueSide, VenueTrade } from "../../core/execution.ts";
import type { Row, RowKind } from "../../core/rows.ts";
import type { Logger } from "../../util/log.ts";
import type { Halt, Intent, Strategy } from "../strategy/contract.ts";
import { clientOrderId, stopClientId } from "./client-ids.ts";
import { RiskBook, utcDay, utcDayStart } from "../risk/limits.ts";
import { joinTrades, positionOpenedAt, tradesOfDay, type DayTrades } from "./history.ts";
import type { RiskParams } from "../risk/params.ts";
import type { TradeParams } from "./params.ts";
import type { TradeRecords } from "./records.ts";
import { settlesWithin } from "./within.ts";

export interface LiveTraderOptions {
  readonly symbols: readonly string[];
  readonly params: TradeParams;
  /** The symbol's `[risk]` settings (with its `trade.symbols` overrides): the limits enforced at the venue. */
  readonly risk: (symbol: string) => RiskParams;
  /** How often positions are polled for unrealised PnL (kill switch) and drift, ms. */
  readonly positionPollMs?: number;
  /** Counters of an earlier trader of this process (a lease held before), continued rather than restarted. */
  readonly carry?: Pick<LiveTrader, "counters" | "skipped">;
}

const EPS = 1e-9;
/** Trades the venue's trade list answers at most per request (GET /fapi/v1/userTrades limit=1000). */
const TRADE_PAGE = 1000;
/** Pages read at most to rebuild one symbol's day (weight 5 each): 50,000 fills. */
const MAX_DAY_PAGES = 50;
/** Close orders sent at most per symbol at shutdown (a partial fill leaves a rest to close). */
const FLATTEN_TRIES = 3;
/** How long the shutdown waits at most for the user stream to say how the stops it cancelled ended, ms (then it asks the venue). */
const STOP_END_WAIT_MS = 1000;
const toVenue = (s: "buy" | "sell"): VenueSide => (s === "buy" ? "BUY" : "SELL");
/** A strategy halt's reason as the trader shows it: which book (the strategy's, on market-data prices) tripped. */
const strategyHaltReason = (reason: string): string => `${reason} (the strategy's own limit, on market-data prices)`;

interface Waiter {
  readonly orderId: number;
  readonly qty: number;
  readonly resolve: () => void;
}

class SymbolState {
  /** Signed position at the venue. */
  pos = 0;
  entryPrice = 0;
  stop: { clientStopId: string; stopId: number; side: VenueSide; trigger: number } | null = null;
  /** Key of the entry that opened the current position (names its stop), and the strategy's stop price. */
  entryKey: string | null = null;
  entryStopPrice: number | null = null;
  queue: Promise<void> = Promise.resolve();
  /** Unrealised PnL of the venue position, as the venue last reported it. */
  unrealized = 0;
  readonly seenTrades = new Set<number>();
  lastTradeId = 0;
  /** The latest page of the trade list read at start, kept until the first reconciliation dates a position it adopts. */
  latestAtStart: VenueTrade[] | null = null;
  readonly filledByOrder = new Map<number, number>();
  waiters: Waiter[] = [];
  lastRowTs = 0;
  mid: number | null = null;
  /** The latest prices row's fills (market data): the strategy's prices for a fill (docs/trading.md "Two sets of prices"). */
  buyFill: number | null = null;
  sellFill: number | null = null;
  /** The venue's last known price of the symbol (mark price or last fill): entries are capped at it too. */
  venuePx: number | null = null;
  /** A position adopted at start, told to the strategy once a market-data price is known (its entry translated into it). */
  adopted: { side: "buy" | "sell"; qty: number; since: number; entry: number; mark: number } | null = null;
  /**
   * The kill switch and order rate on the venue's own figures (fills' realised PnL minus commissions,
   * the position's unrealised PnL) and the wall clock, independent of the strategy's bookkeeping.
   */
  readonly risk: RiskBook;
  /** Keys whose earlier order ended unfilled: the next order of the key gets a new retry number. */
  readonly retries = new Map<string, number>();

  constructor(
    readonly symbol: string,
    readonly limits: RiskParams,
  ) {
    this.risk = new RiskBook(symbol, limits);
  }
}

export interface TradeStatusSymbol {
  readonly symbol: string;
  readonly position_qty: number;
  readonly entry_price: number;
  readonly position_notional: number;
  readonly max_position_notional: number;
  readonly stop_trigger: number | null;
  readonly open_orders: number;
  readonly day_pnl: number;
  readonly total_pnl: number;
  readonly orders_last_min: number;
  readonly max_orders_per_min: number;
  readonly max_daily_loss: number;
  readonly drawdown_pct: number;
  readonly max_drawdown_pct: number;
  readonly halted: string | null;
  /** The smallest entry the venue accepts for the symbol at its current venue price, in USDT (null: no price known yet). */
  readonly min_order_notional: number | null;
  /** `max_position_notional` is below `min_order_notional`: every entry is refused (warned at start). */
  readonly limit_below_min_order: boolean;
}

/** A position the trader leaves open on the venue at shutdown, as it last knew it. */
export interface PositionLeft {
  readonly symbol: string;
  readonly qty: number;
  readonly entry_price: number;
  /** Trigger of its protective stop, which stays on the venue (null: none known, unprotected). */
  readonly stop_trigger: number | null;
}

/**
 * `refusedLimit`: entries refused by a risk limit (a halt, max_orders_per_min, max_position_notional);
 * each refusal also counts in `skipped` under its reason (`halted`, `orders_per_min`,
 * `position_limit`, `qty_floors_to_zero`; `not_in_sync` for the other counter);
 * `refusedNotInSync`: entries refused because the user stream was down or not yet reconciled after a
 * reconnect (the trader cannot know the position, so it sends nothing new);
 * `refusedFilter`: orders (entries and exits) the venue adapter refused before sending by the symbol's
 * rules (minimum notional, minimum/maximum quantity, price range); an entry also counts in `skipped`
 * as `filter_<rule>` (`filter_min_notional`, `filter_min_qty`, `filter_max_qty`, `filter_price`).
 */
export const newTradeCounters = () => ({ intents: 0, ordersOk: 0, ordersFailed: 0, uncertain: 0, fills: 0, stopsPlaced: 0, stopsCancelled: 0, refusedLimit: 0, refusedNotInSync: 0, refusedFilter: 0, reconciles: 0, halts: 0 });

type RefusalCounter = "refusedLimit" | "refusedNotInSync";

/** `limit` (max_position_notional) is below the smallest order the venue accepts (`min`; null: unknown). */
const limitBelow = (limit: number, min: number | null): boolean => min !== null && limit < min * (1 - 1e-9);

export class LiveTrader {
  readonly counters: ReturnType<typeof newTradeCounters>;
  private readonly state = new Map<string, SymbolState>();
  private readonly keyByClientId = new Map<string, { key: string | null; ref: number | null }>();
  private ready = false;
  private stopping = false;
  private deadMan: ReturnType<typeof setInterval> | null = null;
  private poll: ReturnType<typeof setInterval> | null = null;
  private streamDownSince: number | null = null;
  /** False from a user-stream drop until the reconciliation after the reconnect: no new entries meanwhile. */
  private inSync = true;
  private polls = 0;
  /** Entry signals the strategy skipped and entries the trader refused before sending, by reason (status: why it is not trading). */
  readonly skipped: Record<string, number>;
  /** Set by `fence`: nothing more goes to the venue from this trader. */
  private fenced = false;
  /** Stops the shutdown cancelled, each waiting for the stream to say how it ended (by client id). */
  private readonly stopWaiters = new Map<string, () => void>();
  /** How the latest stops ended as the stream said (client id → status), the last few hundred. */
  private readonly stopEnded = new Map<string, string>();

  constructor(
    private readonly strategy: Strategy,
    private readonly venue: ExecutionVenue,
    private readonly records: TradeRecords,
    private readonly log: Logger,
    private readonly opts: LiveTraderOptions,
  ) {
    this.counters = opts.carry?.counters ?? newTradeCounters();
    this.skipped = opts.carry?.skipped ?? {};
    for (const s of opts.symbols) this.state.set(s, new SymbolState(s, opts.risk(s)));
    strategy.onDecision = (d) => {
      if (d.skip !== null) this.skipped[d.skip] = (this.skipped[d.skip] ?? 0) + 1;
    };
  }

  /**
   * Leverage, the user stream, reconciliation and the dead-man switch, before any order. Returns an
   * error message when the venue cannot be used; the caller decides whether to retry (start.ts).
   */
  async start(): Promise<string | null> {
    const err = await this.startSteps();
    // The stream keeps reconnecting on its own: a failed start must not leave it running behind a
    // trader nobody uses (a retry opens its own).
    if (err !== null) this.venue.stopStream();
    return err;
  }

  private async startSteps(): Promise<string | null> {
    const t = await this.venue.ping();
    if (!t.ok) return `cannot reach the trading venue: ${t.reason}`;
    for (const s of this.state.values()) {
      const lev = this.opts.params.symbols[s.symbol]?.leverage ?? 5;
      const r = await this.venue.setLeverage(s.symbol, lev);
      if (!r.ok) return `setting leverage ${lev} on ${s.symbol} failed: ${r.reason}`;
    }
    const connected = await this.venue.startStream({
      onEvent: (ev) => this.onStreamEvent(ev),
      onConnected: (reconnect) => {
        this.streamDownSince = null;
        this.records.note("user-stream connected", { reconnect });
        if (reconnect) this.log.log("info", "trade: user stream reconnected; reconciling", {});
        if (reconnect) void this.reconcileAll(false);
      },
      onDisconnected: (why) => {
        this.inSync = false;
        this.streamDownSince ??= Date.now();
        this.records.note("user-stream down", { why });
        this.log.limited("trade-stream", "warn", "trade: user stream down", { why });
      },
    });
    if (!connected) return "the user data stream did not connect";
    const halts = this.records.haltsOf(utcDay(Date.now()));
    for (const s of this.state.values()) {
      // Fills before this process are history: only later trade ids are ours to record.
      const trades = await this.venue.trades(s.symbol, "latest");
      if (trades === null) return `cannot read the trade list of ${s.symbol}`;
      const day = await this.dayTrades(s.symbol, trades);
      if (day === null) return `cannot read the trade list of ${s.symbol}`;
      for (const tr of [...trades, ...day.trades]) s.lastTradeId = Math.max(s.lastTradeId, tr.id);
      s.latestAtStart = trades;
      this.resumeDay(s, day, halts.get(s.symbol) ?? null);
    }
    await this.reconcileAll(true);
    if (this.fenced) return "stopped while starting (the trading lease was lost)";
    // The venue's rules and prices are known now: a position limit too small for one order is said once.
    for (const s of this.state.values()) this.warnLimitBelowMinOrder(s);
    for (const s of this.state.values()) {
      // A halt of the day in force at start: whatever position the venue still holds is closed.
      if (s.risk.haltAt(Date.now()) !== null && Math.abs(s.pos) > EPS) this.flattenHalted(s, `halt:${s.symbol}:${s.risk.currentHalt()!.since_ts_ms}`);
      else this.checkKill(s);
    }
    await this.armDeadMan();
    const renew = this.opts.params.dead_man_renew_sec * 1000;
    this.deadMan = setInterval(() => void this.armDeadMan(), renew);
    this.poll = setInterval(() => void this.pollPositions(), this.opts.positionPollMs ?? 5000);
    this.ready = true;
    this.log.log("info", "trade: ready", { symbols: this.opts.symbols });
    return null;
  }

  /** The smallest entry the venue accepts for the symbol at its venue price (else the market data's mid), in USDT; null: no price yet. */
  private minOrder(s: SymbolState): number | null {
    const px = s.venuePx ?? s.mid;
    return px === null || !(px > 0) ? null : this.venue.minOrderNotional(s.symbol, px);
  }

  /**
   * A `max_position_notional` below the smallest order the venue accepts (one quantity step, the
   * minimum quantity or the minimum notional, at the current price) refuses every entry: said once at
   * start, in the log and the audit log, naming the key that sets it (status: `limit_below_min_order`).
   */
  private warnLimitBelowMinOrder(s: SymbolState): void {
    const min = this.minOrder(s);
    const value = s.limits.max_position_notional;
    if (!limitBelow(value, min)) return;
    const key = this.opts.params.symbols[s.symbol]?.max_position_notional !== undefined ? `trade.symbols.${s.symbol}.max_position_notional` : "risk.max_position_notional";
    const price = s.venuePx ?? s.mid;
    const fields = { symbol: s.symbol, key, value, min_order_notional: Number(min!.toFixed(8)), price };
    this.log.log("warn", `trade: ${key} = ${value} is below the smallest order the venue accepts for ${s.symbol} (${min!.toFixed(2)} USDT at ${price}): every entry will be refused`, fields);
    this.records.note("limit below the smallest order", fields);
  }

  /** A row on its way to the sinks (the tap calls this for every row of every symbol). */
  onRow(kind: RowKind, row: Row): void {
    const s = this.state.get(row.symbol as string);
    if (s === undefined) return;
    if (typeof row.ts_ms === "number") s.lastRowTs = row.ts_ms;
    if (kind === "orderbook" && typeof row.mid === "number") s.mid = row.mid;
    if (kind === "prices" && typeof row.best_buy_fill === "number" && typeof row.best_sell_fill === "number") {
      s.buyFill = row.best_buy_fill;
      s.sellFill = row.best_sell_fill;
    }
    if (s.adopted !== null) this.tellAdopted(s);
    const intents = this.strategy.onRow(kind, row);
    this.adoptStrategyHalt(s);
    for (const it of intents) {
      this.counters.intents++;
      if (!this.ready || this.stopping) {
        this.strategy.onIntentDone(it.symbol, it.key, false);
        continue;
      }
      this.enqueue(s, () => this.execute(s, it));
    }
  }

  /**
   * Reasons /health fails with (halts for the day, a user stream down for long). A halt is read from
   * the symbol's risk book only, as status and metrics read it: the strategy's own halts are taken
   * into that book when they trip (adoptStrategyHalt).
   */
  healthReasons(nowMs = Date.now()): string[] {
    const out: string[] = [];
    for (const s of this.state.values()) {
      const h = s.risk.haltAt(nowMs);
      if (h !== null) out.push(`trade halted: ${h.reason}`);
    }
    if (this.streamDownSince !== null && nowMs - this.streamDownSince > 60_000) out.push(`trade user stream down for ${Math.round((nowMs - this.streamDownSince) / 1000)} s`);
    return out;
  }

  status(nowMs = Date.now()): { ready: boolean; user_stream: boolean; in_sync: boolean; symbols: TradeStatusSymbol[]; counters: LiveTrader["counters"]; skipped: Record<string, number>; limits: { used_weight_1m: number; order_count_10s: number; order_count_1m: number } } {
    const symbols: TradeStatusSymbol[] = [];
    for (const s of this.state.values()) {
      // The venue's position at the venue's price: that is what max_position_notional bounds.
      const px = s.venuePx ?? s.mid ?? s.entryPrice;
      const v = s.risk.view(nowMs, s.unrealized);
      const min = this.minOrder(s);
      symbols.push({
        symbol: s.symbol, position_qty: s.pos, entry_price: s.entryPrice, position_notional: Math.abs(s.pos) * px, max_position_notional: s.limits.max_position_notional,
        stop_trigger: s.stop?.trigger ?? null, open_orders: s.stop === null ? 0 : 1, day_pnl: v.day_pnl, total_pnl: v.total_pnl,
        orders_last_min: s.risk.ordersInWindow(nowMs), max_orders_per_min: s.limits.max_orders_per_min, max_daily_loss: s.limits.max_daily_loss,
        drawdown_pct: v.drawdown_pct, max_drawdown_pct: s.limits.max_drawdown_pct, halted: s.risk.haltAt(nowMs)?.reason ?? null,
        min_order_notional: min, limit_below_min_order: limitBelow(s.limits.max_position_notional, min),
      });
    }
    const l = this.venue.limits;
    return { ready: this.ready, user_stream: this.venue.streamConnected, in_sync: this.inSync, symbols, counters: this.counters, skipped: this.skipped, limits: { used_weight_1m: l.usedWeight1m, order_count_10s: l.orderCount10s, order_count_1m: l.orderCount1m } };
  }

  /**
   * Shutdown: no new orders; every open order cancelled; with `flatten` the positions closed and then
   * their stops cancelled (without it, positions keep their stops); the dead-man switch disarmed.
   * The venue gets `budgetMs` for all of it: an unreachable venue must not hold up the rest of the
   * shutdown (the sinks' flush). Past it the trader is fenced and what is still open is named in the
   * log. Returns the symbols left with a position.
   */
  async stop(flatten: boolean, budgetMs = Number.POSITIVE_INFINITY): Promise<string[]> {
    this.stopping = true;
    if (this.deadMan !== null) clearInterval(this.deadMan);
    if (this.poll !== null) clearInterval(this.poll);
    // No budget at all: nothing is sent (a step already queued would start before any timer fired).
    const deadline = performance.now() + budgetMs;
    const wound = budgetMs > 0 && (await settlesWithin(Promise.all([...this.state.values()].map((s) => this.enqueue(s, () => this.windDown(s, flatten, deadline)))), budgetMs));
    if (!wound) this.fence(`the venue did not finish the shutdown within ${Math.round(budgetMs)} ms`);
    this.venue.stopStream();
    const left = this.positionsLeft();
    this.reportLeft(left, flatten, wound ? null : `no answer from the venue within the ${Math.round(budgetMs)} ms the shutdown gives it; an order sent to close it may still have landed`);
    this.records.note("trader stopped", { flatten, in_time: wound, positions_left: left });
    return left.map((p) => p.symbol);
  }

  private async windDown(s: SymbolState, flatten: boolean, deadline: number): Promise<void> {
    await this.venue.cancelAllOrders(s.symbol);
    if (flatten) {
      for (let i = 0; i < FLATTEN_TRIES && Math.abs(s.pos) > EPS && !this.fenced; i++) {
        await this.close(s, `shutdown:${s.symbol}:${Date.now()}`, "end");
        await this.refreshPosition(s);
      }
      if (Math.abs(s.pos) <= EPS && !this.fenced) await this.cancelStopsAtEnd(s, deadline);
    }
    if (!this.fenced) await this.venue.armDeadMan(s.symbol, 0);
  }

  /**
   * Cancels the symbol's stops at shutdown and learns how each ended before the stream closes. The
   * cancel-all answer names none of them, so the stream's event for each is awaited (at most
   * STOP_END_WAIT_MS, and half of what the shutdown's budget has left); a stop not heard of is looked
   * up at the venue. Its last orders row is what the stream or the venue said (UNKNOWN when neither
   * answered), never a cancel taken on the request's word alone.
   */
  private async cancelStopsAtEnd(s: SymbolState, deadline: number): Promise<void> {
    const stops = new Map<string, { stopId: number; side: VenueSide; trigger: number }>();
    if (s.stop !== null) stops.set(s.stop.clientStopId, { stopId: s.stop.stopId, side: s.stop.side, trigger: s.stop.trigger });
    // Stops the trader lost track of (a placement that got no definite answer) are cancelled too.
    for (const a of (await this.venue.openStops(s.symbol)) ?? []) stops.set(a.clientStopId, { stopId: a.stopId, side: a.side, trigger: a.triggerPrice });
    const heard = [...stops.keys()].map((cid) => new Promise<void>((resolve) => this.stopWaiters.set(cid, resolve)));
    const r = await this.venue.cancelAllStops(s.symbol);
    s.stop = null;
    if (!r.ok) {
      for (const cid of stops.keys()) this.stopWaiters.delete(cid);
      this.log.log("warn", "trade: stops not cancelled at shutdown", { symbol: s.symbol, error: r.reason });
      return;
    }
    await settlesWithin(Promise.all(heard), Math.max(0, Math.min(STOP_END_WAIT_MS, (deadline - performance.now()) / 2)));
    for (const [cid, st] of stops) {
      this.stopWaiters.delete(cid);
      // Heard: onStopUpdate wrote its row.
      let ended = this.stopEnded.get(cid);
      if (ended === undefined) {
        const q = await this.venue.queryStop(s.symbol, cid);
        ended = this.stopEnded.get(cid);
        if (ended === undefined) {
          ended = q?.status ?? "UNKNOWN";
          const error = q === null ? "cancel of all stops answered, but neither the user stream nor a lookup said how this stop ended" : ended === "CANCELED" ? null : `cancel of all stops answered, yet the venue says ${ended}`;
          this.recordStop(s, cid, q?.stopId ?? st.stopId, q?.side ?? st.side, q?.triggerPrice ?? st.trigger, ended, "stop-cancel", r.latencyMs, error);
        }
      }
      if (ended === "CANCELED") this.counters.stopsCancelled++;
    }
  }

  private positionsLeft(): PositionLeft[] {
    return [...this.state.values()].filter((s) => Math.abs(s.pos) > EPS).map((s) => ({ symbol: s.symbol, qty: s.pos, entry_price: s.entryPrice, stop_trigger: s.stop?.trigger ?? null }));
  }

  /**
   * Every position left open, with whether its stop protects it: after an unreachable venue at
   * shutdown this line is the only place the operator learns that the account still holds risk.
   */
  private reportLeft(left: readonly PositionLeft[], flatten: boolean, late: string | null): void {
    if (left.length === 0) return;
    const positions = left.map((p) => ({
      ...p,
      protective_stop: p.stop_trigger === null ? "none known: the position is unprotected" : `stays on the venue (trigger ${p.stop_trigger})`,
    }));
    const named = left.map((p) => `${p.symbol} ${p.qty}`).join(", ");
    if (flatten) this.log.log("error", `trade: position${left.length === 1 ? "" : "s"} left open on the venue: ${named}`, { positions, why: late ?? "the close orders did not flatten it" });
    else this.log.log("warn", `trade: position${left.length === 1 ? "" : "s"} kept open on the venue (flatten_on_exit = false): ${named}`, { positions, ...(late === null ? {} : { why: late }) });
  }

  /**
   * Stops all venue work at once, without a request: another process is (or is about to be) the
   * account's trader, and it reconciles as after a restart — it cancels what this one left resting
   * and adopts the position and its stop. Steps already on the wire finish; queued ones never start.
   */
  fence(reason: string): void {
    if (this.fenced) return;
    this.fenced = true;
    this.ready = false;
    if (this.deadMan !== null) clearInterval(this.deadMan);
    if (this.poll !== null) clearInterval(this.poll);
    this.venue.stopStream();
    this.records.note("fenced", { reason });
    this.log.log("warn", "trade: stopped sending orders", { reason });
  }

  // ---- execution ------------------------------------------------------------------------------

  private enqueue(s: SymbolState, step: () => Promise<void>): Promise<void> {
    const run = s.queue.then(() => (this.fenced ? undefined : step())).catch((e: unknown) => this.log.log("error", "trade: step failed", { symbol: s.symbol, error: (e as Error).message }));
    s.queue = run;
    return run;
  }

  private async execute(s: SymbolState, it: Intent): Promise<void> {
    if (it.kind === "enter") {
      const now = Date.now();
      // Refused before sending: recorded, counted under its own reason in `skipped` (what status says
      // the trader is not trading for), and told to the strategy as unsent, so it takes no place in
      // the strategy's own max_orders_per_min (which would then blame the order rate).
      const refuse = (why: string, skip: string | null, counter: RefusalCounter | null = "refusedLimit") => {
        if (counter !== null) this.counters[counter]++;
        if (skip !== null) this.skipped[skip] = (this.skipped[skip] ?? 0) + 1;
        this.records.order({ symbol: s.symbol, ts_ms: now, client_order_id: clientOrderId(it.key), order_id: null, side: toVenue(it.side), type: "MARKET", qty: it.qty, price: null, status: "REFUSED", reason: "enter", latency_ms: null, attempts: 0, error: why, intent_key: it.key, ref_price: it.refPrice });
        this.strategy.onIntentDone(s.symbol, it.key, false);
      };
      const halt = s.risk.haltAt(now);
      // Shutting down is neither a limit nor a sync problem: recorded, not counted.
      if (this.stopping) return refuse("shutting down", null, null);
      if (halt !== null) return refuse(`halted: ${halt.reason}`, "halted");
      if (!this.inSync) return refuse("user stream down or not yet reconciled", "not_in_sync", "refusedNotInSync");
      if (!s.risk.orderRoom(now)) return refuse(`max_orders_per_min ${s.limits.max_orders_per_min} reached`, "orders_per_min");
      // Position limit at the venue: the position after this order stays within max_position_notional,
      // valued at the higher of the decision's (market-data) price and the venue's last known price:
      // a venue quoting above the market data must not take the position past the limit.
      const signed = it.side === "buy" ? it.qty : -it.qty;
      const cap = s.limits.max_position_notional / Math.max(it.refPrice, s.venuePx ?? 0);
      let qty = it.qty;
      if (Math.abs(s.pos + signed) > cap) qty = Math.max(0, it.side === "buy" ? cap - s.pos : cap + s.pos);
      const room = qty;
      const step = this.venue.marketStep(s.symbol);
      if (step !== null) qty = Math.floor(qty / step + 1e-9) * step;
      if (room <= EPS) return refuse(`max_position_notional ${s.limits.max_position_notional}: position ${s.pos} leaves no room`, "position_limit");
      // Room left, but less than one quantity step (a limit too small for the symbol's step): say so.
      if (qty <= EPS) return refuse(`quantity ${room} floors to 0 on the step ${step} of ${s.symbol} (max_position_notional ${s.limits.max_position_notional}, position ${s.pos})`, "qty_floors_to_zero");
      const placed = await this.order(s, it.key, toVenue(it.side), qty, it.refPrice, false, "enter");
      if (placed !== null && placed.executedQty > EPS) {
        if (Math.sign(s.pos) === (it.side === "buy" ? 1 : -1)) {
          s.entryKey = it.key;
          // The strategy's stop is in market-data prices: the same distance from the venue's entry.
          s.entryStopPrice = it.stopPrice === null ? null : (s.entryPrice * it.stopPrice) / it.refPrice;
        }
      }
      await this.ensureStop(s);
      return;
    }
    // Exit: reduce-only, never more than the venue position.
    const want = it.side === "sell" ? Math.max(0, s.pos) : Math.max(0, -s.pos);
    const qty = Math.min(it.qty, want);
    if (qty <= EPS) {
      this.strategy.onIntentDone(s.symbol, it.key, false);
      return;
    }
    await this.order(s, it.key, toVenue(it.side), qty, it.refPrice, true, it.reason);
    await this.ensureStop(s);
  }

  /** Closes the whole venue position of the symbol (shutdown, halt). */
  private async close(s: SymbolState, key: string, reason: string): Promise<void> {
    if (Math.abs(s.pos) <= EPS) return;
    const side: VenueSide = s.pos > 0 ? "SELL" : "BUY";
    await this.order(s, key, side, Math.abs(s.pos), s.mid ?? s.entryPrice, true, reason);
  }

  /** Places a MARKET order, records it, waits for its fills; returns the venue's order or null. */
  private async order(s: SymbolState, key: string, side: VenueSide, qty: number, ref: number, reduceOnly: boolean, reason: string): Promise<OrderState | null> {
    const retry = s.retries.get(key) ?? 0;
    const cid = clientOrderId(key, retry);
    this.keyByClientId.set(cid, { key, ref });
    const at = Date.now();
    s.risk.recordOrder(at);
    const res = await this.venue.placeOrder({ symbol: s.symbol, side, type: "MARKET", qty, price: null, refPrice: ref, reduceOnly, clientOrderId: cid });
    if (!res.ok && res.refusal !== null && res.refusal.startsWith("filter:")) {
      // Refused by the venue's symbol rules before sending (minimum notional, minimum or maximum
      // quantity, …): no order left the process. Like the trader's own refusals: recorded as REFUSED
      // naming the rule, given back to both order budgets, an entry counted in `skipped` under the rule.
      s.risk.forgetOrder(at);
      const rule = res.refusal.slice("filter:".length);
      this.counters.refusedFilter++;
      if (reason === "enter") this.skipped[`filter_${rule}`] = (this.skipped[`filter_${rule}`] ?? 0) + 1;
      this.records.order({ symbol: s.symbol, ts_ms: Date.now(), client_order_id: cid, order_id: null, side, type: "MARKET", qty, price: null, status: "REFUSED", reason, latency_ms: null, attempts: 0, error: `venue filter ${rule}: ${res.reason}`, intent_key: key, ref_price: ref });
      this.log.limited(`trade-filter-${s.symbol}`, "warn", "trade: order refused before sending by the venue's symbol rules", { symbol: s.symbol, rule, reason: res.reason });
      this.strategy.onIntentDone(s.symbol, key, false);
      return null;
    }
    this.recordOutcome(s, cid, key, side, qty, ref, reason, res);
    if (!res.ok) {
      if (res.uncertain) {
        this.counters.uncertain++;
        void this.reconcileAll(false);
      }
      s.retries.set(key, retry + 1);
      this.strategy.onIntentDone(s.symbol, key);
      return null;
    }
    const o = res.value;
    // A venue that acknowledges before filling (status NEW) still fills a MARKET order: wait for it.
    const expected = o.final ? o.executedQty : o.origQty;
    if (expected > EPS) await this.awaitFills(s, o.orderId, expected);
    if (o.final) {
      if (o.executedQty < o.origQty - EPS) s.retries.set(key, retry + 1);
      this.strategy.onIntentDone(s.symbol, key);
    }
    return o;
  }

  private recordOutcome(s: SymbolState, cid: string, key: string, side: VenueSide, qty: number, ref: number, reason: string, res: Outcome<OrderState>): void {
    const base = { symbol: s.symbol, ts_ms: Date.now(), client_order_id: cid, side, type: "MARKET", intent_key: key, ref_price: ref, reason, latency_ms: res.latencyMs, attempts: res.attempts };
    if (res.ok) {
      this.counters.ordersOk++;
      const o = res.value;
      this.records.order({ ...base, order_id: o.orderId, qty: o.origQty, price: o.avgPrice > 0 ? o.avgPrice : null, status: o.status, error: null });
    } else {
      this.counters.ordersFailed++;
      this.records.order({ ...base, order_id: null, qty, price: null, status: res.uncertain ? "UNKNOWN" : "REJECTED", error: res.reason });
      this.log.limited(`trade-order-${s.symbol}`, "warn", "trade: order not placed", { symbol: s.symbol, reason: res.reason });
    }
  }

  /** Resolves once the stream reported `qty` filled for the order; after 3 s the trade list is read. */
  private async awaitFills(s: SymbolState, orderId: number, qty: number): Promise<void> {
    if ((s.filledByOrder.get(orderId) ?? 0) >= qty - EPS) return;
    const done = new Promise<void>((resolve) => s.waiters.push({ orderId, qty, resolve }));
    if (!(await settlesWithin(done, 3000))) await this.backfillTrades(s);
    s.waiters = s.waiters.filter((w) => w.orderId !== orderId);
  }

  /** The position's exchange-side stop: placed when a position exists, moved when it flips, cancelled when flat. */
  private async ensureStop(s: SymbolState): Promise<void> {
    const flat = Math.abs(s.pos) <= EPS;
    const side: VenueSide = s.pos > 0 ? "SELL" : "BUY";
    const old = s.stop;
    if (old !== null && (flat || old.side !== side)) {
      // The stream's ALGO_UPDATE for this cancel may arrive (and clear s.stop) before the answer does.
      const r = await this.venue.cancelStop(s.symbol, old.clientStopId);
      if (r.ok) {
        this.counters.stopsCancelled++;
        this.recordStop(s, old.clientStopId, old.stopId, old.side, old.trigger, "CANCELED", "stop-cancel", r.latencyMs, null);
        if (s.stop === old) s.stop = null;
      } else if (r.gone) {
        // Not resting any more, but not cancelled by us: it fired (its fill made the position flat) or
        // ended otherwise. The row carries the refusal and the state the venue gives, never CANCELED.
        const q = await this.venue.queryStop(s.symbol, old.clientStopId);
        const status = q?.status ?? this.stopEnded.get(old.clientStopId) ?? "UNKNOWN";
        this.recordStop(s, old.clientStopId, old.stopId, old.side, old.trigger, status, "stop-cancel", r.latencyMs, `cancel refused (${r.reason}): the stop is ${status}`);
        if (s.stop === old) s.stop = null;
      }
    }
    if (flat || s.stop !== null || this.stopping) return;
    const bps = this.opts.params.protective_stop_bps / 1e4;
    const fallback = side === "SELL" ? s.entryPrice * (1 - bps) : s.entryPrice * (1 + bps);
    const given = s.entryStopPrice;
    const trigger = given !== null && (side === "SELL" ? given < s.entryPrice : given > s.entryPrice) ? given : fallback;
    const base = s.entryKey ?? `external-${s.pos}-${s.entryPrice}`;
    let cid = stopClientId(s.symbol, base);
    let r = await this.venue.placeStop({ symbol: s.symbol, side, triggerPrice: trigger, clientStopId: cid });
    for (let spent = 0; r.ok && r.value.status !== "NEW"; spent++) {
      // The id is this position's stop that already fired (or ended): the venue answered the resend
      // (-4116 duplicate) with it. Its fill may not have reached us yet: the trade list is read, and
      // only a position still open then gets a new stop, under an id of its own.
      this.recordStop(s, cid, r.value.stopId, r.value.side, r.value.triggerPrice, r.value.status, "stop", r.latencyMs, `not placed: the id is a stop that is ${r.value.status}`);
      await this.backfillTrades(s);
      if (Math.abs(s.pos) <= EPS || (s.pos > 0 ? "SELL" : "BUY") !== side || s.stop !== null || this.stopping) return;
      if (spent >= 2) {
        this.log.log("error", "trade: protective stop not placed", { symbol: s.symbol, reason: `its ids are stops that ended (${r.value.status})` });
        return;
      }
      cid = stopClientId(s.symbol, `${base}#${r.value.stopId}`);
      r = await this.venue.placeStop({ symbol: s.symbol, side, triggerPrice: trigger, clientStopId: cid });
    }
    if (r.ok) {
      this.counters.stopsPlaced++;
      s.stop = { clientStopId: r.value.clientStopId, stopId: r.value.stopId, side, trigger: r.value.triggerPrice };
      this.recordStop(s, cid, r.value.stopId, side, r.value.triggerPrice, r.value.status, "stop", r.latencyMs, null);
      return;
    }
    this.recordStop(s, cid, null, side, trigger, r.uncertain ? "UNKNOWN" : "REJECTED", "stop", r.latencyMs, r.reason);
    if (r.refusal === "would-trigger-now") {
      // The market is already past the stop: do now what the stop would have done.
      this.log.log("warn", "trade: stop would trigger at once; closing the position", { symbol: s.symbol, trigger });
      await this.close(s, `stopnow:${cid}`, "stop");
      return;
    }
    this.log.log("error", "trade: protective stop not placed", { symbol: s.symbol, reason: r.reason });
  }

  private recordStop(s: SymbolState, cid: string, stopId: number | null, side: VenueSide, trigger: number, status: string, reason: string, latency: number | null, error: string | null): void {
    this.records.order({ symbol: s.symbol, ts_ms: Date.now(), client_order_id: cid, order_id: stopId, side, type: "STOP_MARKET", qty: 0, price: trigger, status, reason, latency_ms: latency, attempts: 1, error, intent_key: s.entryKey, ref_price: null });
  }

  private async armDeadMan(): Promise<void> {
    if (this.stopping || this.fenced) return;
    const ms = this.opts.params.dead_man_sec * 1000;
    for (const s of this.state.values()) {
      const r = await this.venue.armDeadMan(s.symbol, ms);
      if (!r.ok) this.log.limited(`trade-deadman-${s.symbol}`, "warn", "trade: dead-man switch not renewed", { symbol: s.symbol, error: r.reason });
    }
  }

  // ---- venue state ----------------------------------------------------------------------------

  private onStreamEvent(ev: VenueEvent): void {
    this.records.stream(ev.raw);
    if (ev.type === "order") this.onOrderUpdate(ev);
    else if (ev.type === "stop") this.onStopUpdate(ev);
    else if (ev.type === "account") {
      for (const p of ev.unrealized) {
        const s = this.state.get(p.symbol);
        if (s !== undefined) s.unrealized = p.unrealizedPnl;
      }
    }
  }

  private onOrderUpdate(o: Extract<VenueEvent, { type: "order" }>): void {
    const s = this.state.get(o.symbol);
    if (s === undefined) return;
    const known = this.keyByClientId.get(o.clientOrderId);
    if (o.fill !== null) this.applyFill(s, o.fill);
    if (o.final && (o.fill === null || o.filled)) {
      this.records.order({
        // Our clock, like every other orders row, so a symbol's rows are in the order they happened here.
        symbol: s.symbol, ts_ms: Date.now(), client_order_id: o.clientOrderId, order_id: o.orderId, side: o.side, type: o.orderType, qty: o.qty,
        price: o.price, status: o.status, reason: known === undefined ? "venue" : "stream", latency_ms: null, attempts: 0, error: null,
        intent_key: known?.key ?? null, ref_price: known?.ref ?? null,
      });
    }
  }

  private onStopUpdate(o: Extract<VenueEvent, { type: "stop" }>): void {
    const s = this.state.get(o.symbol);
    if (s === undefined || o.resting) return;
    this.recordStop(s, o.clientStopId, o.stopId, o.side, o.triggerPrice, o.status, "stream", null, null);
    const was = this.stopEnded.get(o.clientStopId);
    this.stopEnded.delete(o.clientStopId);
    this.stopEnded.set(o.clientStopId, o.status);
    if (this.stopEnded.size > 256) this.stopEnded.delete(this.stopEnded.keys().next().value!);
    this.stopWaiters.get(o.clientStopId)?.();
    const ours = s.stop !== null && s.stop.clientStopId === o.clientStopId;
    if (ours) s.stop = null;
    // Gone (finished, cancelled, expired): whatever it left is checked (and protected again) in the
    // queue. Not at TRIGGERED: its closing order is still on its way, the position not yet closed, and
    // a check now would send the same stop again (-4116); that order's fill checks it (applyFill).
    if (o.status !== "TRIGGERED" && (ours || was === "TRIGGERED")) void this.enqueue(s, () => this.ensureStop(s));
  }

  private applyFill(s: SymbolState, f: StreamFill): void {
    if (s.seenTrades.has(f.tradeId) || f.tradeId <= 0) return;
    s.seenTrades.add(f.tradeId);
    s.lastTradeId = Math.max(s.lastTradeId, f.tradeId);
    this.counters.fills++;
    const known = this.keyByClientId.get(f.clientOrderId);
    this.records.fill({ symbol: s.symbol, ts_ms: f.time, trade_id: f.tradeId, order_id: f.orderId, client_order_id: f.clientOrderId, side: f.side, price: f.price, qty: f.qty, commission: f.commission, commission_asset: f.commissionAsset, realized_pnl: f.realizedPnl, maker: f.maker, intent_key: known?.key ?? null, ref_price: known?.ref ?? null });
    const signed = f.side === "BUY" ? f.qty : -f.qty;
    const next = Math.round((s.pos + signed) * 1e9) / 1e9;
    if (Math.abs(next) <= EPS) s.entryPrice = 0;
    else if (Math.sign(next) !== Math.sign(s.pos)) s.entryPrice = f.price;
    else if (Math.abs(next) > Math.abs(s.pos)) s.entryPrice = (s.entryPrice * Math.abs(s.pos) + f.price * f.qty) / Math.abs(next);
    s.pos = Math.abs(next) <= EPS ? 0 : next;
    if (s.pos === 0) s.unrealized = 0;
    s.venuePx = f.price;
    s.risk.realize(Date.now(), f.realizedPnl - f.commission);
    s.filledByOrder.set(f.orderId, (s.filledByOrder.get(f.orderId) ?? 0) + f.qty);
    // The strategy measures its positions on the market data (its exits, its own day PnL): it is told
    // the market-data price of the fill's side when the fill came, not the venue's price (docs/trading.md
    // "Two sets of prices"). The venue's figures stay the ledger's and the kill switch's.
    const side = f.side === "BUY" ? "buy" : "sell";
    const price = this.marketPrice(s, side) ?? known?.ref ?? f.price;
    this.strategy.onFill({ symbol: s.symbol, side, qty: f.qty, price, ts_ms: s.lastRowTs > 0 ? s.lastRowTs : f.time, fee: f.commission, key: known?.key ?? null });
    this.adoptStrategyHalt(s);
    for (const w of s.waiters) if (w.orderId === f.orderId && (s.filledByOrder.get(f.orderId) ?? 0) >= w.qty - EPS) w.resolve();
    this.checkKill(s);
    // Whatever moved the position (our order, a triggered stop, a fill we did not ask for), it is
    // protected, or its stop removed, in the queue.
    void this.enqueue(s, () => this.ensureStop(s));
  }

  /**
   * The kill switch starts where the UTC day stands at the venue, not at zero: the day's realised PnL
   * (commissions included) from the venue's trade list, each trade checked in turn as it was live, and
   * a halt an earlier trader recorded today in the audit log (tripped on unrealised PnL, it may not
   * show in the realised figures). A halted symbol stays halted until the day ends, whatever restarts it.
   */
  private resumeDay(s: SymbolState, day: DayTrades, recorded: { reason: string; since_ts_ms: number } | null): void {
    const now = Date.now();
    for (const t of day.trades) {
      s.risk.realize(t.time, t.realizedPnl - t.commission);
      s.risk.check(t.time, 0);
    }
    if (!day.complete) this.log.log("warn", `trade: the day has more than ${MAX_DAY_PAGES * TRADE_PAGE} trades; day PnL rebuilt from the first ones`, { symbol: s.symbol, trades: day.trades.length });
    if (recorded !== null) s.risk.restoreHalt(now, recorded.reason, recorded.since_ts_ms);
    const v = s.risk.view(now, 0);
    const halt = s.risk.haltAt(now);
    this.records.note("day resumed", { symbol: s.symbol, trades: day.trades.length, complete: day.complete, day_pnl: v.day_pnl, halted: halt?.reason ?? null });
    if (halt !== null) {
      this.counters.halts++;
      this.log.log("warn", "trade: halted for the day before this start; stays halted", { symbol: s.symbol, reason: halt.reason });
      // The fresh strategy learns it as a live halt's: it proposes no entry for the symbol that day.
      this.strategy.onHalt(halt);
    }
  }

  private checkKill(s: SymbolState): void {
    this.halted(s, s.risk.check(Date.now(), s.unrealized));
  }

  /**
   * The strategy's own loss limits (on market-data prices) halted the symbol: the halt is taken into
   * the symbol's risk book, so it is one halt like the kill switch's — in status, metrics, /health,
   * the audit log (and so continued by a restart that day: resumeDay), flattened, entries refused.
   */
  private adoptStrategyHalt(s: SymbolState): void {
    const h = this.strategy.halts().find((x) => x.symbol === s.symbol);
    const now = Date.now();
    if (h === undefined || s.risk.haltAt(now) !== null) return;
    // A halt of an earlier UTC day (event time) is over.
    if (h.day !== utcDay(now)) return;
    s.risk.restoreHalt(now, strategyHaltReason(h.reason), now);
    this.halted(s, s.risk.currentHalt());
  }

  /**
   * A halt that just tripped: counted, logged, noted in the audit log, told to the strategy (which
   * then proposes no entry for the symbol that day, as after its own halt), the symbol flattened.
   */
  private halted(s: SymbolState, halt: Halt | null): void {
    if (halt === null) return;
    const reason = halt.reason;
    this.strategy.onHalt(halt);
    this.counters.halts++;
    this.log.log("error", "trade: loss limit breached; flattening and stopping for the day", { symbol: s.symbol, reason });
    this.records.note("halt", { symbol: s.symbol, reason, day: halt.day });
    this.flattenHalted(s, `halt:${s.symbol}:${halt.since_ts_ms}`);
  }

  private flattenHalted(s: SymbolState, key: string): void {
    void this.enqueue(s, async () => {
      await this.venue.cancelAllOrders(s.symbol);
      await this.close(s, key, "risk_halt");
      await this.ensureStop(s);
    });
  }

  /**
   * The UTC day's trades of `symbol`, oldest first: from the latest page when it reaches back past
   * midnight, else read page by page from midnight on (a busy day has more than one page).
   */
  private async dayTrades(symbol: string, latest: readonly VenueTrade[]): Promise<DayTrades | null> {
    const now = Date.now();
    const fromLatest = tradesOfDay(latest, now, TRADE_PAGE);
    if (fromLatest.complete) return fromLatest;
    const all: VenueTrade[] = [];
    let page = await this.venue.trades(symbol, { fromTime: utcDayStart(now) });
    for (let n = 1; page !== null; n++) {
      all.push(...page);
      const last = page.length < TRADE_PAGE;
      if (last || n >= MAX_DAY_PAGES) return { trades: tradesOfDay(all, now, Number.POSITIVE_INFINITY).trades, complete: last };
      page = await this.venue.trades(symbol, { fromId: page[page.length - 1]!.id + 1 });
    }
    return null;
  }

  /** Fills the stream did not deliver (down, or slow), from the trade list; returns the trades read (null: not read). */
  private async backfillTrades(s: SymbolState): Promise<VenueTrade[] | null> {
    const trades = await this.venue.trades(s.symbol, { fromId: s.lastTradeId + 1 });
    if (trades === null) return null;
    for (const t of trades) {
      if (s.seenTrades.has(t.id)) continue;
      // The trade list has no client order id: the order has it.
      const o = await this.venue.queryOrder(s.symbol, t.orderId);
      const clientOrderId = o?.clientOrderId ?? "";
      this.applyFill(s, { tradeId: t.id, orderId: t.orderId, clientOrderId, side: t.side, price: t.price, qty: t.qty, commission: t.commission, commissionAsset: "USDT", realizedPnl: t.realizedPnl, maker: t.maker, time: t.time });
    }
    return trades;
  }

  private async refreshPosition(s: SymbolState): Promise<void> {
    const ps = await this.venue.positions(s.symbol);
    const p = ps?.find((x) => x.symbol === s.symbol);
    if (p === undefined) return;
    if (p.markPrice > 0) s.venuePx = p.markPrice;
    s.pos = Math.abs(p.qty) <= EPS ? 0 : p.qty;
    s.entryPrice = p.entryPrice;
    s.unrealized = p.unrealizedPnl;
  }

  private async pollPositions(): Promise<void> {
    this.polls++;
    const ps = await this.venue.positions();
    if (ps === null) return;
    for (const p of ps) {
      const s = this.state.get(p.symbol);
      if (s === undefined) continue;
      if (p.markPrice > 0) s.venuePx = p.markPrice;
      s.unrealized = Math.abs(s.pos) <= EPS ? 0 : p.unrealizedPnl;
      this.checkKill(s);
    }
    // Every few polls the stops are checked against the venue too: a stop triggered or cancelled
    // without an event we understood must not leave the position bare.
    if (this.polls % 3 !== 0) return;
    for (const s of this.state.values()) {
      if (s.stop === null && Math.abs(s.pos) <= EPS) continue;
      void this.enqueue(s, async () => {
        const stops = await this.venue.openStops(s.symbol);
        if (stops === null) return;
        if (s.stop !== null && !stops.some((a) => a.clientStopId === s.stop!.clientStopId)) s.stop = null;
        await this.ensureStop(s);
      });
    }
  }

  /**
   * Brings every symbol in line with the venue: missed fills, the position, unknown resting orders
   * (cancelled: this account's orders are this process's), and the stop.
   */
  private async reconcileAll(initial: boolean): Promise<void> {
    this.counters.reconciles++;
    await Promise.all(
      [...this.state.values()].map((s) =>
        this.enqueue(s, async () => {
          const backfilled = await this.backfillTrades(s);
          const latest = s.latestAtStart;
          s.latestAtStart = null;
          const before = s.pos;
          await this.refreshPosition(s);
          if (initial && Math.abs(s.pos) > EPS) {
            // A position from before this process (a crash): the strategy learns it as an external fill.
            // Its age is the venue's: the time of the fill that opened it, from the trade list; when the
            // list does not reach back that far, the adoption time (the strategy's time stop then
            // counts from now). Never 0: the time stop would close it at the first row. The list is the
            // latest page the start read plus the trades after it just backfilled, not read again; only
            // when either is missing is the latest page asked for.
            const listed = latest !== null && backfilled !== null ? joinTrades(latest, backfilled) : ((await this.venue.trades(s.symbol, "latest")) ?? []);
            const opened = positionOpenedAt(s.pos, listed);
            const since = opened ?? Date.now();
            this.log.log("warn", "trade: position found at start; adopting it", { symbol: s.symbol, qty: s.pos, entry: s.entryPrice, opened_ms: since, age_known: opened !== null });
            // Told once a market-data price is known (the first row), its entry in market-data terms.
            s.adopted = { side: s.pos > 0 ? "buy" : "sell", qty: Math.abs(s.pos), since, entry: s.entryPrice, mark: s.venuePx ?? s.entryPrice };
            this.tellAdopted(s);
          } else if (!initial && Math.abs(s.pos - before) > EPS) {
            this.log.log("warn", "trade: position differed from the stream's", { symbol: s.symbol, venue: s.pos, local: before });
          }
          const open = await this.venue.openOrders(s.symbol);
          for (const o of open ?? []) {
            if (!this.keyByClientId.has(o.clientOrderId) || initial) await this.venue.cancelOrder(s.symbol, o.clientOrderId);
          }
          const stops = await this.venue.openStops(s.symbol);
          if (stops !== null) this.adoptStops(s, stops);
          await this.ensureStop(s);
        }),
      ),
    );
    // Entries resume only if the stream did not drop again meanwhile.
    if (this.venue.streamConnected) this.inSync = true;
    this.records.note("reconciled", { initial, positions: Object.fromEntries([...this.state.values()].map((s) => [s.symbol, s.pos])) });
  }

  /** The market data's price for a fill on `side` now (the latest prices row's fill, else the mid); null: none seen yet. */
  private marketPrice(s: SymbolState, side: "buy" | "sell"): number | null {
    return (side === "buy" ? s.buyFill : s.sellFill) ?? s.mid;
  }

  /**
   * A position adopted at start, as an external fill: its venue entry moved into market-data terms by
   * the ratio of the market data's price to the venue's mark (the same distance in bps), so the
   * strategy's stops and targets keep what the position has gained or lost so far.
   */
  private tellAdopted(s: SymbolState): void {
    const a = s.adopted;
    if (a === null) return;
    const md = this.marketPrice(s, a.side === "buy" ? "sell" : "buy");
    if (md === null) return;
    s.adopted = null;
    const price = a.mark > 0 ? (a.entry * md) / a.mark : md;
    this.strategy.onFill({ symbol: s.symbol, side: a.side, qty: a.qty, price, ts_ms: a.since, fee: 0, key: null });
    this.adoptStrategyHalt(s);
  }

  /** Keeps one stop on the right side; cancels the rest (left by a crash, or for a flipped position). */
  private adoptStops(s: SymbolState, stops: readonly StopState[]): void {
    const side: VenueSide = s.pos > 0 ? "SELL" : "BUY";
    s.stop = null;
    for (const a of stops) {
      if (Math.abs(s.pos) > EPS && a.side === side && s.stop === null) {
        s.stop = { clientStopId: a.clientStopId, stopId: a.stopId, side: a.side, trigger: a.triggerPrice };
        continue;
      }
      void this.venue.cancelStop(s.symbol, a.clientStopId);
    }
  }
}
