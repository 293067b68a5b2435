/**
 * Sizing modes (fixed, vol_target, kelly_capped), the cost gate and the model-filter hook of the
 * shared strategy (docs/strategy.md), with figures worked out by hand.
 */
import { describe, expect, test } from "bun:test";
import { costCheck, expectedEdgeBps } from "../../src/trading/risk/cost.ts";
import { entryNotional, kellyFraction } from "../../src/trading/risk/sizing.ts";
import { RiskOverrideSchema, RiskParamsSchema } from "../../src/trading/risk/params.ts";
import type { FilterDecision, SignalContext } from "../../src/trading/strategy/contract.ts";
import { StrategyParamsSchema } from "../../src/trading/strategy/params.ts";
import { Harness, riskParams, strategyParams } from "./strategy-stream.ts";

const noRecord = { trades: 0, wins: 0, winSum: 0, lossSum: 0 };

describe("sizing", () => {
  test("fixed: notional_usdt, capped by max_position_notional", () => {
    expect(entryNotional(riskParams({ notional_usdt: 800 }), { atrBps: 50, probability: null, priorPayoff: null, record: noRecord })).toBe(800);
    expect(entryNotional(riskParams({ notional_usdt: 800, max_position_notional: 300 }), { atrBps: null, probability: null, priorPayoff: null, record: noRecord })).toBe(300);
  });

  test("vol_target: notional × vol_target_bps / ATR bps; notional_usdt while ATR warms up", () => {
    const r = riskParams({ sizing: "vol_target", notional_usdt: 1000, vol_target_bps: 10 });
    const n = (atrBps: number | null) => entryNotional(r, { atrBps, probability: null, priorPayoff: null, record: noRecord });
    expect(n(20)).toBe(500);
    expect(n(5)).toBe(2000);
    expect(n(1)).toBe(5000); // 10 000 capped at max_position_notional 5000
    expect(n(null)).toBe(1000);
  });

  test("kelly_capped: capital × min(kelly_fraction × f*, cap) from the symbol's record; nothing without edge", () => {
    const r = riskParams({ sizing: "kelly_capped", capital_usdt: 10_000, kelly_fraction: 0.5, kelly_cap: 0.2, kelly_min_trades: 10, max_position_notional: 1e9 });
    // 6 wins of avg 20, 4 losses of avg 10: p = 0.6, b = 2 → f* = 0.6 − 0.4/2 = 0.4 → 0.5·0.4 = 0.2 → 2000.
    expect(kellyFraction(0.6, 2)).toBeCloseTo(0.4, 12);
    const rec = { trades: 10, wins: 6, winSum: 120, lossSum: 40 };
    expect(entryNotional(r, { atrBps: null, probability: null, priorPayoff: null, record: rec })).toBeCloseTo(2000, 9);
    // p = 0.55, b = 1.5 → f* = 0.25 → 0.125 → 1250.
    expect(entryNotional(r, { atrBps: null, probability: null, priorPayoff: null, record: { trades: 20, wins: 11, winSum: 165, lossSum: 90 } })).toBeCloseTo(1250, 9);
    // Very strong record: f* = 0.9 − 0.1/9 ≈ 0.889 → 0.444 → capped at 0.2 → 2000.
    expect(entryNotional(r, { atrBps: null, probability: null, priorPayoff: null, record: { trades: 10, wins: 9, winSum: 810, lossSum: 10 } })).toBeCloseTo(2000, 9);
    // Losing record: f* = 0.3 − 0.7/1 < 0 → 0 (no entry).
    expect(entryNotional(r, { atrBps: null, probability: null, priorPayoff: null, record: { trades: 10, wins: 3, winSum: 30, lossSum: 70 } })).toBe(0);
    // Too few trades and no filter: notional_usdt.
    expect(entryNotional(r, { atrBps: null, probability: null, priorPayoff: 1.5, record: { trades: 9, wins: 6, winSum: 120, lossSum: 30 } })).toBe(1000);
    // A filter probability with the prior payoff: p = 0.7, b = 1.5 → f* = 0.5 → 0.25 → cap 0.2 → 2000.
    expect(entryNotional(r, { atrBps: null, probability: 0.7, priorPayoff: 1.5, record: noRecord })).toBeCloseTo(2000, 9);
  });

  test("kelly_capped in the strategy: sized from its own closed trades; a losing record stops entries (size_zero)", () => {
    const h = new Harness(
      strategyParams({ max_hold_sec: 1, regimes: { A_L: { entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps: 5 } } }),
      riskParams({ sizing: "kelly_capped", kelly_min_trades: 3 }),
    );
    // Long 10 @ 100.00, out at `exitBid` one second later (time stop).
    const roundTrip = (t: number, exitBid: number) =>
      h.trade(t, 99.99, 100.0, 1.5).trade(t + 1, 99.99, 100.0, 0).trade(t + 2, exitBid, exitBid + 0.01, 0).trade(t + 3, exitBid, exitBid + 0.01, 0);
    roundTrip(10, 100.05); // +0.5
    roundTrip(20, 99.8); // −2
    roundTrip(30, 99.8); // −2: p = 1/3, b = 0.5 / 2 → f* = 1/3 − (2/3)/0.25 < 0
    expect(h.events().filter((e) => e.startsWith("close")).length).toBe(3);
    h.trade(40, 99.99, 100.0, 1.5).trade(41, 99.99, 100.0, 0);
    expect(h.skips()).toEqual(["taken", "taken", "taken", "size_zero"]);
  });
});

describe("cost gate", () => {
  const r = RiskParamsSchema.parse({ cost: { edge_bps_per_score: 4, margin_bps: 1 } });
  test("edge = edge_bps_per_score × |score|; cost = 2 × taker + spread + margin", () => {
    expect(expectedEdgeBps(r, 2, null, 45, 30)).toBe(8);
    expect(costCheck(r, 8, 5, 2)).toEqual({ pass: false, edge_bps: 8, cost_bps: 13 });
    expect(costCheck(r, 13, 5, 2).pass).toBe(true);
  });

  test("with a model probability: p × target − (1 − p) × stop", () => {
    expect(expectedEdgeBps(r, 2, 0.6, 45, 30)).toBeCloseTo(0.6 * 45 - 0.4 * 30, 12);
  });

  test("in the strategy: a weak signal is skipped for cost, a strong one taken; the decision carries both figures", () => {
    const h = new Harness(
      strategyParams({ regimes: { A_L: { entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps: 5 } } }),
      riskParams({ cost: { enable: true, edge_bps_per_score: 4, margin_bps: 0 } }),
      { takerBps: 5 },
    );
    h.trade(1, 99.99, 100.01, 2.5); // edge 10 < 10 + 2 = 12
    h.trade(2, 99.99, 100.01, 0);
    h.trade(3, 99.99, 100.01, 3.5); // edge 14 ≥ 12
    h.trade(4, 99.99, 100.01, 0);
    expect(h.skips()).toEqual(["cost", "taken"]);
    expect(h.trader.stats().signals).toEqual({ taken: 1, skipped: { cost: 1 } }); // what the status page shows
    expect(h.decisions[0]!.edge_bps).toBeCloseTo(10, 9);
    expect(h.decisions[0]!.cost_bps).toBeCloseTo(12, 6);
    expect(h.events()).toEqual(["open:long:signal"]);
    // Fees: 1000 × 5 bps = 0.5 on the entry.
    expect(h.paper[0]!.fee as number).toBeCloseTo(0.5, 2);
  });
});

describe("model filter hook (SignalFilter)", () => {
  test("asked before an entry with the signal's context; take=false skips; sizeFactor scales the size", () => {
    const seen: SignalContext[] = [];
    let answer: FilterDecision = { probability: 0.2, take: false, sizeFactor: 1 };
    const filter = { decide: (ctx: SignalContext) => (seen.push(ctx), answer) };
    const h = new Harness(strategyParams({ regimes: { A_L: { entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps: 5 } } }), riskParams(), { filter });
    h.trade(1, 99.99, 100.01, 1.5).trade(2, 99.99, 100.01, 0);
    expect(h.skips()).toEqual(["filter"]);
    expect(h.decisions[0]!.filter).toEqual(answer);
    expect(seen[0]).toMatchObject({ symbol: "BTCUSDT", side: "buy", score: 1.5, regime: "A_L", best_buy_fill: 100.01, best_sell_fill: 99.99 });
    answer = { probability: 0.8, take: true, sizeFactor: 0.5 };
    h.trade(3, 99.99, 100.01, 1.5).trade(4, 99.99, 100.01, 0);
    expect(h.skips()).toEqual(["filter", "taken"]);
    expect(h.paper[0]!.qty as number).toBeCloseTo(500 / 100.01, 12);
  });

  test("gates before the filter are not sent to it (the spread gate skips first)", () => {
    let calls = 0;
    const h = new Harness(strategyParams(), riskParams(), { filter: { decide: () => (calls++, { probability: 1, take: true, sizeFactor: 1 }) } });
    h.trade(1, 99.9, 100.1, 1.5).trade(2, 99.9, 100.1, 0);
    expect(h.skips()).toEqual(["spread"]);
    expect(calls).toBe(0);
  });
});

describe("configuration", () => {
  test("exit must be below entry; tiers ascend; unknown keys are refused", () => {
    expect(() => StrategyParamsSchema.parse({ regimes: { Q_H: { exit: 3 } } })).toThrow(/exit must be below entry/);
    expect(() => StrategyParamsSchema.parse({ take_profit: [{ at_bps: 20, fraction: 0.5 }, { at_bps: 10, fraction: 1 }] })).toThrow(/ascending/);
    expect(() => StrategyParamsSchema.parse({ stop_bsp: 3 })).toThrow();
    expect(() => RiskParamsSchema.parse({ sizing: "martingale" })).toThrow();
    // Per-symbol overrides (trade.symbols) carry only what they set, so [risk] keeps the rest; a
    // cost table given per symbol is whole (its missing keys at their defaults).
    expect(RiskOverrideSchema.parse({ max_daily_loss: 5 })).toEqual({ max_daily_loss: 5 });
    const base = RiskParamsSchema.parse({ notional_usdt: 200, cost: { edge_bps_per_score: 3 } });
    const merged = { ...base, ...RiskOverrideSchema.parse({ max_daily_loss: 5, cost: { enable: false } }) };
    expect(merged).toMatchObject({ notional_usdt: 200, max_daily_loss: 5, cost: { enable: false, edge_bps_per_score: 2, margin_bps: 0 } });
    expect(() => RiskOverrideSchema.parse({ max_daily_los: 5 })).toThrow();
    // One key overridden; the regime's other defaults stay.
    const p = StrategyParamsSchema.parse({ regimes: { A_H: { cooldown_sec: 5 } } });
    expect(p.regimes.A_H).toEqual({ enable: true, entry: 1.8, exit: 0.9, cooldown_sec: 5, max_spread_bps: 4 });
  });
});
