// The testnet's prices differ from the market data's (docs/trading.md "Two sets of prices"): with the
// fake testnet's book shifted above the fake exchange's, the strategy is told its fills at the market
// data's prices (its stops and targets are measured there), an entry is capped at the venue's price
// so the venue position stays within max_position_notional, and a halt of the strategy's own book
// shows and lasts like the kill switch's: status, counters, /health, the audit log, a restart.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { API_KEY, Rows, SECRET, startVenue, until } from "./trade-unit-support.ts";
import { binanceExecution } from "../../src/exchange/binance/execution/venue.ts";
import { TradeParamsSchema } from "../../src/trading/live/params.ts";
import { TradeRecords } from "../../src/trading/live/records.ts";
import { LiveTrader } from "../../src/trading/live/trader.ts";
import { utcDay } from "../../src/trading/risk/limits.ts";
import { RiskParamsSchema, type RiskParams } from "../../src/trading/risk/params.ts";
import { createLogger } from "../../src/util/log.ts";
import type { FakeExchange } from "../fake-exchange/index.ts";
import type { FakeTestnet } from "../fake-testnet/index.ts";
import { tempDir } from "../helpers/binary.ts";
import { ScriptedStrategy } from "./scripted-strategy.ts";

const SYMBOL = "SANDUSDT";
/** The venue's book this far above the market data (the walkthrough's 6 %). */
const SHIFT = 1.06;


let fx: FakeExchange;
let tn: FakeTestnet;

/** The market data's book now (the fake exchange's, unshifted). */
function book(): { bid: number; ask: number; mid: number } {
  const d = JSON.parse(fx.lastDepth(SYMBOL)!);
  const bid = Number(d.b[0][0]);
  const ask = Number(d.a[0][0]);
  return { bid, ask, mid: (bid + ask) / 2 };
}

/** The market-data rows the trader sees from the engine: the book, then a trade with its fills. */
function feed(trader: LiveTrader): { bid: number; ask: number; mid: number } {
  const b = book();
  trader.onRow("orderbook", { symbol: SYMBOL, ts_ms: Date.now(), mid: b.mid, spread_bps: ((b.ask - b.bid) / b.mid) * 1e4 });
  trader.onRow("prices", { symbol: SYMBOL, ts_ms: Date.now(), price: b.mid, best_buy_fill: b.ask, best_sell_fill: b.bid });
  return b;
}


async function makeTrader(auditDir: string, limits: Partial<RiskParams> = {}): Promise<{ trader: LiveTrader; strategy: ScriptedStrategy; rows: Rows }> {
  const access = binanceExecution(
    { rest: tn.restBase, userStream: tn.wsBase, recvWindowMs: 5000, orderTimeoutMs: 1000, timeSyncSec: 60, resolveDeadlineMs: 3000, orderLimitShare: 0.8, listenKeyKeepaliveSec: 1800 },
    { BINANCE_API_KEY: API_KEY, BINANCE_API_SECRET: SECRET },
  );
  if (!access.ok) throw new Error(access.error);
  const strategy = new ScriptedStrategy();
  const rows = new Rows();
  const records = new TradeRecords(rows, auditDir, access.opener.secrets);
  const opened = await access.opener.open([SYMBOL], (e) => records.rest(e));
  if (!opened.ok) throw new Error(opened.error);
  const params = TradeParamsSchema.parse({ symbols: { [SYMBOL]: { leverage: 5 } }, dead_man_sec: 30, dead_man_renew_sec: 10 });
  const risk = RiskParamsSchema.parse({ max_position_notional: 100, max_orders_per_min: 50, max_daily_loss: 1000, max_drawdown_pct: 50, capital_usdt: 10_000, ...limits });
  const trader = new LiveTrader(strategy, opened.venue, records, createLogger({ stderr: false }), { symbols: [SYMBOL], params, risk: () => risk, positionPollMs: 200 });
  expect(await trader.start()).toBeNull();
  return { trader, strategy, rows };
}

let keyNo = 0;
/** An entry decided on the market data: its price and quantity are the market data's. */
function enter(strategy: ScriptedStrategy, trader: LiveTrader, side: "buy" | "sell", notional: number): string {
  const key = `px:${++keyNo}`;
  const b = feed(trader);
  const px = side === "buy" ? b.ask : b.bid;
  strategy.queue.push({ kind: "enter", key, symbol: SYMBOL, side, qty: notional / px, refPrice: px, stopPrice: side === "buy" ? px * 0.99 : px * 1.01, reason: "signal", signal: null as never });
  trader.onRow("fusion", { symbol: SYMBOL, ts_ms: Date.now() });
  return key;
}

beforeAll(async () => {
  ({ fx, tn } = await startVenue(SYMBOL, API_KEY, SECRET));
  tn.shiftBook(SYMBOL, SHIFT);
});
afterAll(async () => {
  await tn.stop();
  await fx.stop();
});

describe("a venue whose prices differ from the market data", () => {
  test("the strategy hears its fills at market-data prices; the entry is capped at the venue's price", async () => {
    const { trader, strategy } = await makeTrader(join(tempDir("venue-prices"), "trading"), { max_position_notional: 100 });
    const ledger = tn.server.ledger;
    const b = book();
    enter(strategy, trader, "buy", 100);
    await until("long at the venue", () => ledger.position(SYMBOL).qty > 0 && strategy.fills.length > 0);
    await until("its stop", () => ledger.openAlgos(SYMBOL).length === 1);
    const venueFill = ledger.fills.filter((f) => f.symbol === SYMBOL).at(-1)!.price;
    // The venue filled ≈ 6 % above the market data …
    expect(venueFill).toBeGreaterThan(b.ask * 1.04);
    // … the strategy measures the position from the market data's ask, where its exits are checked.
    const told = strategy.fills[0]!.price;
    expect(Math.abs(told - b.ask) / b.ask).toBeLessThan(0.01);
    // The venue position stays within the limit (at the venue's price, not the market data's).
    expect(ledger.position(SYMBOL).maxAbsNotional).toBeLessThanOrEqual(100 * 1.001);
    // The strategy's stop (1 % under its price) is the same distance under the venue's entry.
    const [stop] = ledger.openAlgos(SYMBOL);
    const entry = ledger.position(SYMBOL).entryPrice;
    expect(Math.abs(stop!.triggerPrice / entry - 0.99)).toBeLessThan(0.002);
    // status values the position at the venue's price, within the limit.
    expect(trader.status().symbols[0]!.position_notional).toBeLessThanOrEqual(100 * 1.01);
    expect(await trader.stop(true)).toEqual([]);
    expect(ledger.position(SYMBOL).qty).toBe(0);
  });

  test("a position adopted at start is told to the strategy in market-data terms", async () => {
    const dir = join(tempDir("venue-adopt"), "trading");
    const first = await makeTrader(dir, { max_position_notional: 100 });
    const ledger = tn.server.ledger;
    enter(first.strategy, first.trader, "buy", 50);
    await until("long with its stop", () => ledger.position(SYMBOL).qty > 0 && ledger.openAlgos(SYMBOL).length === 1);
    expect(await first.trader.stop(false)).toEqual([SYMBOL]);
    const next = await makeTrader(dir, { max_position_notional: 100 });
    try {
      // No market data yet: nothing to measure the position against.
      expect(next.strategy.fills).toHaveLength(0);
      const b = feed(next.trader);
      expect(next.strategy.fills).toHaveLength(1);
      const pos = ledger.position(SYMBOL);
      const mark = ledger.markPrice(SYMBOL)!;
      // Its entry moved by the market data's price over the venue's mark: the same bps from now.
      const told = next.strategy.fills[0]!;
      expect(told).toMatchObject({ side: "buy", qty: pos.qty, key: null });
      expect(Math.abs(told.price - (pos.entryPrice * b.bid) / mark) / told.price).toBeLessThan(0.005);
      expect(Math.abs(told.price - b.bid) / b.bid).toBeLessThan(0.02);
    } finally {
      expect(await next.trader.stop(true)).toEqual([]);
    }
  });

  test("a halt of the strategy's own book shows like the kill switch's and lasts through a restart that day", async () => {
    const dir = join(tempDir("strategy-halt"), "trading");
    const { trader, strategy, rows } = await makeTrader(dir, { max_position_notional: 100 });
    const ledger = tn.server.ledger;
    enter(strategy, trader, "buy", 50);
    await until("long", () => ledger.position(SYMBOL).qty > 0 && ledger.openAlgos(SYMBOL).length === 1);
    const day = utcDay(Date.now());
    const reason = `${SYMBOL} max_daily_loss: day PnL -35.59 <= -25, flattened and stopped for ${day}`;
    strategy.halt = { symbol: SYMBOL, reason, since_ts_ms: Date.now(), day };
    feed(trader);
    const st = trader.status();
    expect(st.symbols[0]!.halted).toContain(reason);
    expect(st.counters.halts).toBe(1);
    expect(trader.healthReasons()).toEqual([`trade halted: ${st.symbols[0]!.halted}`]);
    // The strategy is told the halt as the trader keeps it (one halt, whichever book tripped it).
    expect(strategy.told.map((h) => h.reason)).toEqual([st.symbols[0]!.halted!]);
    await until("flattened", () => ledger.position(SYMBOL).qty === 0 && ledger.openAlgos(SYMBOL).length === 0);
    const notes = readFileSync(join(dir, `audit-${day}.ndjson`), "utf8").split("\n").filter((l) => l.includes('"what":"halt"')).map((l) => JSON.parse(l));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ symbol: SYMBOL, day });
    // Entries are refused, not sent.
    const sent = ledger.orders.size;
    const key = enter(strategy, trader, "buy", 20);
    await until("refused", () => rows.of("orders").some((r) => r.intent_key === key && r.status === "REFUSED"));
    expect(ledger.orders.size).toBe(sent);
    expect(await trader.stop(true)).toEqual([]);

    // Restarted the same day, with a fresh strategy: still halted, and says so; a strategy that
    // proposes an entry anyway (this scripted one) is refused.
    const next = await makeTrader(dir, { max_position_notional: 100 });
    try {
      const again = next.trader.status();
      expect(again.symbols[0]!.halted).toContain(reason);
      expect(again.counters.halts).toBe(1);
      expect(next.trader.healthReasons()).toHaveLength(1);
      // The fresh strategy is told the restored halt at start (a real one then proposes no entry that day).
      expect(next.strategy.told.map((h) => h.reason)).toEqual([again.symbols[0]!.halted!]);
      const before = ledger.orders.size;
      const k2 = enter(next.strategy, next.trader, "buy", 20);
      await until("refused after the restart", () => next.rows.of("orders").some((r) => r.intent_key === k2 && r.status === "REFUSED"));
      expect(ledger.orders.size).toBe(before);
    } finally {
      await next.trader.stop(true);
    }
  }, 30_000);
});
