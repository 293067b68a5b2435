/**
 * Each entry and exit rule of the shared strategy (docs/strategy.md), pinned with synthetic row
 * streams run through the paper executor: thresholds per regime, edge-triggered signals, fills at the
 * next trade, cooldown, hysteresis, minimum move before a reversal, spread gate, tiered take-profit,
 * fixed / ATR / time stops, degraded rows and consistency.
 */
import { describe, expect, test } from "bun:test";
import { Harness, strategyParams } from "./strategy-stream.ts";

const near = (a: number, b: number, eps = 1e-9) => expect(Math.abs(a - b)).toBeLessThanOrEqual(eps);

describe("entries", () => {
  test("enter above the regime's threshold, filled at the NEXT trade's ask, 1000 USDT notional", () => {
    const h = new Harness();
    h.trade(1, 99.99, 100.01, 0.5); // below entry 1: nothing
    h.trade(2, 99.99, 100.01, 1.2); // signal: buy
    expect(h.paper.length).toBe(0); // not filled on the signal's own row
    h.trade(3, 100.09, 100.11, 1.3);
    expect(h.events()).toEqual(["open:long:signal"]);
    near(h.paper[0]!.price as number, 100.11);
    near(h.paper[0]!.qty as number, 1000 / 100.01); // sized at the signal's ask
    expect(h.paper[0]!.signal_agg_trade_id).toBe(2);
    expect(h.skips()).toEqual(["taken"]);
  });

  test("thresholds are per regime: 1.5 enters in A_L (entry 1) but not in Q_H (entry 2)", () => {
    const rule = (entry: number) => ({ entry, exit: entry / 2, cooldown_sec: 0, max_spread_bps: 5 });
    const p = strategyParams({ regimes: { Q_H: rule(2), A_H: rule(1), A_L: rule(1), Q_L: rule(1) } });
    const qh = new Harness(p);
    qh.regime = "Q_H";
    qh.trade(1, 99.99, 100.01, 1.5).trade(2, 99.99, 100.01, 1.5).trade(3, 99.99, 100.01, 2.1).trade(4, 99.99, 100.01, 0);
    expect(qh.decisions.map((d) => d.ctx.score)).toEqual([2.1]);
    expect(qh.decisions[0]!.ctx.entry_threshold).toBe(2);
    const al = new Harness(p);
    al.trade(1, 99.99, 100.01, 1.5).trade(2, 99.99, 100.01, 0);
    expect(al.events()).toEqual(["open:long:signal"]);
    expect(al.decisions[0]!.ctx.regime).toBe("A_L");
  });

  test("a signal is the first row of a run above the threshold: the run's later rows decide nothing", () => {
    const h = new Harness(strategyParams({ regimes: { A_L: { entry: 1, exit: 0.5, cooldown_sec: 100, max_spread_bps: 5 } } }));
    h.trade(1, 99.99, 100.01, 1.5).trade(2, 99.99, 100.01, 1.6).trade(3, 99.99, 100.01, 1.7);
    expect(h.decisions.length).toBe(1);
    h.trade(4, 99.99, 100.01, 0.2).trade(5, 99.99, 100.01, 1.5); // a new run: decided (same side)
    expect(h.skips()).toEqual(["taken", "same_side"]);
  });

  test("short entries on negative scores fill at the next trade's bid", () => {
    const h = new Harness();
    h.trade(1, 99.99, 100.01, -1.5).trade(2, 99.97, 99.99, 0);
    expect(h.events()).toEqual(["open:short:signal"]);
    near(h.paper[0]!.price as number, 99.97);
  });

  test("consistency must exceed min_consistency; degraded rows enter only with allow_degraded", () => {
    const h = new Harness();
    h.trade(1, 99.99, 100.01, 1.5, { consistency: 0.1 }).trade(2, 99.99, 100.01, 1.5, { degraded: true }).trade(3, 99.99, 100.01, 0);
    expect(h.decisions.length).toBe(0);
    const d = new Harness(strategyParams({ allow_degraded: true }));
    d.trade(1, 99.99, 100.01, 1.5, { degraded: true }).trade(2, 99.99, 100.01, 0);
    expect(d.events()).toEqual(["open:long:signal"]);
  });

  test("a disabled regime skips its signals (regime_off)", () => {
    const h = new Harness(strategyParams({ regimes: { A_L: { enable: false, entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps: 5 } } }));
    h.trade(1, 99.99, 100.01, 1.5).trade(2, 99.99, 100.01, 0);
    expect(h.skips()).toEqual(["regime_off"]);
    expect(h.paper.length).toBe(0);
  });
});

describe("cooldown", () => {
  test("no entry within cooldown_sec of the last fill (entry or exit); one after it", () => {
    const h = new Harness(strategyParams({ max_hold_sec: 5 }));
    h.trade(0, 99.99, 100.01, 1.5);
    h.trade(1, 99.99, 100.01, 0); // open at t=1
    h.trade(6, 99.99, 100.01, 0); // time stop asked at t=6 (held 5 s)
    h.trade(7, 99.99, 100.01, 0); // closed at t=7
    expect(h.events()).toEqual(["open:long:signal", "close:long:time"]);
    h.trade(16, 99.99, 100.01, 1.5); // 9 s after the close: cooldown 10 s
    h.trade(17, 99.99, 100.01, 0);
    h.trade(18, 99.99, 100.01, 1.5); // 11 s: taken
    h.trade(19, 99.99, 100.01, 0);
    expect(h.skips()).toEqual(["taken", "cooldown", "taken"]);
    expect(h.events().length).toBe(3);
  });

  test("cooldown is per regime: the regime at the signal decides", () => {
    const rule = (cooldown_sec: number) => ({ entry: 1, exit: 0.5, cooldown_sec, max_spread_bps: 5 });
    const h = new Harness(strategyParams({ max_hold_sec: 1, regimes: { Q_H: rule(100), A_H: rule(0), A_L: rule(0), Q_L: rule(0) } }));
    h.trade(0, 99.99, 100.01, 1.5).trade(1, 99.99, 100.01, 0).trade(2, 99.99, 100.01, 0).trade(3, 99.99, 100.01, 0); // open 1, close 3
    h.regime = "Q_H";
    h.trade(20, 99.99, 100.01, 1.5).trade(21, 99.99, 100.01, 0);
    h.regime = "A_H";
    h.trade(22, 99.99, 100.01, 1.5).trade(23, 99.99, 100.01, 0);
    expect(h.skips()).toEqual(["taken", "cooldown", "taken"]);
  });
});

describe("hysteresis (fade exit)", () => {
  test("the position stays while the score is between −exit and entry; leaves once below −exit", () => {
    const h = new Harness();
    h.trade(1, 99.99, 100.01, 1.5).trade(2, 99.99, 100.01, 0.2); // open long
    h.trade(3, 99.99, 100.01, -0.4); // −0.4 > −0.5: stays
    h.trade(4, 99.99, 100.01, 0.9); // below entry, positive: stays
    expect(h.events()).toEqual(["open:long:signal"]);
    h.trade(5, 99.99, 100.01, -0.6); // < −0.5: fade
    h.trade(6, 99.98, 100.0, 0);
    expect(h.events()).toEqual(["open:long:signal", "close:long:fade"]);
    near(h.paper[1]!.price as number, 99.98); // the next trade's bid
  });
});

describe("minimum move before a reversal", () => {
  test("an opposite signal is ignored until the price is min_reverse_move_bps from the entry; then it reverses", () => {
    const h = new Harness(strategyParams({ min_reverse_move_bps: 10, regimes: { A_L: { entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps: 5 } } }));
    h.trade(1, 99.99, 100.01, 1.5).trade(2, 99.99, 100.01, 0); // long @ 100.01
    h.trade(3, 99.96, 99.98, -1.5); // exit fill 99.96: −5 bps < 10: no reverse, no fade
    h.trade(4, 99.96, 99.98, 0);
    expect(h.skips()).toEqual(["taken", "min_move"]);
    expect(h.events()).toEqual(["open:long:signal"]);
    h.trade(5, 99.9, 99.92, -1.5); // −11 bps: reverse
    h.trade(6, 99.89, 99.91, 0);
    expect(h.skips()).toEqual(["taken", "min_move", "taken"]);
    expect(h.events()).toEqual(["open:long:signal", "close:long:reverse", "open:short:signal"]);
    near(h.paper[1]!.price as number, 99.89);
    near(h.paper[2]!.price as number, 99.89);
  });

  test("with min_reverse_move_bps = 0 an opposite signal reverses at once (cooldown permitting)", () => {
    const h = new Harness(strategyParams({ regimes: { A_L: { entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps: 5 } } }));
    h.trade(1, 99.99, 100.01, 1.5).trade(2, 99.99, 100.01, -1.5).trade(3, 99.99, 100.01, 0);
    expect(h.events()).toEqual(["open:long:signal", "close:long:reverse", "open:short:signal"]);
  });
});

describe("spread gate", () => {
  test("no entry while the spread is wider than the regime's max_spread_bps", () => {
    const h = new Harness();
    h.trade(1, 99.95, 100.05, 1.5); // 10 bps > 5
    h.trade(2, 99.95, 100.05, 0);
    expect(h.skips()).toEqual(["spread"]);
    expect(h.decisions[0]!.ctx.spread_bps).toBeCloseTo(10, 6);
    h.trade(3, 99.99, 100.01, 1.5).trade(4, 99.99, 100.01, 0); // 2 bps: taken
    expect(h.skips()).toEqual(["spread", "taken"]);
  });

  test("the gate is per regime", () => {
    const rule = (max_spread_bps: number) => ({ entry: 1, exit: 0.5, cooldown_sec: 0, max_spread_bps });
    const h = new Harness(strategyParams({ regimes: { Q_H: rule(20), A_H: rule(5), A_L: rule(5), Q_L: rule(5) } }));
    h.regime = "Q_H";
    h.trade(1, 99.95, 100.05, 1.5).trade(2, 99.95, 100.05, 0);
    expect(h.skips()).toEqual(["taken"]);
  });
});

describe("take-profit tiers and stops", () => {
  test("tiers: half at +10 bps (tp1), the rest at +20 bps (target); rows sum to the round trip", () => {
    const h = new Harness(strategyParams({ take_profit: [{ at_bps: 10, fraction: 0.5 }, { at_bps: 20, fraction: 1 }] }));
    h.trade(1, 99.99, 100.0, 1.5).trade(2, 99.99, 100.0, 0); // long 10 @ 100.00
    h.trade(3, 100.09, 100.1, 0); // +9 bps: nothing
    h.trade(4, 100.11, 100.12, 0); // +11 bps: tp1 asked
    h.trade(5, 100.12, 100.13, 0); // filled at 100.12 (+12, below 20)
    h.trade(6, 100.2, 100.21, 0); // +20: target asked
    h.trade(7, 100.25, 100.26, 0); // filled at 100.25
    expect(h.events()).toEqual(["open:long:signal", "reduce:long:tp1", "close:long:target"]);
    near(h.paper[1]!.qty as number, 5);
    near(h.paper[1]!.gross_pnl as number, 5 * 0.12);
    near(h.paper[2]!.qty as number, 5);
    near(h.paper[2]!.gross_pnl as number, 5 * 0.25);
    expect(h.trader.stats().trades).toBe(1);
    expect(h.strategy.position("BTCUSDT")).toBeNull();
  });

  test("fixed stop at stop_bps against the entry (exit fill), filled at the next trade", () => {
    const h = new Harness(strategyParams({ stop_bps: 20 }));
    h.trade(1, 99.99, 100.0, -1.5).trade(2, 99.99, 100.0, 0); // short @ 99.99
    h.trade(3, 100.17, 100.18, 0); // buy fill 100.18: −19 bps
    expect(h.events()).toEqual(["open:short:signal"]);
    h.trade(4, 100.19, 100.2, 0); // −21 bps: stop asked
    h.trade(5, 100.2, 100.21, 0);
    expect(h.events()).toEqual(["open:short:signal", "close:short:stop"]);
    near(h.paper[1]!.price as number, 100.21);
  });

  test("ATR stop at mult × ATR (fixed at the entry) against the entry", () => {
    // 1 s bars, period 2: bars [100,100.2] and [100.2, 100.4] → true ranges 0.2, 0.2 → ATR 0.2.
    const h = new Harness(strategyParams({ atr: { bar_sec: 1, period: 2, mult: 2 } }));
    const px = (t: number, p: number, score = 0) => h.trade(t, p - 0.005, p + 0.005, score);
    for (const [t, p] of [[0.1, 100], [0.9, 100.2], [1.1, 100.2], [1.9, 100.4]] as const) px(t, p);
    px(2.1, 100.4, 1.5); // bar 2 opens: 2 bars closed; the signal
    px(2.2, 100.4); // long @ 100.405; ATR ≈ 0.2 / 100.4 → stop = 100.405 − 0.4 ≈ 100.005
    const open = h.paper[0]!;
    expect(open.reason).toBe("signal");
    const atrBps = h.decisions[0]!.ctx.atr_bps!;
    near(atrBps, (0.2 / 100.4) * 1e4, 1e-6);
    px(2.3, 100.02); // exit fill 100.015 > stop: stays
    expect(h.events()).toEqual(["open:long:signal"]);
    px(2.4, 100.0); // exit fill 99.995 ≤ 100.005: atr_stop
    px(2.5, 100.0);
    expect(h.events()).toEqual(["open:long:signal", "close:long:atr_stop"]);
  });

  test("time stop at the first trade max_hold_sec after the entry", () => {
    const h = new Harness(strategyParams({ max_hold_sec: 30 }));
    h.trade(1, 99.99, 100.01, 1.5).trade(2, 99.99, 100.01, 0); // open at t=2
    h.trade(31.9, 99.99, 100.01, 0);
    expect(h.events()).toEqual(["open:long:signal"]);
    h.trade(32, 99.99, 100.01, 0).trade(33, 99.99, 100.01, 0);
    expect(h.events()).toEqual(["open:long:signal", "close:long:time"]);
    expect(h.paper[1]!.hold_ms).toBe(31_000);
  });

  test("finish closes at the last fills (end) and drops an unfilled entry", () => {
    const h = new Harness();
    h.trade(1, 99.99, 100.01, 1.5).trade(2, 99.99, 100.01, 0);
    h.trader.finish();
    expect(h.events()).toEqual(["open:long:signal", "close:long:end"]);
    const g = new Harness();
    g.trade(1, 99.99, 100.01, 1.5); // entry queued, never filled
    g.trader.finish();
    expect(g.paper.length).toBe(0);
    expect(g.strategy.position("BTCUSDT")).toBeNull();
  });
});
