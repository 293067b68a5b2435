/**
 * Risk limits of the shared strategy (docs/strategy.md "Risk"), through synthetic row streams and the
 * paper executor: max_daily_loss and max_drawdown_pct flatten and stop the symbol for its UTC day
 * (with a reason the health endpoint can show) and trading resumes the next day; max_orders_per_min
 * skips entries but never exits; max_position_notional caps every entry.
 */
import { describe, expect, test } from "bun:test";
import { Harness, riskParams, strategyParams } from "./strategy-stream.ts";

const DAY = 86_400;

describe("max_daily_loss", () => {
  test("an open loss past the limit closes the position (risk_halt), halts the day, resumes the next UTC day", () => {
    const h = new Harness(strategyParams({ regimes: { A_L: { entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps: 5 } } }), riskParams({ max_daily_loss: 20 }));
    h.trade(1, 99.99, 100.0, 1.5).trade(2, 99.99, 100.0, 0); // long 10 @ 100.00
    h.trade(3, 98.05, 98.06, 0); // open loss 10 × −1.95 = −19.5: within
    expect(h.strategy.halts()).toEqual([]);
    h.trade(4, 97.99, 98.0, 0); // −20.1 ≤ −20: halt, flatten
    h.trade(5, 97.9, 97.91, 0);
    expect(h.events()).toEqual(["open:long:signal", "close:long:risk_halt"]);
    const halts = h.strategy.halts();
    expect(halts.length).toBe(1);
    expect(halts[0]!.reason).toContain("max_daily_loss");
    expect(halts[0]!.reason).toContain("BTCUSDT");
    expect(halts[0]!.day).toBe("1970-01-01");
    expect(h.trader.stats().halted).toBe(halts[0]!.reason);
    h.trade(100, 97.9, 97.91, 1.5).trade(101, 97.9, 97.91, 0); // same day: skipped
    expect(h.skips()).toEqual(["taken", "halted"]);
    h.trade(DAY + 1, 97.9, 97.91, 1.5).trade(DAY + 2, 97.9, 97.91, 0); // next day: trades again
    expect(h.skips()).toEqual(["taken", "halted", "taken"]);
    expect(h.strategy.halts()).toEqual([]);
    expect(h.events().at(-1)).toBe("open:long:signal");
  });

  test("realised losses add up over the day; a profit the day before does not count", () => {
    const h = new Harness(strategyParams({ stop_bps: 10, regimes: { A_L: { entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps: 5 } } }), riskParams({ max_daily_loss: 25 }));
    const loser = (t: number) => {
      h.trade(t, 99.99, 100.0, 1.5).trade(t + 1, 99.99, 100.0, 0); // long 10 @ 100
      h.trade(t + 2, 99.88, 99.89, 0).trade(t + 3, 99.88, 99.89, 0); // stop: −1.2 per trade
    };
    for (let i = 0; i < 3; i++) loser(10 + i * 10); // −3.6 in total: far from −25
    expect(h.strategy.halts()).toEqual([]);
    expect(h.events().filter((e) => e.endsWith(":stop")).length).toBe(3);
  });
});

describe("max_drawdown_pct", () => {
  test("a fall of the given percent from the equity peak halts the symbol", () => {
    // capital 1000, limit 1 %: a 10-unit open loss on a 1000-notional position is 1 %.
    const h = new Harness(strategyParams(), riskParams({ capital_usdt: 1000, max_drawdown_pct: 1 }));
    h.trade(1, 99.99, 100.0, 1.5).trade(2, 99.99, 100.0, 0); // long 10 @ 100
    h.trade(3, 99.1, 99.11, 0); // −9: 0.9 %
    expect(h.strategy.halts()).toEqual([]);
    h.trade(4, 98.99, 99.0, 0); // −10.1: 1.01 %
    h.trade(5, 98.99, 99.0, 0);
    expect(h.events()).toEqual(["open:long:signal", "close:long:risk_halt"]);
    expect(h.strategy.halts()[0]!.reason).toContain("max_drawdown_pct");
  });
});

describe("max_orders_per_min", () => {
  test("entries beyond the limit in 60 s are skipped; exits always go", () => {
    const h = new Harness(strategyParams({ max_hold_sec: 1, regimes: { A_L: { entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps: 5 } } }), riskParams({ max_orders_per_min: 3 }));
    h.trade(1, 99.99, 100.01, 1.5).trade(2, 99.99, 100.01, 0); // order 1 (entry at t=1)
    h.trade(3, 99.99, 100.01, 0).trade(4, 99.99, 100.01, 0); // order 2: time exit
    h.trade(5, 99.99, 100.01, 1.5).trade(6, 99.99, 100.01, 0); // order 3: entry
    h.trade(7, 99.99, 100.01, 0).trade(8, 99.99, 100.01, 0); // order 4: the exit goes anyway
    expect(h.events()).toEqual(["open:long:signal", "close:long:time", "open:long:signal", "close:long:time"]);
    h.trade(20, 99.99, 100.01, 1.5).trade(21, 99.99, 100.01, 0); // 4 orders in the last 60 s: skipped
    expect(h.skips()).toEqual(["taken", "taken", "orders_per_min"]);
    h.trade(66, 99.99, 100.01, 1.5).trade(67, 99.99, 100.01, 0); // orders at 1, 3 and 5 expired: room
    expect(h.skips()).toEqual(["taken", "taken", "orders_per_min", "taken"]);
  });

  test("a reversal needs room for two orders", () => {
    const h = new Harness(strategyParams({ regimes: { A_L: { entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps: 5 } } }), riskParams({ max_orders_per_min: 2 }));
    h.trade(1, 99.99, 100.01, 1.5).trade(2, 99.99, 100.01, -1.5).trade(3, 99.99, 100.01, 0);
    expect(h.skips()).toEqual(["taken", "orders_per_min"]);
  });
});

describe("max_position_notional", () => {
  test("caps the entry notional", () => {
    const h = new Harness(strategyParams(), riskParams({ notional_usdt: 1000, max_position_notional: 250 }));
    h.trade(1, 99.99, 100.0, 1.5).trade(2, 99.99, 100.0, 0);
    expect(h.paper[0]!.qty).toBeCloseTo(2.5, 12);
  });
});
