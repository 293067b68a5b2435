/**
 * Paper trading with hand-made signal sequences: every fill, fee, PnL, equity and drawdown below was
 * worked out by hand (arithmetic in the comments), then the trader must reproduce it exactly.
 * Rules under test (docs/research.md): a change of the fusion signal to buy/sell asks for a
 * position, filled at the NEXT trade's book; stop/target/max-hold are checked at the exit fill
 * before a pending request; reversals close then open; taker fees on both legs; `finish` closes.
 */
import { describe, expect, test } from "bun:test";
import { ConfigSchema } from "../../src/config/schema.ts";
import { PaperTap, traderParams } from "../../src/trading/paper/paper-tap.ts";
import { PaperTrader, type TraderParams } from "../../src/trading/paper/trader.ts";
import type { Row } from "../../src/core/rows.ts";
import { MemorySink } from "./calc-support.ts";

const P: TraderParams = { notionalUsdt: 1000, stopBps: 25, targetBps: 50, maxHoldMs: 60_000, takerBps: 5, feeTier: "TM" };
const S = 1000;

type Step = readonly [tsSec: number, id: number, buyFill: number | null, sellFill: number | null, signal: string];

/** Per trade: its prices row, then its fusion row, as the engine writes them. */
function run(steps: readonly Step[], params = P): { rows: Row[]; trader: PaperTrader } {
  const sink = new MemorySink();
  const trader = new PaperTrader("BTCUSDT", params, sink);
  for (const [t, id, buy, sell, signal] of steps) {
    trader.onPrices(t * S, id, buy, sell, "A_L");
    trader.onFusion(id, signal);
  }
  trader.finish();
  return { rows: sink.rows.paper, trader };
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9;
function expectRow(row: Row, want: Record<string, number | string | null>): void {
  for (const [k, v] of Object.entries(want)) {
    if (typeof v === "number") {
      if (!close(row[k] as number, v)) throw new Error(`${k}: got ${row[k]}, want ${v} in ${JSON.stringify(row)}`);
    } else expect(row[k]).toBe(v);
  }
}

describe("hand-made sequence: target, reversal after target, stop, opposite signal, max hold, end", () => {
  const steps: Step[] = [
    [1, 1, 100.0, 99.99, "neutral"],
    [2, 2, 99.9, 99.89, "buy"], // signal: long wanted; NOT filled at this trade's (older) book
    [3, 3, 100.0, 99.99, "buy"], // open long @ 100.00 (buy fill): qty 10, fee 10·100·5e-4 = 0.5
    [4, 4, 100.3, 100.29, "neutral"], // exit fill 100.29: +29 bps, nothing
    [5, 5, 100.52, 100.5, "sell"], // exit fill 100.50: +50 bps ≥ target ⇒ close; then short wanted
    [6, 6, 100.02, 100.0, "sell"], // open short @ 100.00 (sell fill): qty 10, fee 0.5
    [7, 7, 100.26, 100.24, "neutral"], // exit fill 100.26: −26 bps ≤ −25 ⇒ stop
    [8, 8, 100.1, 100.08, "buy"], // flat; long wanted
    [9, 9, 100.0, 99.98, "sell"], // open long @ 100.00, qty 10; then short wanted
    [10, 10, 100.06, 100.04, "sell"], // close long @ 100.04 (signal), open short @ 100.04
    [80, 11, 100.04, 100.02, "sell"], // held 70 s ≥ 60 s ⇒ max_hold close @ 100.04 (buy fill)
    [81, 12, null, null, "buy"], // no valid book: nothing fills; long wanted
    [82, 13, null, null, "buy"],
    [83, 14, 101.0, 100.98, "buy"], // open long @ 101.00, qty 1000/101
  ];
  const { rows, trader } = run(steps);

  test("fills, fees, PnL, equity and drawdown of every row", () => {
    expect(rows.map((r) => `${r.event}:${r.side}:${r.reason}@${r.agg_trade_id}`)).toEqual([
      "open:long:signal@3",
      "close:long:target@5",
      "open:short:signal@6",
      "close:short:stop@7",
      "open:long:signal@9",
      "close:long:signal@10",
      "open:short:signal@10",
      "close:short:max_hold@11",
      "open:long:signal@14",
      "close:long:end@14",
    ]);
    // equity: −0.5 → −0.5 + 5 − 0.5025 = 3.9975 → −0.5 = 3.4975 → −2.6 − 0.5013 = 0.3962 → −0.5 = −0.1038
    //   → +0.4 − 0.5002 = −0.204 → −0.5 = −0.704 → 0 − 0.5 = −1.204 → −0.5 = −1.704
    //   → (1000/101)·(100.98 − 101) − (1000/101)·100.98·5e-4 = −0.198019802 − 0.499900990 ⇒ −2.401920792
    // (the entry fee is booked at the open, so a close moves equity by gross − exit fee)
    expectRow(rows[0], { price: 100, qty: 10, fee: 0.5, equity: -0.5, drawdown: 0.5, entry_price: 100, entry_ts_ms: 3 * S, gross_pnl: null, net_pnl: null, signal_agg_trade_id: 2, position_no: 1 });
    // long 100.00 → 100.50: gross 10·0.5 = 5; exit fee 10·100.5·5e-4 = 0.5025; net 5 − 0.5 − 0.5025
    expectRow(rows[1], { price: 100.5, fee: 0.5025, gross_pnl: 5, net_pnl: 3.9975, ret_bps: 39.975, hold_ms: 2 * S, equity: 3.9975, drawdown: 0, signal_agg_trade_id: null, position_no: 1 });
    expectRow(rows[2], { price: 100, qty: 10, fee: 0.5, equity: 3.4975, drawdown: 0.5, signal_agg_trade_id: 5, position_no: 2 });
    // short 100.00 → 100.26: gross −10·0.26 = −2.6; fee 10·100.26·5e-4 = 0.5013; net −3.6013
    expectRow(rows[3], { price: 100.26, fee: 0.5013, gross_pnl: -2.6, net_pnl: -3.6013, ret_bps: -36.013, equity: 0.3962, drawdown: 3.6013 });
    expectRow(rows[4], { price: 100, qty: 10, equity: -0.1038, drawdown: 4.1013, signal_agg_trade_id: 8 });
    // long 100.00 → 100.04: gross 0.4; fee 10·100.04·5e-4 = 0.5002; net −0.6002
    expectRow(rows[5], { price: 100.04, fee: 0.5002, gross_pnl: 0.4, net_pnl: -0.6002, equity: -0.204, signal_agg_trade_id: 9 });
    // short qty 1000/100.04 = 9.996001599..., fee 0.5 exactly
    expectRow(rows[6], { price: 100.04, qty: 1000 / 100.04, fee: 0.5, equity: -0.704, signal_agg_trade_id: 9, position_no: 4 });
    expectRow(rows[7], { price: 100.04, fee: 0.5, gross_pnl: 0, net_pnl: -1, ret_bps: -10, hold_ms: 70 * S, equity: -1.204, drawdown: 5.2015 });
    expectRow(rows[8], { price: 101, qty: 1000 / 101, fee: 0.5, equity: -1.704, signal_agg_trade_id: 12 });
    expectRow(rows[9], { price: 100.98, gross_pnl: -0.198019801980198, fee: 0.49990099009901, net_pnl: -1.19792079207921, equity: -2.40192079207921, drawdown: 6.39942079207921 });
    // Equity is the sum of the round trips' net PnL.
    const sumNet = rows.reduce((a, r) => a + ((r.net_pnl as number | null) ?? 0), 0);
    expect(close(sumNet, rows[9].equity as number)).toBe(true);
  });

  test("status figures: trades, win rate, equity, fees, max drawdown, per-trade Sharpe", () => {
    const s = trader.stats();
    expect(s.trades).toBe(5);
    expect(s.wins).toBe(1);
    expect(s.win_rate).toBe(0.2);
    expect(close(s.equity, -2.40192079207921)).toBe(true);
    // 5 × 0.5 entry + 0.5025 + 0.5013 + 0.5002 + 0.5 + 0.49990099 exit
    expect(close(s.fees, 5.00390099009901)).toBe(true);
    expect(close(s.max_drawdown, 6.39942079207921)).toBe(true);
    // ret_bps = [39.975, −36.013, −6.002, −10, −11.979207921]: mean −4.803841584, sample sd 27.654465058
    expect(Math.abs((s.sharpe as number) - -0.17370943802672)).toBeLessThan(1e-12);
    expect(s.position).toBeNull();
  });
});

describe("rules", () => {
  test("a persisting signal opens once; after a stop it does not re-enter until the signal changes", () => {
    const { rows } = run([
      [1, 1, 100, 99.99, "buy"],
      [2, 2, 100, 99.99, "buy"], // open long @100
      [3, 3, 99.8, 99.7, "buy"], // −30 bps ⇒ stop
      [4, 4, 100, 99.99, "buy"],
      [5, 5, 100, 99.99, "buy"],
    ]);
    expect(rows.map((r) => `${r.event}:${r.reason}`)).toEqual(["open:signal", "close:stop"]);
  });

  test("a same-side signal while in position changes nothing; neutral does not close", () => {
    const { rows } = run([
      [1, 1, 100, 99.99, "sell"],
      [2, 2, 100, 99.99, "neutral"], // open short @99.99
      [3, 3, 100, 99.99, "sell"], // new sell edge: already short
      [4, 4, 100, 99.99, "neutral"],
    ]);
    expect(rows.map((r) => `${r.event}:${r.side}:${r.reason}@${r.agg_trade_id}`)).toEqual(["open:short:signal@2", "close:short:end@4"]);
    // short 99.99 → 100.00 (buy fill): gross −10.001·0.01; fees 0.5 + (1000/99.99)·100·5e-4
    const q = 1000 / 99.99;
    expect(close(rows[1].net_pnl as number, -q * 0.01 - 0.5 - q * 100 * 5e-4)).toBe(true);
  });

  test("stop/target/max-hold of 0 are off: only signals and the end close", () => {
    const { rows } = run(
      [
        [1, 1, 100, 99.99, "buy"],
        [2, 2, 100, 99.99, "neutral"],
        [3, 3, 50, 49.99, "neutral"],
        [9000, 4, 300, 299.99, "neutral"],
      ],
      { ...P, stopBps: 0, targetBps: 0, maxHoldMs: 0 },
    );
    expect(rows.map((r) => r.reason)).toEqual(["signal", "end"]);
  });

  test("an open position is marked at the last exit fill in the status", () => {
    const sink = new MemorySink();
    const t = new PaperTrader("X", P, sink);
    t.onPrices(1000, 1, 100, 99.99, null);
    t.onFusion(1, "buy");
    t.onPrices(2000, 2, 100, 99.99, null);
    t.onPrices(3000, 3, 100.2, 100.1, null);
    const s = t.stats();
    expect(s.position).toMatchObject({ side: "long", entry_price: 100, qty: 10, entry_ts_ms: 2000 });
    expect(close(s.position!.unrealized_pnl as number, 10 * 0.1)).toBe(true);
    expect(s.equity).toBe(-0.5);
    expect(s.trades).toBe(0);
    expect(s.win_rate).toBeNull();
  });
});

describe("PaperTap (the RowSink in front of the Parquet sink)", () => {
  test("passes every row through and trades per symbol from prices and fusion rows", () => {
    const inner = new MemorySink();
    const tap = new PaperTap(inner, P);
    const price = (symbol: string, t: number, id: number, buy: number, sell: number): Row => ({ symbol, ts_ms: t, agg_trade_id: id, best_buy_fill: buy, best_sell_fill: sell, scenario_2x2: "Q_H" });
    const fusion = (symbol: string, id: number, signal: string): Row => ({ symbol, agg_trade_id: id, signal });
    // The engine reuses its row objects: the tap must read values before returning.
    const reused: Record<string, unknown> = {};
    const send = (kind: "prices" | "fusion", r: Row) => {
      Object.assign(reused, r);
      tap.append(kind, reused as Row);
      for (const k of Object.keys(reused)) reused[k] = "garbage";
    };
    send("prices", price("AAA", 1000, 1, 10, 9.99));
    send("fusion", fusion("AAA", 1, "buy"));
    send("prices", price("BBB", 1000, 7, 50, 49.9));
    send("fusion", fusion("BBB", 7, "sell"));
    send("prices", price("AAA", 2000, 2, 10.01, 10));
    send("prices", price("BBB", 2000, 8, 50.1, 50));
    tap.finishAll();
    expect(inner.rows.prices.length).toBe(4);
    expect(inner.rows.fusion.length).toBe(2);
    const paper = inner.rows.paper.map((r) => `${r.symbol}:${r.event}:${r.side}@${r.price}`);
    expect(paper).toEqual(["AAA:open:long@10.01", "BBB:open:short@50", "AAA:close:long@10", "BBB:close:short@50.1"]);
    expect(tap.stats("AAA")?.trades).toBe(1);
    expect(tap.stats("CCC")).toMatchObject({ trades: 0, equity: 0, position: null, win_rate: null, sharpe: null, fee_tier: "TM" });
  });

  test("traderParams takes the fee tier FEE_TIER names from the table; the schema refuses an unknown one", () => {
    const cfg = ConfigSchema.parse({ regime: { fee_tier: "VIP3" }, paper: { stop_bps: 10 } });
    expect(traderParams(cfg)).toEqual({ notionalUsdt: 1000, stopBps: 10, targetBps: 50, maxHoldMs: 300_000, takerBps: 3.2, feeTier: "VIP3" });
    const bad = ConfigSchema.safeParse({ regime: { fee_tier: "GOLD" } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]).toMatchObject({ path: ["regime", "fee_tier"] });
    expect(bad.error!.issues[0].message).toContain('"GOLD" is not in paper.fee_tiers');
    const custom = ConfigSchema.parse({ regime: { fee_tier: "MINE" }, paper: { fee_tiers: { MINE: { taker_bps: 1, maker_bps: 0 } } } });
    expect(traderParams(custom).takerBps).toBe(1);
  });
});
