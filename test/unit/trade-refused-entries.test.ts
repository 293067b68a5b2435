// The live trader with the shared strategy against the fake testnet (real HTTP and WebSocket):
// - entries it refuses before sending (a max_position_notional smaller than one quantity step, a halt)
//   do not use up the strategy's max_orders_per_min, and the status's `skipped` names the real reason
//   (`qty_floors_to_zero`, `halted`), not `orders_per_min`;
// - entries the gateway's own filter checks refuse before sending (below the minimum notional) are
//   not sent either: both order budgets are given back, `skipped` and the REFUSED row name the filter;
// - a max_position_notional below the smallest order the venue accepts is warned of at start and
//   flagged in the status (`limit_below_min_order`);
// - a halt restored at a restart the same day is known to the fresh strategy: it proposes no entry, so
//   no REFUSED row is written per signal, while the adopted position is still closed.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { API_KEY, Rows, SECRET, startVenue, until } from "./trade-unit-support.ts";
import type { Row } from "../../src/core/rows.ts";
import { binanceExecution } from "../../src/exchange/binance/execution/venue.ts";
import { TradeParamsSchema } from "../../src/trading/live/params.ts";
import { TradeRecords } from "../../src/trading/live/records.ts";
import { LiveTrader } from "../../src/trading/live/trader.ts";
import { utcDay } from "../../src/trading/risk/limits.ts";
import type { RiskParams } from "../../src/trading/risk/params.ts";
import { SharedStrategy } from "../../src/trading/strategy/strategy.ts";
import { createLogger, type Level, type Logger } from "../../src/util/log.ts";
import type { FakeExchange } from "../fake-exchange/index.ts";
import type { FakeTestnet } from "../fake-testnet/index.ts";
import { tempDir } from "../helpers/binary.ts";
import { riskParams, strategyParams } from "./strategy-stream.ts";

const SYMBOL = "SANDUSDT";

let fx: FakeExchange;
let tn: FakeTestnet;

beforeAll(async () => {
  ({ fx, tn } = await startVenue(SYMBOL, API_KEY, SECRET));
});
afterAll(async () => {
  await tn.stop();
  await fx.stop();
});


function book(): { bid: number; ask: number; mid: number } {
  const d = JSON.parse(fx.lastDepth(SYMBOL)!);
  const bid = Number(d.b[0][0]);
  const ask = Number(d.a[0][0]);
  return { bid, ask, mid: (bid + ask) / 2 };
}

interface Run {
  readonly trader: LiveTrader;
  readonly strategy: SharedStrategy;
  readonly rows: Rows;
  readonly step: number;
}

/** A trader with the shared strategy (cost gate off, no cooldown to speak of), both on `risk`. */
async function makeTrader(auditDir: string, risk: (step: number, px: number) => RiskParams, log: Logger = createLogger({ stderr: false }), override: Record<string, unknown> = {}): Promise<Run> {
  const access = binanceExecution(
    { rest: tn.restBase, userStream: tn.wsBase, recvWindowMs: 5000, orderTimeoutMs: 1000, timeSyncSec: 60, resolveDeadlineMs: 3000, orderLimitShare: 0.8, listenKeyKeepaliveSec: 1800 },
    { BINANCE_API_KEY: API_KEY, BINANCE_API_SECRET: SECRET },
  );
  if (!access.ok) throw new Error(access.error);
  const rows = new Rows();
  const records = new TradeRecords(rows, auditDir, access.opener.secrets);
  const opened = await access.opener.open([SYMBOL], (e) => records.rest(e));
  if (!opened.ok) throw new Error(opened.error);
  const step = opened.venue.marketStep(SYMBOL)!;
  const r = risk(step, book().ask);
  const rule = { entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps: 1000 };
  const strategy = new SharedStrategy({ strategy: strategyParams({ regimes: { Q_H: rule, A_H: rule, A_L: rule, Q_L: rule } }), risk: r, takerBps: 0 });
  const params = TradeParamsSchema.parse({ symbols: { [SYMBOL]: { leverage: 5, ...override } }, dead_man_sec: 30, dead_man_renew_sec: 10 });
  const trader = new LiveTrader(strategy, opened.venue, records, log, { symbols: [SYMBOL], params, risk: () => r, positionPollMs: 200 });
  expect(await trader.start()).toBeNull();
  return { trader, strategy, rows, step };
}

let aggId = 0;
/** The engine's rows of one trade on the market data's book: its book, its prices row and its fusion row with `score`. */
function trade(trader: LiveTrader, score: number): number {
  const b = book();
  const ts = Date.now();
  const id = ++aggId;
  trader.onRow("orderbook", { symbol: SYMBOL, ts_ms: ts, mid: b.mid, spread_bps: ((b.ask - b.bid) / b.mid) * 1e4 });
  trader.onRow("prices", { symbol: SYMBOL, ts_ms: ts, agg_trade_id: id, price: b.mid, best_buy_fill: b.ask, best_sell_fill: b.bid, scenario_2x2: "A_L" } as Row);
  trader.onRow("fusion", { symbol: SYMBOL, ts_ms: ts, agg_trade_id: id, score, proba: 0.8, consistency: 1, z_ofi: score, z_cvd: score, degraded: false, scenario_2x2: "A_L" } as Row);
  return id;
}

/** An entry signal (a buy): the key of the entry it would be. */
function signal(trader: LiveTrader): string {
  trade(trader, 0);
  return `${SYMBOL}-${trade(trader, 1.5)}-enter`;
}

const refused = (rows: Rows) => rows.of("orders").filter((r) => r.status === "REFUSED");

/** Sends `n` entry signals one at a time, each waited for until its REFUSED row is written; returns those rows in order. */
async function refusedSignals(trader: LiveTrader, rows: Rows, n: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let i = 1; i <= n; i++) {
    const key = signal(trader);
    await until(`signal ${i} refused`, () => refused(rows).some((r) => r.intent_key === key));
    out.push(refused(rows).find((r) => r.intent_key === key)!);
  }
  return out;
}

test("entries refused because the limit floors to 0 do not use up the strategy's order budget; skipped says why", async () => {
  // Room for half a quantity step: every entry floors to 0. The strategy may send 2 orders a minute.
  const run = await makeTrader(join(tempDir("refused-floor"), "trading"), (step, px) => riskParams({ max_position_notional: step * px * 0.5, max_orders_per_min: 2 }));
  const ledger = tn.server.ledger;
  const sent = ledger.orders.size;
  try {
    for (const row of await refusedSignals(run.trader, run.rows, 5)) expect(String(row.error)).toContain(`floors to 0 on the step ${run.step}`);
    const st = run.trader.status();
    expect(st.skipped).toEqual({ qty_floors_to_zero: 5 });
    expect(st.counters.refusedLimit).toBe(5);
    expect(refused(run.rows)).toHaveLength(5);
    expect(ledger.orders.size).toBe(sent);
  } finally {
    await run.trader.stop(true);
  }
}, 30_000);

test("a halt restored at a restart that day: the fresh strategy proposes no entry (no REFUSED rows); the adopted position is closed", async () => {
  const dir = join(tempDir("refused-restart"), "trading");
  const ledger = tn.server.ledger;
  const limits = (step: number, px: number) => riskParams({ max_position_notional: step * px * 50, notional_usdt: step * px * 20, max_orders_per_min: 50 });
  // A first trader opens a long and stops without flattening: the position stays, with its stop.
  const first = await makeTrader(dir, limits);
  const key = signal(first.trader);
  await until("long with its stop", () => ledger.position(SYMBOL).qty > 0 && ledger.openAlgos(SYMBOL).length === 1 && first.strategy.position(SYMBOL) !== null);
  expect(first.rows.of("orders").some((r) => r.intent_key === key && r.status === "FILLED")).toBe(true);
  expect(await first.trader.stop(false)).toEqual([SYMBOL]);
  // Its kill switch had tripped (noted in the audit log) just before it stopped.
  const day = utcDay(Date.now());
  const reason = `${SYMBOL} max_daily_loss: day PnL -31.53 <= -25, flattened and stopped for ${day}`;
  new TradeRecords(new Rows(), dir, []).note("halt", { symbol: SYMBOL, reason, day });

  const next = await makeTrader(dir, limits);
  try {
    expect(next.trader.status().symbols[0]!.halted).toBe(reason);
    const sent = Math.max(0, ...ledger.orders.keys());
    // The adopted position is closed (the halt's flattening; the strategy's own risk_halt exit finds nothing left).
    for (let i = 0; i < 5; i++) signal(next.trader);
    await until("flattened", () => ledger.position(SYMBOL).qty === 0 && ledger.openAlgos(SYMBOL).length === 0);
    await until("the strategy flat too", () => {
      trade(next.trader, 0);
      return next.strategy.position(SYMBOL) === null;
    });
    for (let i = 0; i < 5; i++) signal(next.trader);
    await Bun.sleep(300);
    expect(refused(next.rows)).toEqual([]);
    expect(next.strategy.halts().map((h) => h.reason)).toEqual([reason]);
    expect(next.trader.status().skipped.halted).toBeGreaterThanOrEqual(5);
    expect(next.trader.status().skipped.orders_per_min).toBeUndefined();
    // Only closing orders reached the venue: reduce-only, none an entry.
    const closes = next.rows.of("orders").filter((r) => r.type === "MARKET" && r.reason !== "stream" && r.reason !== "venue");
    expect(closes.length).toBeGreaterThan(0);
    expect(closes.every((r) => r.reason === "risk_halt")).toBe(true);
    const since = [...ledger.orders.values()].filter((o) => o.orderId > sent && o.symbol === SYMBOL);
    expect(since.every((o) => o.reduceOnly || o.fromAlgoId !== null)).toBe(true);
  } finally {
    await next.trader.stop(true);
  }
  expect(ledger.position(SYMBOL).qty).toBe(0);
}, 30_000);

/** A logger that keeps what it is given. */
function keepingLogger(): Logger & { lines: { level: Level; msg: string; fields: Readonly<Record<string, unknown>> }[] } {
  const lines: { level: Level; msg: string; fields: Readonly<Record<string, unknown>> }[] = [];
  return { lines, log: (level, msg, fields = {}) => lines.push({ level, msg, fields }), limited: (_k, level, msg, fields = {}) => lines.push({ level, msg, fields }) };
}

test("entries the gateway's filters refuse before sending (minimum notional) use up neither order budget; skipped and the rows name the filter", async () => {
  // Room for a few quantity steps, but a notional below the venue's minimum (5 USDT): the trader's own
  // checks let the entry through, the gateway's filter check refuses it before sending.
  const run = await makeTrader(join(tempDir("refused-filter"), "trading"), (step, px) => riskParams({ max_position_notional: step * px * 4, max_orders_per_min: 2 }));
  const ledger = tn.server.ledger;
  const sent = ledger.orders.size;
  try {
    for (const row of await refusedSignals(run.trader, run.rows, 5)) {
      expect(String(row.error)).toContain("venue filter min_notional: notional");
      expect(String(row.error)).toContain(`below the minimum 5 of ${SYMBOL}`);
      expect(row.attempts).toBe(0);
    }
    const st = run.trader.status();
    expect(st.skipped).toEqual({ filter_min_notional: 5 });
    expect(st.counters.refusedFilter).toBe(5);
    expect(st.counters.ordersFailed).toBe(0);
    expect(st.symbols[0]!.orders_last_min).toBe(0);
    expect(run.rows.of("orders").filter((r) => r.status === "REJECTED")).toEqual([]);
    expect(ledger.orders.size).toBe(sent);
  } finally {
    await run.trader.stop(true);
  }
}, 30_000);

test("a max_position_notional below the smallest order the venue accepts: one warn line at start naming the key, and limit_below_min_order in the status", async () => {
  const log = keepingLogger();
  // 2 USDT: above one quantity step (≈ 0.69), below the minimum notional (5).
  const limit = 2;
  const run = await makeTrader(join(tempDir("refused-below-min"), "trading"), () => riskParams({ max_position_notional: limit }), log, { max_position_notional: limit });
  try {
    const warns = log.lines.filter((l) => l.level === "warn" && l.msg.includes("smallest order"));
    expect(warns).toHaveLength(1);
    const w = warns[0]!;
    expect(w.msg).toContain(`trade.symbols.${SYMBOL}.max_position_notional = ${limit} is below the smallest order the venue accepts for ${SYMBOL}`);
    expect(w.fields).toMatchObject({ symbol: SYMBOL, key: `trade.symbols.${SYMBOL}.max_position_notional`, value: limit });
    const px = Number(w.fields.price);
    // SANDUSDT: step 1, minimum notional 5: the smallest order is ceil(5 / price) units.
    expect(Number(w.fields.min_order_notional)).toBeCloseTo(Math.ceil(5 / px - 1e-9) * px, 6);
    const sym = run.trader.status().symbols[0]!;
    expect(sym.limit_below_min_order).toBe(true);
    expect(sym.min_order_notional!).toBeGreaterThanOrEqual(5);
    expect(run.trader.healthReasons()).toEqual([]);
  } finally {
    await run.trader.stop(true);
  }
}, 30_000);

test("a limit that fits the smallest order: no warning, limit_below_min_order false", async () => {
  const log = keepingLogger();
  const run = await makeTrader(join(tempDir("refused-above-min"), "trading"), () => riskParams({ max_position_notional: 50 }), log);
  try {
    expect(log.lines.filter((l) => l.msg.includes("smallest order"))).toEqual([]);
    expect(run.trader.status().symbols[0]!.limit_below_min_order).toBe(false);
  } finally {
    await run.trader.stop(true);
  }
}, 30_000);
