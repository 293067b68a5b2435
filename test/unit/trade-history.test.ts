// What a trader starting on an account learns from the venue's trade list (trading/live/history.ts):
// when the position it adopts was opened, and which trades make the UTC day's realised PnL; and, with
// the fake testnet, that the adoption reads the latest page of the list only once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { VenueTrade } from "../../src/core/execution.ts";
import type { RowSink } from "../../src/core/rows.ts";
import { binanceExecution } from "../../src/exchange/binance/execution/venue.ts";
import { joinTrades, positionOpenedAt, tradesOfDay } from "../../src/trading/live/history.ts";
import { TradeParamsSchema } from "../../src/trading/live/params.ts";
import { TradeRecords } from "../../src/trading/live/records.ts";
import { LiveTrader } from "../../src/trading/live/trader.ts";
import { RiskParamsSchema } from "../../src/trading/risk/params.ts";
import { createLogger } from "../../src/util/log.ts";
import type { FakeExchange } from "../fake-exchange/index.ts";
import type { FakeTestnet } from "../fake-testnet/index.ts";
import { tempDir } from "../helpers/binary.ts";
import { ScriptedStrategy } from "./scripted-strategy.ts";
import { startVenue } from "./trade-unit-support.ts";

let id = 100;
const tr = (side: "BUY" | "SELL", qty: number, time: number, realizedPnl = 0): VenueTrade => ({ id: ++id, orderId: id, symbol: "BTCUSDT", side, price: 100, qty, commission: 0.01, realizedPnl, maker: false, time });

test("the opening fill is the one before which the position was flat or on the other side", () => {
  // long 1 opened at 10, closed at 20; short 2 opened at 30 (flip from +0 … ), added at 40
  const trades = [tr("BUY", 1, 10), tr("SELL", 1, 20), tr("SELL", 1.5, 30), tr("SELL", 0.5, 40)];
  expect(positionOpenedAt(-2, trades)).toBe(30);
  // A flip in one fill: long 1 → short 1 at 50.
  expect(positionOpenedAt(-1, [tr("BUY", 1, 10), tr("SELL", 2, 50)])).toBe(50);
  // Partly reduced positions keep the opening time.
  expect(positionOpenedAt(0.4, [tr("BUY", 0.3, 10), tr("BUY", 0.3, 11), tr("SELL", 0.2, 12)])).toBe(10);
  // The list does not reach back to the opening: unknown.
  expect(positionOpenedAt(2, [tr("BUY", 1, 10)])).toBeNull();
  expect(positionOpenedAt(1, [])).toBeNull();
  expect(positionOpenedAt(0, [tr("BUY", 1, 10)])).toBeNull();
  // Unsorted input is sorted by trade id.
  expect(positionOpenedAt(1, [tr("SELL", 1, 60), tr("BUY", 1, 70)].reverse())).toBe(70);
});

test("the latest page and the trades read after it: each once, oldest first, walked back as one list", () => {
  const open = tr("SELL", 1, 10);
  const add = tr("SELL", 1, 20);
  const later = tr("BUY", 0.5, 30);
  // The backfill overlapping the page (a trade in both) counts it once.
  expect(joinTrades([add, open], [add, later])).toEqual([open, add, later]);
  expect(joinTrades([], [])).toEqual([]);
  // A fill after the page was read (partly closing) leaves the opening where it was.
  expect(positionOpenedAt(-1.5, joinTrades([open, add], [later]))).toBe(10);
});

test("the day's trades, and whether a full page may lack earlier ones", () => {
  const day = Date.UTC(2026, 11, 7);
  const y = tr("BUY", 1, day - 1000);
  const a = tr("SELL", 1, day + 1000, -5);
  const b = tr("BUY", 1, day + 2000);
  expect(tradesOfDay([y, a, b], day + 5000, 1000)).toEqual({ trades: [a, b], complete: true });
  // A full page that starts inside the day may have been cut; one reaching into yesterday is whole.
  expect(tradesOfDay([a, b], day + 5000, 2).complete).toBe(false);
  expect(tradesOfDay([y, a], day + 5000, 2).complete).toBe(true);
  expect(tradesOfDay([], day, 1000)).toEqual({ trades: [], complete: true });
});

// An adopted position (a crash, a restart, a lease takeover) learns its age from the trade list the
// start already read: the latest page is asked for once per symbol, not again at the adoption.
describe("adopting a position at start", () => {
  const SYMBOL = "SANDUSDT";
  const API_KEY = "histKey-0123456789abcdef";
  const SECRET = "histSecret-0123456789abcdef";
  const rows: RowSink = { append() {} };
  let fx: FakeExchange;
  let tn: FakeTestnet;

  beforeAll(async () => {
    ({ fx, tn } = await startVenue(SYMBOL, API_KEY, SECRET));
  });
  afterAll(async () => {
    await tn.stop();
    await fx.stop();
  });

  async function makeTrader(): Promise<{ trader: LiveTrader; strategy: ScriptedStrategy }> {
    const access = binanceExecution(
      { rest: tn.restBase, userStream: tn.wsBase, recvWindowMs: 5000, orderTimeoutMs: 1000, timeSyncSec: 60, resolveDeadlineMs: 3000, orderLimitShare: 0.8, listenKeyKeepaliveSec: 1800 },
      { BINANCE_API_KEY: API_KEY, BINANCE_API_SECRET: SECRET },
    );
    if (!access.ok) throw new Error(access.error);
    const records = new TradeRecords(rows, join(tempDir("trade-history"), "trading"), access.opener.secrets);
    const opened = await access.opener.open([SYMBOL], (e) => records.rest(e));
    if (!opened.ok) throw new Error(opened.error);
    const strategy = new ScriptedStrategy();
    const params = TradeParamsSchema.parse({ symbols: { [SYMBOL]: { leverage: 5 } }, dead_man_sec: 30, dead_man_renew_sec: 10 });
    const risk = RiskParamsSchema.parse({ max_position_notional: 1000, max_orders_per_min: 50, max_daily_loss: 1000, max_drawdown_pct: 50, capital_usdt: 10_000 });
    const trader = new LiveTrader(strategy, opened.venue, records, createLogger({ stderr: false }), { symbols: [SYMBOL], params, risk: () => risk, positionPollMs: 200 });
    expect(await trader.start()).toBeNull();
    return { trader, strategy };
  }

  /** GET /fapi/v1/userTrades without fromId or startTime: the latest page. */
  const latestReads = (since: number): number => tn.server.requests.filter((r, i) => i >= since && r.method === "GET" && r.path === "/fapi/v1/userTrades" && r.params.fromId === undefined && r.params.startTime === undefined).length;

  test("the latest trade page is read once, and the position's age is its opening fill's", async () => {
    const ledger = tn.server.ledger;
    const first = await makeTrader();
    const d = JSON.parse(fx.lastDepth(SYMBOL)!);
    const px = (Number(d.b[0][0]) + Number(d.a[0][0])) / 2;
    first.strategy.queue.push({ kind: "enter", key: "hist:1", symbol: SYMBOL, side: "buy", qty: 30 / px, refPrice: px, stopPrice: null, reason: "signal", signal: null as never });
    first.trader.onRow("fusion", { symbol: SYMBOL, ts_ms: Date.now() });
    const end = Date.now() + 5000;
    while (!(ledger.position(SYMBOL).qty > 0 && ledger.openAlgos(SYMBOL).length === 1)) {
      if (Date.now() > end) throw new Error("timed out: the first trader's position and stop");
      await Bun.sleep(20);
    }
    // Kept open with its stop, as a crash or a lease takeover leaves it.
    expect(await first.trader.stop(false)).toEqual([SYMBOL]);
    const openedAt = ledger.fills.filter((f) => f.symbol === SYMBOL)[0]!.time;

    const since = tn.server.requests.length;
    const next = await makeTrader();
    try {
      expect(latestReads(since)).toBe(1);
      // Adopted as an external fill dated by the venue's opening fill, not by the adoption; told to the
      // strategy with the first market-data price (its entry in market-data terms: docs/trading.md).
      next.trader.onRow("orderbook", { symbol: SYMBOL, ts_ms: Date.now(), mid: px });
      expect(next.strategy.fills).toHaveLength(1);
      expect(next.strategy.fills[0]!).toMatchObject({ symbol: SYMBOL, side: "buy", qty: ledger.position(SYMBOL).qty, ts_ms: openedAt, key: null });
    } finally {
      expect(await next.trader.stop(true)).toEqual([]);
    }
    expect(ledger.position(SYMBOL).qty).toBe(0);
  });
});
