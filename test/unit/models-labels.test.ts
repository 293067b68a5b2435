/**
 * Labels agree with paper trading: the real shared strategy and paper executor run over a synthetic
 * market with the exits a label leaves out switched off (ATR stop, fade/reverse via an unreachable
 * minimum move, risk limits, cost gate), and every round trip they make must have exactly the label's
 * result: same net return, win/loss, exit reason and exit time.
 */
import { describe, expect, test } from "bun:test";
import type { Row, RowKind, RowSink } from "../../src/core/rows.ts";
import { barrierParams, tripleBarrierLabel, type PriceSeries } from "../../src/models/labels.ts";
import { PaperTrader } from "../../src/trading/paper/trader.ts";
import { RiskParamsSchema } from "../../src/trading/risk/params.ts";
import { StrategyParamsSchema } from "../../src/trading/strategy/params.ts";
import { SharedStrategy } from "../../src/trading/strategy/strategy.ts";
import { makeMarket } from "./models-support.ts";

const NO_COOLDOWN = { A_H: { cooldown_sec: 0 }, A_L: { cooldown_sec: 0 }, Q_H: { cooldown_sec: 0 }, Q_L: { cooldown_sec: 0 } };
const KIND_ORDER: Record<string, number> = { orderbook: 0, features: 1, prices: 2, fusion: 3 };

function engineOrder(rows: Record<string, Row[]>): [RowKind, Row][] {
  const out: [RowKind, Row][] = [];
  for (const [k, rs] of Object.entries(rows)) for (const r of rs) out.push([k as RowKind, r]);
  return out.sort((a, b) => (a[1].ts_ms as number) - (b[1].ts_ms as number) || KIND_ORDER[a[0]] - KIND_ORDER[b[0]]);
}

describe("triple-barrier labels", () => {
  for (const [name, tp] of [["single target", [{ at_bps: 12, fraction: 1 }]], ["tiered take-profit", [{ at_bps: 6, fraction: 0.5 }, { at_bps: 14, fraction: 1 }]]] as const) {
    test(`equal paper trading's round trips (${name})`, () => {
      const m = makeMarket({ symbol: "SYNUSDT", startMs: Date.UTC(2026, 0, 5, 10), minutes: 40, seed: 3, edge: "none" });
      const strategy = StrategyParamsSchema.parse({ stop_bps: 10, take_profit: tp, max_hold_sec: 45, min_reverse_move_bps: 1e9, atr: { mult: 0 }, regimes: NO_COOLDOWN });
      const risk = RiskParamsSchema.parse({ max_daily_loss: 1e12, max_drawdown_pct: 100, max_orders_per_min: 1000, cost: { enable: false } });
      const paper: Row[] = [];
      const sink: RowSink = { append: (k: RowKind, r: Row) => void (k === "paper" && paper.push({ ...r })) };
      const strat = new SharedStrategy({ strategy, risk, takerBps: 2 });
      const trader = new PaperTrader("SYNUSDT", strat, { takerBps: 2, feeTier: "T" }, sink);
      for (const [k, r] of engineOrder(m.rows)) trader.onRow(k as "prices", r);

      const prices = m.rows.prices;
      const series: PriceSeries = {
        tsMs: Float64Array.from(prices, (r) => r.ts_ms as number),
        buyFill: Float64Array.from(prices, (r) => r.best_buy_fill as number),
        sellFill: Float64Array.from(prices, (r) => r.best_sell_fill as number),
      };
      const indexOf = new Map(prices.map((r, i) => [r.agg_trade_id as number, i]));
      const b = barrierParams(strategy, 2, "T");
      const opens = paper.filter((r) => r.event === "open");
      expect(opens.length).toBeGreaterThan(20);
      let compared = 0;
      for (const o of opens) {
        const exits = paper.filter((r) => r.position_no === o.position_no && r.event !== "open");
        const last = exits[exits.length - 1];
        // still open when the data ended: the label is null too (checked below)
        if (last === undefined || last.event !== "close") {
          expect(tripleBarrierLabel(o.side === "long" ? "buy" : "sell", series, indexOf.get(o.signal_agg_trade_id as number)!, b)).toBeNull();
          continue;
        }
        const net = exits.reduce((a, r) => a + (r.net_pnl as number), 0);
        const retBps = (net / ((o.qty as number) * (o.entry_price as number))) * 1e4;
        const label = tripleBarrierLabel(o.side === "long" ? "buy" : "sell", series, indexOf.get(o.signal_agg_trade_id as number)!, b)!;
        expect(label).not.toBeNull();
        expect(label.entryTsMs).toBe(o.ts_ms as number);
        expect(label.exitTsMs).toBe(last.ts_ms as number);
        expect(label.reason).toBe(last.reason === "time" ? "time" : (last.reason as string));
        expect(label.retBps).toBeCloseTo(retBps, 6);
        expect(label.win).toBe(net > 0);
        compared++;
      }
      expect(compared).toBeGreaterThan(20);
      // every exit kind the label models occurred
      const reasons = new Set(paper.filter((r) => r.event !== "open").map((r) => r.reason));
      for (const r of ["stop", "target", "time"]) expect(reasons.has(r)).toBe(true);
    });
  }

  test("no label when the data ends before the position is flat", () => {
    const series: PriceSeries = { tsMs: Float64Array.from([0, 1, 2]), buyFill: Float64Array.from([100, 100, 100]), sellFill: Float64Array.from([99.99, 99.99, 99.99]) };
    expect(tripleBarrierLabel("buy", series, 0, { stopBps: 50, takeProfit: [{ at_bps: 50, fraction: 1 }], maxHoldMs: 0, takerBps: 0, feeTier: "T" })).toBeNull();
  });
});
