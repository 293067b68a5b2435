// Why the live trader refused an entry, counted apart (/api/status trading.counters): a risk limit
// (`refusedLimit`) is not the trader being out of sync with the venue (`refusedNotInSync`: the user
// stream down, or not yet reconciled after a reconnect). Against the fake testnet, real HTTP and
// WebSocket.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { Row, RowSink } from "../../src/core/rows.ts";
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
import { startVenue, until } from "./trade-unit-support.ts";

const SYMBOL = "SANDUSDT";
const API_KEY = "refusalsKey-0123456789abcdef";
const SECRET = "refusalsSecret-0123456789abcdef";

const orders: Row[] = [];
const rows: RowSink = { append: (kind, row) => (kind === "orders" ? orders.push({ ...row }) : undefined) };
let fx: FakeExchange;
let tn: FakeTestnet;

beforeAll(async () => {
  ({ fx, tn } = await startVenue(SYMBOL, API_KEY, SECRET));
});
afterAll(async () => {
  await tn.stop();
  await fx.stop();
});


let keyNo = 0;
function enter(strategy: ScriptedStrategy, trader: LiveTrader): string {
  const d = JSON.parse(fx.lastDepth(SYMBOL)!);
  const px = (Number(d.b[0][0]) + Number(d.a[0][0])) / 2;
  const key = `refusal:${++keyNo}`;
  strategy.queue.push({ kind: "enter", key, symbol: SYMBOL, side: "buy", qty: 20 / px, refPrice: px, stopPrice: null, reason: "signal", signal: null as never });
  trader.onRow("fusion", { symbol: SYMBOL, ts_ms: Date.now() });
  return key;
}

test("an entry refused while out of sync counts as refusedNotInSync, one refused by a limit as refusedLimit", async () => {
  const access = binanceExecution(
    { rest: tn.restBase, userStream: tn.wsBase, recvWindowMs: 5000, orderTimeoutMs: 1000, timeSyncSec: 60, resolveDeadlineMs: 3000, orderLimitShare: 0.8, listenKeyKeepaliveSec: 1800 },
    { BINANCE_API_KEY: API_KEY, BINANCE_API_SECRET: SECRET },
  );
  if (!access.ok) throw new Error(access.error);
  const records = new TradeRecords(rows, join(tempDir("trade-refusals"), "trading"), access.opener.secrets);
  const opened = await access.opener.open([SYMBOL], (e) => records.rest(e));
  if (!opened.ok) throw new Error(opened.error);
  const params = TradeParamsSchema.parse({ symbols: { [SYMBOL]: { leverage: 5 } }, dead_man_sec: 30, dead_man_renew_sec: 10 });
  // One order a minute: the second entry meets the limit.
  const risk = RiskParamsSchema.parse({ max_position_notional: 1000, max_orders_per_min: 1, max_daily_loss: 1000, max_drawdown_pct: 50, capital_usdt: 10_000 });
  const strategy = new ScriptedStrategy();
  const trader = new LiveTrader(strategy, opened.venue, records, createLogger({ stderr: false }), { symbols: [SYMBOL], params, risk: () => risk, positionPollMs: 200 });
  expect(await trader.start()).toBeNull();
  try {
    tn.dropUserStreams();
    await until("the trader saw the drop", () => !trader.status().in_sync);
    const unsynced = enter(strategy, trader);
    await until("refused while out of sync", () => strategy.done.includes(unsynced));
    expect(trader.counters.refusedNotInSync).toBe(1);
    expect(trader.counters.refusedLimit).toBe(0);
    expect(orders.find((o) => o.intent_key === unsynced)?.error).toBe("user stream down or not yet reconciled");

    await until("reconnected and reconciled", () => trader.status().user_stream && trader.status().in_sync);
    const first = enter(strategy, trader);
    await until("entered", () => strategy.done.includes(first));
    const limited = enter(strategy, trader);
    await until("refused by the limit", () => strategy.done.includes(limited));
    expect(String(orders.find((o) => o.intent_key === limited)?.error)).toContain("max_orders_per_min 1");
    expect(trader.counters.refusedLimit).toBe(1);
    expect(trader.counters.refusedNotInSync).toBe(1);
    expect(trader.status().counters).toMatchObject({ refusedLimit: 1, refusedNotInSync: 1 });
    // Each under its reason in `skipped`, and told to the strategy as never sent.
    expect(trader.status().skipped).toEqual({ not_in_sync: 1, orders_per_min: 1 });
    expect(strategy.unsent).toEqual([unsynced, limited]);
  } finally {
    await trader.stop(true);
  }
  expect(tn.server.ledger.position(SYMBOL).qty).toBe(0);
}, 30_000);
