// The orders rows of protective stops end with the stop's state at the venue (docs/schemas.md
// "orders"): a stop cancelled at shutdown ends CANCELED even when the user stream closes before its
// event (the trader waits for it, then asks the venue); a stop that fired ends FINISHED, not
// CANCELED, and is not sent again under its spent id (-4116); a cancel the venue refuses (-2011) is
// recorded with that error and the state the venue gives, never as CANCELED on the request's word.
// The first two run against the fake testnet (real HTTP and WebSocket); the rest against a scripted
// venue that answers exactly what each case needs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { ExecutionVenue, NewStop, Outcome, StopState, VenueEvent, VenueEventHandlers, VenueReply } from "../../src/core/execution.ts";
import { API_KEY, Rows, SECRET, startVenue, until } from "./trade-unit-support.ts";
import { binanceExecution } from "../../src/exchange/binance/execution/venue.ts";
import { TradeParamsSchema } from "../../src/trading/live/params.ts";
import { TradeRecords } from "../../src/trading/live/records.ts";
import { LiveTrader } from "../../src/trading/live/trader.ts";
import { RiskParamsSchema } from "../../src/trading/risk/params.ts";
import { createLogger } from "../../src/util/log.ts";
import type { FakeExchange } from "../fake-exchange/index.ts";
import type { FakeTestnet } from "../fake-testnet/index.ts";
import { tempDir } from "../helpers/binary.ts";
import { ScriptedStrategy } from "./scripted-strategy.ts";

const SYMBOL = "SANDUSDT";



const params = TradeParamsSchema.parse({ symbols: { [SYMBOL]: { leverage: 5 } }, dead_man_sec: 30, dead_man_renew_sec: 10 });
const risk = RiskParamsSchema.parse({ max_position_notional: 1000, max_orders_per_min: 50, max_daily_loss: 1000, max_drawdown_pct: 50, capital_usdt: 10_000 });

describe("stop records against the fake testnet", () => {
  let fx: FakeExchange;
  let tn: FakeTestnet;
  beforeAll(async () => {
    ({ fx, tn } = await startVenue(SYMBOL, API_KEY, SECRET));
  });
  afterAll(async () => {
    await tn.stop();
    await fx.stop();
  });

  const mid = () => {
    const d = JSON.parse(fx.lastDepth(SYMBOL)!);
    return (Number(d.b[0][0]) + Number(d.a[0][0])) / 2;
  };

  async function makeTrader(): Promise<{ trader: LiveTrader; strategy: ScriptedStrategy; rows: Rows }> {
    const access = binanceExecution(
      { rest: tn.restBase, userStream: tn.wsBase, recvWindowMs: 5000, orderTimeoutMs: 1000, timeSyncSec: 60, resolveDeadlineMs: 3000, orderLimitShare: 0.8, listenKeyKeepaliveSec: 1800 },
      { BINANCE_API_KEY: API_KEY, BINANCE_API_SECRET: SECRET },
    );
    if (!access.ok) throw new Error(access.error);
    const strategy = new ScriptedStrategy();
    const rows = new Rows();
    const records = new TradeRecords(rows, join(tempDir("trader-stops"), "trading"), access.opener.secrets);
    const opened = await access.opener.open([SYMBOL], (e) => records.rest(e));
    if (!opened.ok) throw new Error(opened.error);
    const trader = new LiveTrader(strategy, opened.venue, records, createLogger({ stderr: false }), { symbols: [SYMBOL], params, risk: () => risk, positionPollMs: 200 });
    expect(await trader.start()).toBeNull();
    return { trader, strategy, rows };
  }

  let keyNo = 0;
  function enterLong(strategy: ScriptedStrategy, trader: LiveTrader, notional: number): void {
    const px = mid();
    strategy.queue.push({ kind: "enter", key: `stops:${Date.now()}:${++keyNo}`, symbol: SYMBOL, side: "buy", qty: notional / px, refPrice: px, stopPrice: null, reason: "signal", signal: null as never });
    trader.onRow("fusion", { symbol: SYMBOL, ts_ms: Date.now() });
  }

  test("a stop cancelled at shutdown ends CANCELED though the stream never reports it: the venue is asked", async () => {
    const { trader, strategy, rows } = await makeTrader();
    const ledger = tn.server.ledger;
    enterLong(strategy, trader, 30);
    await until("long with its stop", () => ledger.position(SYMBOL).qty > 0 && ledger.openAlgos(SYMBOL).length === 1);
    const [stop] = ledger.openAlgos(SYMBOL);
    await until("the stop recorded", () => rows.order(stop!.clientAlgoId).length > 0);
    const asked = tn.server.requests.length;
    // The stream delivers nothing from here on: the close's fill comes from the trade list, the stop's end from a lookup.
    tn.server.muted = true;
    try {
      expect(await trader.stop(true)).toEqual([]);
    } finally {
      tn.server.muted = false;
    }
    expect(ledger.position(SYMBOL).qty).toBe(0);
    expect(ledger.algos.get(stop!.algoId)!.algoStatus).toBe("CANCELED");
    const last = rows.order(stop!.clientAlgoId).at(-1)!;
    expect([last.status, last.reason, last.error]).toEqual(["CANCELED", "stop-cancel", null]);
    expect(tn.server.requests.slice(asked).some((q) => q.method === "GET" && q.path === "/fapi/v1/algoOrder")).toBe(true);
    expect(trader.counters.stopsCancelled).toBe(1);
  }, 30_000);

  test("a stop cancelled at shutdown with the stream up ends CANCELED (heard from the stream, no lookup)", async () => {
    const { trader, strategy, rows } = await makeTrader();
    const ledger = tn.server.ledger;
    enterLong(strategy, trader, 30);
    await until("long with its stop", () => ledger.position(SYMBOL).qty > 0 && ledger.openAlgos(SYMBOL).length === 1);
    const [stop] = ledger.openAlgos(SYMBOL);
    await until("the stop recorded", () => rows.order(stop!.clientAlgoId).length > 0);
    const asked = tn.server.requests.length;
    expect(await trader.stop(true)).toEqual([]);
    const last = rows.order(stop!.clientAlgoId).at(-1)!;
    expect([last.status, last.reason]).toEqual(["CANCELED", "stream"]);
    expect(tn.server.requests.slice(asked).some((q) => q.method === "GET" && q.path === "/fapi/v1/algoOrder")).toBe(false);
  }, 30_000);

  test("a stop that fires ends FINISHED: not sent again under its id (-4116), not cancelled, not recorded CANCELED", async () => {
    const { trader, strategy, rows } = await makeTrader();
    const ledger = tn.server.ledger;
    enterLong(strategy, trader, 30);
    await until("long with its stop", () => ledger.position(SYMBOL).qty > 0 && ledger.openAlgos(SYMBOL).length === 1);
    const [stop] = ledger.openAlgos(SYMBOL);
    const asked = tn.server.requests.length;
    // The market falls through the stop (100 bps under the entry).
    tn.shiftBook(SYMBOL, 0.97);
    try {
      await until("the stop fired and closed the position", () => ledger.algos.get(stop!.algoId)!.algoStatus === "FINISHED" && ledger.position(SYMBOL).qty === 0);
      await until("the trader flat", () => trader.status().symbols[0]!.position_qty === 0);
      await Bun.sleep(700);
    } finally {
      tn.shiftBook(SYMBOL, 1);
    }
    const mine = rows.order(stop!.clientAlgoId);
    expect(mine.at(-1)!.status).toBe("FINISHED");
    expect(mine.filter((r) => r.status === "CANCELED")).toEqual([]);
    const after = tn.server.requests.slice(asked);
    expect(after.filter((q) => q.path === "/fapi/v1/algoOrder" && q.method === "POST")).toEqual([]);
    expect(after.filter((q) => q.path === "/fapi/v1/algoOrder" && q.method === "DELETE")).toEqual([]);
    expect(await trader.stop(true)).toEqual([]);
  }, 30_000);
});

/** A venue whose answers each test sets; it records the stops asked for and lets the test emit stream events. */
class ScriptedVenue implements ExecutionVenue {
  readonly limits = { usedWeight1m: 0, orderCount10s: 0, orderCount1m: 0 };
  streamConnected = true;
  handlers: VenueEventHandlers | null = null;
  pos = 0;
  openStopList: StopState[] = [];
  cancelStopReply: VenueReply = { ok: true, latencyMs: 1 };
  queried: string[] = [];
  queryAnswer: (cid: string) => StopState | null = () => null;
  placeAnswer: (s: NewStop) => Outcome<StopState> = (s) => ({ ok: true, value: { stopId: 1, clientStopId: s.clientStopId, symbol: s.symbol, side: s.side, triggerPrice: s.triggerPrice, status: "NEW" }, latencyMs: 1, attempts: 1 });
  placed: NewStop[] = [];
  tradesAnswer: { fromId: number }[] = [];
  private readonly done: VenueReply = { ok: true, latencyMs: 1 };
  marketStep(): number | null {
    return 1;
  }
  minOrderNotional(_symbol: string, price: number): number | null {
    return price;
  }
  async ping() {
    return this.done;
  }
  async setLeverage() {
    return this.done;
  }
  async startStream(h: VenueEventHandlers) {
    this.handlers = h;
    return true;
  }
  stopStream(): void {
    this.streamConnected = false;
  }
  async placeOrder(): Promise<never> {
    throw new Error("no orders in these tests");
  }
  async placeStop(s: NewStop) {
    this.placed.push(s);
    return this.placeAnswer(s);
  }
  async queryOrder() {
    return null;
  }
  async cancelOrder() {
    return this.done;
  }
  async cancelAllOrders() {
    return this.done;
  }
  async cancelStop() {
    return this.cancelStopReply;
  }
  async cancelAllStops() {
    return this.done;
  }
  async queryStop(_symbol: string, cid: string) {
    this.queried.push(cid);
    return this.queryAnswer(cid);
  }
  async openOrders() {
    return [];
  }
  async openStops() {
    return this.openStopList;
  }
  async positions() {
    return [{ symbol: SYMBOL, qty: this.pos, entryPrice: 1, markPrice: 1, unrealizedPnl: 0 }];
  }
  async trades(_s: string, page: unknown) {
    if (typeof page === "object" && page !== null && "fromId" in page) this.tradesAnswer.push(page as { fromId: number });
    return [];
  }
  async armDeadMan() {
    return this.done;
  }
  emit(ev: VenueEvent): void {
    this.handlers!.onEvent(ev);
  }
}

const STOP: StopState = { stopId: 77, clientStopId: "hs-adopted", symbol: SYMBOL, side: "SELL", triggerPrice: 0.9, status: "NEW" };

/** A trader on the scripted venue that adopted a long of 10 and its resting stop `STOP`. */
async function scripted(): Promise<{ trader: LiveTrader; venue: ScriptedVenue; rows: Rows }> {
  const venue = new ScriptedVenue();
  venue.pos = 10;
  venue.openStopList = [STOP];
  const rows = new Rows();
  const records = new TradeRecords(rows, join(tempDir("trader-stops"), "trading"), []);
  const trader = new LiveTrader(new ScriptedStrategy(), venue, records, createLogger({ stderr: false }), { symbols: [SYMBOL], params, risk: () => risk, positionPollMs: 60_000 });
  expect(await trader.start()).toBeNull();
  expect(venue.placed).toEqual([]);
  return { trader, venue, rows };
}

/** The fill of the stop's closing order: the position of 10 sold. */
function stopFill(venue: ScriptedVenue): void {
  const fill = { tradeId: 9001, orderId: 555, clientOrderId: "algo-77", side: "SELL" as const, price: 0.9, qty: 10, commission: 0, commissionAsset: "USDT", realizedPnl: -1, maker: false, time: Date.now() };
  venue.emit({ type: "order", raw: {}, symbol: SYMBOL, clientOrderId: "algo-77", orderId: 555, side: "SELL", orderType: "MARKET", qty: 10, price: 0.9, status: "FILLED", final: true, filled: true, fill });
}

describe("stop records against a scripted venue", () => {
  test("a cancel refused as unknown (-2011) is recorded with its error and the state the venue gives, not CANCELED", async () => {
    const { trader, venue, rows } = await scripted();
    // The stop fired; the trader has not heard (no ALGO_UPDATE), then its fill makes the position flat.
    venue.cancelStopReply = { ok: false, gone: true, reason: "-2011: Unknown order sent.", latencyMs: 2 };
    venue.queryAnswer = () => ({ ...STOP, status: "FINISHED" });
    stopFill(venue);
    await until("the cancel answered and recorded", () => rows.order(STOP.clientStopId).length > 0);
    const last = rows.order(STOP.clientStopId).at(-1)!;
    expect(last.status).toBe("FINISHED");
    expect(String(last.error)).toContain("-2011: Unknown order sent.");
    expect(rows.order(STOP.clientStopId).filter((r) => r.status === "CANCELED")).toEqual([]);
    expect(trader.counters.stopsCancelled).toBe(0);
    await trader.stop(true);
  });

  test("a refused cancel the venue cannot look up keeps what the stream said, else UNKNOWN", async () => {
    const { trader, venue, rows } = await scripted();
    venue.cancelStopReply = { ok: false, gone: true, reason: "-2011: Unknown order sent.", latencyMs: 2 };
    stopFill(venue);
    await until("recorded", () => rows.order(STOP.clientStopId).length > 0);
    const last = rows.order(STOP.clientStopId).at(-1)!;
    expect([last.status, last.reason]).toEqual(["UNKNOWN", "stop-cancel"]);
    expect(String(last.error)).toContain("-2011");
    await trader.stop(true);
  });

  test("a shutdown cancel with no event and no lookup: UNKNOWN; with a lookup: the venue's status; with an event: no lookup", async () => {
    for (const how of ["nothing", "lookup", "event"] as const) {
      const { trader, venue, rows } = await scripted();
      // Flatten finds nothing to close (the venue's position is 0 at the shutdown's refresh), then cancels every stop.
      venue.pos = 0;
      (trader as unknown as { state: Map<string, { pos: number }> }).state.get(SYMBOL)!.pos = 0;
      if (how === "lookup") venue.queryAnswer = () => ({ ...STOP, status: "CANCELED" });
      if (how === "event") {
        venue.cancelAllStops = async () => {
          setTimeout(() => venue.emit({ type: "stop", raw: {}, symbol: SYMBOL, clientStopId: STOP.clientStopId, stopId: STOP.stopId, side: "SELL", triggerPrice: 0.9, status: "CANCELED", resting: false }), 50);
          return { ok: true, latencyMs: 1 };
        };
      }
      const t0 = performance.now();
      await trader.stop(true, 3000);
      const took = performance.now() - t0;
      const last = rows.order(STOP.clientStopId).at(-1)!;
      if (how === "nothing") {
        expect([last.status, last.reason]).toEqual(["UNKNOWN", "stop-cancel"]);
        expect(String(last.error)).toContain("neither the user stream nor a lookup");
        // The wait is bounded: STOP_END_WAIT_MS (1 s), not the whole budget.
        expect(took).toBeGreaterThanOrEqual(900);
        expect(took).toBeLessThan(2500);
      }
      if (how === "lookup") expect([last.status, last.reason, last.error]).toEqual(["CANCELED", "stop-cancel", null]);
      if (how === "event") {
        expect([last.status, last.reason]).toEqual(["CANCELED", "stream"]);
        expect(venue.queried).toEqual([]);
        expect(took).toBeLessThan(900);
      }
      expect(trader.counters.stopsCancelled).toBe(how === "nothing" ? 0 : 1);
    }
  });

  test("a stop resent under a spent id (the venue answers with the stop that fired) is not taken for the position's stop", async () => {
    const { trader, venue, rows } = await scripted();
    // The stop fired and the stream says FINISHED before the fill reached the trader: the position still looks open.
    let first: string | null = null;
    venue.placeAnswer = (s) => {
      first ??= s.clientStopId;
      const spent = s.clientStopId === first;
      return { ok: true, value: { stopId: spent ? 77 : 78, clientStopId: s.clientStopId, symbol: SYMBOL, side: "SELL", triggerPrice: 0.9, status: spent ? "FINISHED" : "NEW" }, latencyMs: 1, attempts: 2 };
    };
    venue.emit({ type: "stop", raw: {}, symbol: SYMBOL, clientStopId: STOP.clientStopId, stopId: 77, side: "SELL", triggerPrice: 0.9, status: "TRIGGERED", resting: false });
    await Bun.sleep(50);
    // Nothing is sent at TRIGGERED: the closing order's fill is on its way.
    expect(venue.placed).toEqual([]);
    venue.emit({ type: "stop", raw: {}, symbol: SYMBOL, clientStopId: STOP.clientStopId, stopId: 77, side: "SELL", triggerPrice: 0.9, status: "FINISHED", resting: false });
    await until("a placement tried", () => venue.placed.length >= 2);
    const [spent, fresh] = venue.placed.map((p) => p.clientStopId);
    expect(fresh).not.toBe(spent);
    // The trade list was read before a new stop was placed.
    expect(venue.tradesAnswer.length).toBeGreaterThan(0);
    expect(rows.order(spent!).map((r) => r.status)).toEqual(["FINISHED"]);
    expect(String(rows.order(spent!)[0]!.error)).toContain("not placed");
    // Then the fill: flat; the new stop is cancelled, the spent one is not touched.
    stopFill(venue);
    await until("flat, the new stop cancelled", () => rows.order(fresh!).some((r) => r.status === "CANCELED"));
    expect(rows.order(spent!).filter((r) => r.status === "CANCELED")).toEqual([]);
    expect(rows.order(STOP.clientStopId).filter((r) => r.status === "CANCELED")).toEqual([]);
    await trader.stop(true);
  });
});
