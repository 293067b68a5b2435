// The live trader between a scripted strategy and the fake testnet (real HTTP and WebSocket): the
// venue position is held within max_position_notional, every position gets its exchange-side stop,
// the order rate is capped, fills missed while the user stream is down come from the trade list once,
// a forced loss trips the kill switch, and stop() cancels and flattens (or keeps the stop without).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { API_KEY, Rows, SECRET, startVenue, until } from "./trade-unit-support.ts";
import { binanceExecution } from "../../src/exchange/binance/execution/venue.ts";
import { TradeParamsSchema } from "../../src/trading/live/params.ts";
import { TradeRecords } from "../../src/trading/live/records.ts";
import { LiveTrader } from "../../src/trading/live/trader.ts";
import { RiskParamsSchema, type RiskParams } from "../../src/trading/risk/params.ts";
import { createLogger, type Logger } from "../../src/util/log.ts";
import type { FakeExchange } from "../fake-exchange/index.ts";
import type { FakeTestnet } from "../fake-testnet/index.ts";
import { tempDir } from "../helpers/binary.ts";
import { ScriptedStrategy } from "./scripted-strategy.ts";

const SYMBOL = "SANDUSDT";


let fx: FakeExchange;
let tn: FakeTestnet;

function mid(): number {
  const d = JSON.parse(fx.lastDepth(SYMBOL)!);
  return (Number(d.b[0][0]) + Number(d.a[0][0])) / 2;
}


async function makeTrader(limits: Partial<RiskParams> = {}, log: Logger = createLogger({ stderr: false })): Promise<{ trader: LiveTrader; strategy: ScriptedStrategy; rows: Rows }> {
  const access = binanceExecution(
    { rest: tn.restBase, userStream: tn.wsBase, recvWindowMs: 5000, orderTimeoutMs: 1000, timeSyncSec: 60, resolveDeadlineMs: 3000, orderLimitShare: 0.8, listenKeyKeepaliveSec: 1800 },
    { BINANCE_API_KEY: API_KEY, BINANCE_API_SECRET: SECRET },
  );
  if (!access.ok) throw new Error(access.error);
  const strategy = new ScriptedStrategy();
  const rows = new Rows();
  const records = new TradeRecords(rows, join(tempDir("trader-unit"), "trading"), access.opener.secrets);
  const opened = await access.opener.open([SYMBOL], (e) => records.rest(e));
  if (!opened.ok) throw new Error(opened.error);
  const params = TradeParamsSchema.parse({ symbols: { [SYMBOL]: { leverage: 5 } }, dead_man_sec: 30, dead_man_renew_sec: 10 });
  const risk = RiskParamsSchema.parse({ max_position_notional: 100, max_orders_per_min: 50, max_daily_loss: 1000, max_drawdown_pct: 50, capital_usdt: 10_000, ...limits });
  const trader = new LiveTrader(strategy, opened.venue, records, log, { symbols: [SYMBOL], params, risk: () => risk, positionPollMs: 200 });
  expect(await trader.start()).toBeNull();
  return { trader, strategy, rows };
}

/** A logger that keeps the messages of its error lines. */
function errorKeeping(): { log: Logger; errors: string[] } {
  const errors: string[] = [];
  const log = createLogger({ stderr: false });
  const logged = log.log.bind(log);
  log.log = (level, msg, fields) => {
    if (level === "error") errors.push(`${msg} ${JSON.stringify(fields ?? {})}`);
    logged(level, msg, fields);
  };
  return { log, errors };
}

let keyNo = 0;
function exit(strategy: ScriptedStrategy, trader: LiveTrader, side: "buy" | "sell", qty: number): void {
  const px = mid();
  strategy.queue.push({ kind: "exit", key: `unit-exit:${++keyNo}`, symbol: SYMBOL, side, qty, refPrice: px, reason: "signal" as never });
  trader.onRow("fusion", { symbol: SYMBOL, ts_ms: Date.now() });
}
function enter(strategy: ScriptedStrategy, trader: LiveTrader, side: "buy" | "sell", notional: number): string {
  const key = `unit:${++keyNo}`;
  const px = mid();
  strategy.queue.push({ kind: "enter", key, symbol: SYMBOL, side, qty: notional / px, refPrice: px, stopPrice: null, reason: "signal", signal: null as never });
  trader.onRow("fusion", { symbol: SYMBOL, ts_ms: Date.now() });
  return key;
}

beforeAll(async () => {
  ({ fx, tn } = await startVenue(SYMBOL, API_KEY, SECRET));
});
afterAll(async () => {
  await tn.stop();
  await fx.stop();
});

describe("live trader", () => {
  test("an entry past max_position_notional is cut to fit, and the position gets its stop at once", async () => {
    const { trader, strategy } = await makeTrader({ max_position_notional: 100 });
    const ledger = tn.server.ledger;
    enter(strategy, trader, "buy", 60);
    await until("first entry filled", () => ledger.position(SYMBOL).qty > 0);
    enter(strategy, trader, "buy", 60);
    await until("second entry done", () => strategy.done.length >= 2 || ledger.fills.length >= 2);
    await until("a stop for the position", () => ledger.openAlgos(SYMBOL).length === 1);
    const pos = ledger.position(SYMBOL);
    expect(pos.maxAbsNotional).toBeLessThanOrEqual(100 * 1.01);
    const [stop] = ledger.openAlgos(SYMBOL);
    expect(stop!.side).toBe("SELL");
    expect(stop!.closePosition).toBe(true);
    expect(stop!.triggerPrice).toBeLessThan(pos.entryPrice);
    expect(strategy.fills.reduce((a, f) => a + f.qty, 0)).toBe(pos.qty);
    expect(await trader.stop(true)).toEqual([]);
    expect(ledger.position(SYMBOL).qty).toBe(0);
    expect(ledger.openAlgos(SYMBOL)).toEqual([]);
  });

  test("past max_orders_per_min entries are refused and never sent", async () => {
    const { trader, strategy, rows } = await makeTrader({ max_orders_per_min: 2, max_position_notional: 1000 });
    const before = tn.server.ledger.orders.size;
    for (let i = 0; i < 3; i++) {
      enter(strategy, trader, "buy", 20);
      await until("entry handled", () => strategy.done.length + rows.of("orders").filter((r) => r.status === "REFUSED").length >= i + 1 || tn.server.ledger.orders.size >= before + i + 1);
    }
    await until("third refused", () => rows.of("orders").some((r) => r.status === "REFUSED"));
    expect(tn.server.ledger.orders.size).toBe(before + 2);
    expect(String(rows.of("orders").find((r) => r.status === "REFUSED")!.error)).toContain("max_orders_per_min 2");
    await trader.stop(true);
    expect(tn.server.ledger.position(SYMBOL).qty).toBe(0);
  });

  test("fills the user stream does not deliver come from the trade list, once each", async () => {
    const { trader, strategy, rows } = await makeTrader({ max_position_notional: 1000 });
    const ledger = tn.server.ledger;
    const from = ledger.fills.length;
    tn.server.muted = true;
    try {
      enter(strategy, trader, "sell", 30);
      await until("filled at the venue", () => ledger.position(SYMBOL).qty < 0);
      await until("fill recorded", () => rows.of("fills").length >= 1, 8000);
    } finally {
      tn.server.muted = false;
    }
    await trader.stop(true);
    const mine = ledger.fills.slice(from).map((f) => f.id);
    expect(rows.of("fills").map((r) => r.trade_id)).toEqual(mine);
    expect(strategy.fills).toHaveLength(mine.length);
  });

  test("no entry while the user stream is down; entries resume once reconnected and reconciled", async () => {
    const { trader, strategy, rows } = await makeTrader({ max_position_notional: 1000 });
    const ledger = tn.server.ledger;
    const before = ledger.orders.size;
    tn.dropUserStreams();
    await until("the trader saw the drop", () => !trader.status().in_sync);
    enter(strategy, trader, "buy", 20);
    await until("refused", () => rows.of("orders").some((r) => r.status === "REFUSED"));
    expect(String(rows.of("orders").find((r) => r.status === "REFUSED")!.error)).toContain("user stream down");
    expect(ledger.orders.size).toBe(before);
    await until("reconnected and reconciled", () => trader.status().user_stream && trader.status().in_sync, 5000);
    enter(strategy, trader, "buy", 20);
    await until("entered", () => ledger.position(SYMBOL).qty > 0);
    await trader.stop(true);
    expect(ledger.position(SYMBOL).qty).toBe(0);
  });

  test("a forced loss trips the kill switch: flat, entries refused, health names the limit", async () => {
    const { trader, strategy, rows } = await makeTrader({ max_position_notional: 1000, max_daily_loss: 0.5 });
    const ledger = tn.server.ledger;
    enter(strategy, trader, "buy", 80);
    await until("long", () => ledger.position(SYMBOL).qty > 0);
    await until("stop placed", () => ledger.openAlgos(SYMBOL).length === 1);
    tn.shiftBook(SYMBOL, 0.98);
    try {
      await until("halted and flat", () => trader.healthReasons().length > 0 && ledger.position(SYMBOL).qty === 0, 5000);
    } finally {
      tn.shiftBook(SYMBOL, 1);
    }
    expect(trader.healthReasons()[0]).toMatch(/^trade halted: SANDUSDT max_daily_loss: day PnL -\d+\.\d+ <= -0\.5, flattened and stopped for \d{4}-\d\d-\d\d$/);
    const orders = ledger.orders.size;
    enter(strategy, trader, "buy", 20);
    await until("refused", () => rows.of("orders").some((r) => r.status === "REFUSED"));
    expect(ledger.orders.size).toBe(orders);
    expect(ledger.openAlgos(SYMBOL)).toEqual([]);
    await trader.stop(true);
  });

  test("a venue that answers orders before filling them (ACK): fills awaited, the stop still placed", async () => {
    const { trader, strategy, rows } = await makeTrader({ max_position_notional: 1000 });
    const ledger = tn.server.ledger;
    tn.server.ackOnly = true;
    try {
      enter(strategy, trader, "buy", 30);
      await until("stop placed", () => ledger.position(SYMBOL).qty > 0 && ledger.openAlgos(SYMBOL).length === 1);
      expect(rows.of("orders").some((r) => r.status === "NEW" && r.type === "MARKET")).toBe(true);
      await trader.stop(true);
    } finally {
      tn.server.ackOnly = false;
    }
    expect(ledger.position(SYMBOL).qty).toBe(0);
    expect(ledger.openAlgos(SYMBOL)).toEqual([]);
    expect(strategy.fills.reduce((a, f) => a + (f.side === "buy" ? f.qty : -f.qty), 0)).toBe(0);
  });

  test("stop without flatten keeps the position and its stop", async () => {
    const { trader, strategy } = await makeTrader({ max_position_notional: 1000 });
    const ledger = tn.server.ledger;
    enter(strategy, trader, "buy", 30);
    await until("stop placed", () => ledger.position(SYMBOL).qty > 0 && ledger.openAlgos(SYMBOL).length === 1);
    expect(await trader.stop(false)).toEqual([SYMBOL]);
    expect(ledger.openAlgos(SYMBOL)).toHaveLength(1);
    // Tidy up for the next test file run in this process.
    const closer = await makeTrader({ max_position_notional: 1000 });
    await closer.trader.stop(true);
    expect(ledger.position(SYMBOL).qty).toBe(0);
    expect(ledger.openAlgos(SYMBOL)).toEqual([]);
  });
});

// Cancelling a stop races its ALGO_UPDATE: the user stream may report the cancel (and clear the
// trader's stop) before the DELETE is answered. Every cancellation must still be recorded once (one
// orders row per counted cancel) and no step may fail.
describe("stop cancellation and refusals", () => {
  test("every stop cancelled after a round trip is recorded once, and no step fails", async () => {
    const { log, errors } = errorKeeping();
    const { trader, strategy, rows } = await makeTrader({ max_position_notional: 100 }, log);
    const ledger = tn.server.ledger;
    for (let i = 0; i < 6; i++) {
      enter(strategy, trader, "buy", 60);
      await until("long with its stop", () => ledger.position(SYMBOL).qty > 0 && ledger.openAlgos(SYMBOL).length === 1);
      exit(strategy, trader, "sell", ledger.position(SYMBOL).qty);
      await until("flat, stop cancelled", () => ledger.position(SYMBOL).qty === 0 && ledger.openAlgos(SYMBOL).length === 0 && trader.counters.stopsCancelled === i + 1, 8000);
    }
    await Bun.sleep(300);
    await trader.stop(true);
    expect(errors).toEqual([]);
    const cancels = rows.of("orders").filter((r) => r.reason === "stop-cancel");
    expect(cancels.length).toBe(6);
    expect(trader.counters.stopsCancelled).toBe(6);
    expect(new Set(cancels.map((r) => r.client_order_id)).size).toBe(6);
  }, 60_000);

  test("an entry the step floors to nothing is refused for that reason, not for the position limit", async () => {
    const { trader, strategy, rows } = await makeTrader({ max_position_notional: 0.001 });
    const key = enter(strategy, trader, "buy", 60);
    await until("refused", () => strategy.done.includes(key));
    const refused = rows.of("orders").filter((r) => r.intent_key === key);
    expect(refused.map((r) => r.status)).toEqual(["REFUSED"]);
    expect(String(refused[0]!.error)).toContain("floors to 0 on the step");
    await trader.stop(true);
  }, 30_000);
});
