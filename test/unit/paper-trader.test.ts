/**
 * The paper executor (src/trading/paper): fills of the shared strategy's intents at the next trade's
 * book, taker fees, PnL, equity and drawdown of every row worked out by hand (arithmetic in the
 * comments), partial exits as `reduce` rows whose net PnL sums to the round trip, the status figures,
 * and the PaperTap in front of the sink. The strategy's rules are pinned in strategy-rules.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { ConfigSchema } from "../../src/config/schema.ts";
import type { Row } from "../../src/core/rows.ts";
import type { Columns } from "../../src/report/parquet-tree.ts";
import { paperResult } from "../../src/report/paper-results.ts";
import { PaperTap, traderParams } from "../../src/trading/paper/paper-tap.ts";
import { MemorySink } from "./calc-support.ts";
import { Harness, riskParams, strategyParams } from "./strategy-stream.ts";

const S = 1000;
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9;
function expectRow(row: Row, want: Record<string, number | string | null>): void {
  for (const [k, v] of Object.entries(want)) {
    if (typeof v === "number") {
      if (!close(row[k] as number, v)) throw new Error(`${k}: got ${row[k]}, want ${v} in ${JSON.stringify(row)}`);
    } else expect(row[k]).toBe(v);
  }
}

describe("hand-made sequence: tier, target, stop, end (taker 5 bps)", () => {
  const h = new Harness(
    strategyParams({ stop_bps: 25, take_profit: [{ at_bps: 20, fraction: 0.5 }, { at_bps: 50, fraction: 1 }], regimes: { A_L: { entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps: 5 } } }),
    riskParams(),
    { takerBps: 5 },
  );
  h.trade(1, 99.99, 100.0, 1.5); // signal: buy 1000 / 100.00 = 10
  h.trade(2, 99.99, 100.0, 0); // open long 10 @ 100.00, fee 10·100·5e-4 = 0.5
  h.trade(3, 100.21, 100.22, 0); // +21 bps: tp1 (half) asked
  h.trade(4, 100.25, 100.26, 0); // reduce 5 @ 100.25
  h.trade(5, 100.51, 100.52, 0); // +51 bps: target asked for the rest
  h.trade(6, 100.5, 100.51, 0); // close 5 @ 100.50
  h.trade(7, 99.99, 100.0, -1.5); // signal: sell 1000 / 99.99
  h.trade(8, 99.99, 100.0, 0); // open short @ 99.99
  h.trade(9, 100.24, 100.25, 0); // buy fill 100.25: −26.0 bps ≤ −25 ⇒ stop asked
  h.trade(10, 100.25, 100.26, 0); // close @ 100.26
  h.trade(11, 99.99, 100.0, 1.5); // signal: buy 10
  h.trade(12, 99.99, 100.0, 0); // open long 10 @ 100.00
  h.trade(13, 100.0, 100.01, 0);
  h.trader.finish(); // close @ the last bid 100.00 (end)
  const rows = h.paper;

  test("fills, fees, PnL, equity and drawdown of every row", () => {
    expect(rows.map((r) => `${r.event}:${r.side}:${r.reason}@${r.agg_trade_id}`)).toEqual([
      "open:long:signal@2",
      "reduce:long:tp1@4",
      "close:long:target@6",
      "open:short:signal@8",
      "close:short:stop@10",
      "open:long:signal@12",
      "close:long:end@13",
    ]);
    expectRow(rows[0]!, { price: 100, qty: 10, fee: 0.5, equity: -0.5, drawdown: 0.5, entry_price: 100, entry_ts_ms: 2 * S, net_pnl: null, signal_agg_trade_id: 1, position_no: 1 });
    // 5 @ 100.25: gross 1.25; fee 5·100.25·5e-4 = 0.250625; half the entry fee 0.25 ⇒ net 0.749375
    expectRow(rows[1]!, { qty: 5, price: 100.25, fee: 0.250625, gross_pnl: 1.25, net_pnl: 0.749375, ret_bps: 0.749375 / 500 * 1e4, hold_ms: 2 * S, equity: -0.5 + 1.25 - 0.250625, position_no: 1 });
    // 5 @ 100.50: gross 2.5; fee 0.25125; the other 0.25 entry fee ⇒ net 1.99875
    expectRow(rows[2]!, { qty: 5, price: 100.5, fee: 0.25125, gross_pnl: 2.5, net_pnl: 1.99875, equity: 2.748125, drawdown: 0, position_no: 1 });
    // short 1000/99.99 @ 99.99: fee 0.5
    const q = 1000 / 99.99;
    expectRow(rows[3]!, { price: 99.99, qty: q, fee: 0.5, equity: 2.248125, drawdown: 0.5, signal_agg_trade_id: 7, position_no: 2 });
    // → 100.26: gross −q·0.27; fee q·100.26·5e-4
    const g = -q * 0.27;
    const f = q * 100.26 * 5e-4;
    expectRow(rows[4]!, { price: 100.26, gross_pnl: g, fee: f, net_pnl: g - 0.5 - f, equity: 2.248125 + g - f, drawdown: 0.5 - g + f });
    // → the last bid 100.00: gross 0; fees 0.5 + 0.5
    expectRow(rows[6]!, { price: 100, gross_pnl: 0, net_pnl: -1, ret_bps: -10 });
    // Equity is the sum of every exit row's net PnL.
    const sumNet = rows.reduce((a, r) => a + ((r.net_pnl as number | null) ?? 0), 0);
    expect(close(sumNet, rows[6]!.equity as number)).toBe(true);
  });

  test("status figures: round trips (a tier is not a trade), win rate, equity, fees, drawdown, Sharpe", () => {
    const s = h.trader.stats();
    expect(s.trades).toBe(3);
    expect(s.wins).toBe(1);
    expect(s.win_rate).toBeCloseTo(1 / 3, 12);
    expect(close(s.equity, rows[6]!.equity as number)).toBe(true);
    expect(close(s.fees, rows.reduce((a, r) => a + (r.fee as number), 0))).toBe(true);
    expect(s.max_drawdown).toBeGreaterThan(0);
    expect(s.sharpe).not.toBeNull();
    expect(s.position).toBeNull();
    expect(s.halted).toBeNull();
    expect(s.signals).toEqual({ taken: 3, skipped: {} });
  });
});

describe("the report's paper table reads the same rows", () => {
  test("a round trip with a tier is one trade with its summed net PnL; trades per observed day", () => {
    const h = new Harness(
      strategyParams({ stop_bps: 25, take_profit: [{ at_bps: 20, fraction: 0.5 }, { at_bps: 50, fraction: 1 }], regimes: { A_L: { entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps: 5 } } }),
      riskParams(),
      { takerBps: 5 },
    );
    h.trade(1, 99.99, 100.0, 1.5).trade(2, 99.99, 100.0, 0).trade(3, 100.21, 100.22, 0).trade(4, 100.25, 100.26, 0); // open, tp1
    h.trade(5, 99.7, 99.71, 0).trade(6, 99.7, 99.71, 0); // −29 bps: stop on the rest
    const rows = h.paper;
    expect(rows.map((r) => r.event)).toEqual(["open", "reduce", "close"]);
    const cols: Columns = {
      rows: rows.length,
      num: (n) => Float64Array.from(rows.map((r) => (r[n] as number | null) ?? Number.NaN)),
      str: (n) => rows.map((r) => r[n] as string | null),
      bool: () => new Uint8Array(rows.length),
    };
    const res = paperResult("BTCUSDT", cols, 0, 1e12, 43_200)!;
    const net = (rows[1]!.net_pnl as number) + (rows[2]!.net_pnl as number);
    expect(res.trades).toBe(1);
    expect(res.trades_per_day).toBe(2); // one trade in half a day observed
    expect(res.observed_s).toBe(43_200);
    expect(res.exits).toEqual({ tp1: 1, stop: 1 });
    expect(close(res.net_pnl, net)).toBe(true);
    expect(res.wins).toBe(net > 0 ? 1 : 0);
    expect(close(res.mean_ret_bps!, (net / (10 * 100)) * 1e4)).toBe(true);
    expect(close(res.net_pnl, h.trader.stats().equity)).toBe(true);
  });
});

test("an open position is marked at the last exit fill in the status", () => {
  const h = new Harness(strategyParams(), riskParams(), { takerBps: 5 });
  h.trade(1, 99.99, 100, 1.5).trade(2, 99.99, 100, 0).trade(3, 100.1, 100.2, 0);
  const s = h.trader.stats();
  expect(s.position).toMatchObject({ side: "long", entry_price: 100, qty: 10, entry_ts_ms: 2000 });
  expect(close(s.position!.unrealized_pnl as number, 10 * 0.1)).toBe(true);
  expect(s.equity).toBe(-0.5);
  expect(s.trades).toBe(0);
  expect(s.win_rate).toBeNull();
});

describe("PaperTap (the RowSink in front of the Parquet sink)", () => {
  const cfg = ConfigSchema.parse({
    strategy: { stop_bps: 0, take_profit: [], max_hold_sec: 0, regimes: { Q_H: { entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps: 50 } } },
    risk: { cost: { enable: false } },
  });

  test("passes every row through and trades each symbol on its own rows (row objects reused by the engine)", () => {
    const inner = new MemorySink();
    const tap = new PaperTap(inner, traderParams(cfg));
    const book = (symbol: string, t: number, bid: number, ask: number): Row => ({ symbol, ts_ms: t, mid: (bid + ask) / 2, spread_bps: ((ask - bid) / ((bid + ask) / 2)) * 1e4 });
    const price = (symbol: string, t: number, id: number, buy: number, sell: number): Row => ({ symbol, ts_ms: t, agg_trade_id: id, price: buy, best_buy_fill: buy, best_sell_fill: sell, scenario_2x2: "Q_H" });
    const fusion = (symbol: string, t: number, id: number, score: number): Row => ({ symbol, ts_ms: t, agg_trade_id: id, score, proba: 0.5, consistency: 1, z_ofi: score, z_cvd: score, degraded: false, scenario_2x2: "Q_H" });
    const reused: Record<string, unknown> = {};
    const send = (kind: "prices" | "fusion" | "orderbook", r: Row) => {
      Object.assign(reused, r);
      tap.append(kind, reused as Row);
      for (const k of Object.keys(reused)) reused[k] = "garbage";
    };
    send("orderbook", book("AAA", 1000, 9.99, 10));
    send("prices", price("AAA", 1000, 1, 10, 9.99));
    send("fusion", fusion("AAA", 1000, 1, 2));
    send("orderbook", book("BBB", 1000, 49.9, 50));
    send("prices", price("BBB", 1000, 7, 50, 49.9));
    send("fusion", fusion("BBB", 1000, 7, -2));
    send("prices", price("AAA", 2000, 2, 10.01, 10));
    send("prices", price("BBB", 2000, 8, 50.1, 50));
    tap.finishAll();
    expect(inner.rows.prices.length).toBe(4);
    expect(inner.rows.fusion.length).toBe(2);
    expect(inner.rows.orderbook.length).toBe(2);
    const paper = inner.rows.paper.map((r) => `${r.symbol}:${r.event}:${r.side}@${r.price}`);
    expect(paper).toEqual(["AAA:open:long@10.01", "BBB:open:short@50", "AAA:close:long@10", "BBB:close:short@50.1"]);
    expect(tap.stats("AAA").trades).toBe(1); // kept after finish, for the status and metrics.json
    send("orderbook", book("AAA", 3000, 9.99, 10));
    send("prices", price("AAA", 3000, 3, 10, 9.99)); // new input starts over (a restarted process)
    expect(tap.stats("AAA").trades).toBe(0);
    expect(tap.stats("CCC")).toMatchObject({ trades: 0, equity: 0, position: null, win_rate: null, sharpe: null, fee_tier: "TM", halted: null });
  });

  test("traderParams takes the fee tier FEE_TIER names from the table and the [strategy] / [risk] sections", () => {
    const c = ConfigSchema.parse({ regime: { fee_tier: "VIP3" }, strategy: { stop_bps: 10 }, risk: { notional_usdt: 200 } });
    const p = traderParams(c);
    expect(p).toMatchObject({ takerBps: 3.2, feeTier: "VIP3" });
    expect(p.strategy.stop_bps).toBe(10);
    expect(p.risk.notional_usdt).toBe(200);
    const bad = ConfigSchema.safeParse({ regime: { fee_tier: "GOLD" } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.message).toContain('"GOLD" is not in paper.fee_tiers');
    // The keys [paper] had before the shared strategy say where they went.
    const old = ConfigSchema.safeParse({ paper: { stop_bps: 10 } });
    expect(old.error!.issues[0]!.message).toBe("paper.stop_bps is now strategy.stop_bps (docs/strategy.md)");
    expect(ConfigSchema.safeParse({ paper: { nonsense: 1 } }).error!.issues[0]!.message).toContain("nonsense");
    const custom = ConfigSchema.parse({ regime: { fee_tier: "MINE" }, paper: { fee_tiers: { MINE: { taker_bps: 1, maker_bps: 0 } } } });
    expect(traderParams(custom).takerBps).toBe(1);
  });
});
