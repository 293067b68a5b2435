/**
 * What the executor tells the strategy besides fills (contract.ts): an intent it refused before
 * sending (`onIntentDone(…, sent = false)`) takes no place in the strategy's max_orders_per_min, and
 * a halt it decided (`onHalt`: the testnet trader's kill switch, or a halt of the day restored at a
 * restart) stops the strategy's entries for that day as its own halt would, while its exits still go.
 */
import { describe, expect, test } from "bun:test";
import type { Row } from "../../src/core/rows.ts";
import type { Intent, SignalDecision } from "../../src/trading/strategy/contract.ts";
import { SharedStrategy } from "../../src/trading/strategy/strategy.ts";
import { riskParams, strategyParams, SYM } from "./strategy-stream.ts";

const DAY = Date.UTC(2026, 11, 7);
const DAY_TEXT = "2026-12-07";

/** The strategy alone, its intents collected (nothing filled unless a test says so). */
class Direct {
  readonly strategy: SharedStrategy;
  readonly decisions: SignalDecision[] = [];
  readonly intents: Intent[] = [];
  private id = 0;

  constructor(risk = riskParams()) {
    this.strategy = new SharedStrategy({ strategy: strategyParams(), risk, takerBps: 0 });
    this.strategy.onDecision = (d) => this.decisions.push(d);
  }

  /** A book, a trade and its fusion row with `score`, `tsMs` after the day's start. */
  trade(tsMs: number, score: number): Intent[] {
    const ts = DAY + tsMs;
    const id = ++this.id;
    const out: Intent[] = [];
    out.push(...this.strategy.onRow("orderbook", { symbol: SYM, ts_ms: ts, mid: 100, spread_bps: 2 }));
    out.push(...this.strategy.onRow("prices", { symbol: SYM, ts_ms: ts, agg_trade_id: id, price: 100, best_buy_fill: 100.01, best_sell_fill: 99.99, scenario_2x2: "A_L" } as Row));
    out.push(...this.strategy.onRow("fusion", { symbol: SYM, ts_ms: ts, agg_trade_id: id, score, proba: 0.8, consistency: 1, z_ofi: score, z_cvd: score, degraded: false, scenario_2x2: "A_L" } as Row));
    this.intents.push(...out);
    return out;
  }

  /** A signal (a row above the threshold after one below it): its intents. */
  signal(tsMs: number): Intent[] {
    this.trade(tsMs, 0);
    return this.trade(tsMs + 1, 1.5);
  }

  skips(): string[] {
    return this.decisions.map((d) => (d.taken ? "taken" : d.skip!));
  }
}

describe("entries the executor refused before sending", () => {
  test("do not use up max_orders_per_min; entries it sent (and the venue refused) do", () => {
    const unsent = new Direct(riskParams({ max_orders_per_min: 2 }));
    for (let i = 0; i < 5; i++) {
      const [entry] = unsent.signal(i * 1000);
      expect(entry?.kind).toBe("enter");
      unsent.strategy.onIntentDone(SYM, entry!.key, false);
    }
    // Five signals within a minute, none sent: every one is taken, none blamed on the order rate.
    expect(unsent.skips()).toEqual(["taken", "taken", "taken", "taken", "taken"]);

    const sent = new Direct(riskParams({ max_orders_per_min: 2 }));
    for (let i = 0; i < 3; i++) {
      const [entry] = sent.signal(i * 1000);
      if (entry !== undefined) sent.strategy.onIntentDone(SYM, entry.key);
    }
    expect(sent.skips()).toEqual(["taken", "taken", "orders_per_min"]);
  });

  test("an exit not sent (nothing to close at the venue yet) is asked again, without filling the budget", () => {
    const d = new Direct(riskParams({ max_orders_per_min: 3 }));
    const [entry] = d.signal(0);
    d.strategy.onFill({ symbol: SYM, side: "buy", qty: entry!.qty, price: 100.01, ts_ms: DAY + 2, fee: 0, key: entry!.key });
    // The flow turns against the long (fade): the executor refuses the exit three times unsent, sends the fourth.
    for (let i = 0; i < 3; i++) {
      const [exit] = d.trade(1000 + i, -0.6);
      expect(exit).toMatchObject({ kind: "exit", reason: "fade" });
      d.strategy.onIntentDone(SYM, exit!.key, false);
    }
    const [exit] = d.trade(2000, -0.6);
    d.strategy.onFill({ symbol: SYM, side: "sell", qty: entry!.qty, price: 99.99, ts_ms: DAY + 2001, fee: 0, key: exit!.key });
    expect(d.strategy.position(SYM)).toBeNull();
    // Two orders sent in the minute (the entry, the exit): a third fits max_orders_per_min 3.
    expect(d.signal(13_000).map((i) => i.kind)).toEqual(["enter"]);
    expect(d.skips()).toEqual(["taken", "taken"]);
  });
});

describe("a halt the executor tells", () => {
  const reason = `${SYM} max_daily_loss: day PnL -31.53 <= -25, flattened and stopped for ${DAY_TEXT}`;

  test("stops entries for the day (skip halted), shows in halts(), and ends with the day", () => {
    const d = new Direct();
    d.trade(0, 0);
    d.strategy.onHalt({ symbol: SYM, reason, since_ts_ms: DAY, day: DAY_TEXT });
    expect(d.strategy.halts()).toEqual([{ symbol: SYM, reason, since_ts_ms: DAY, day: DAY_TEXT }]);
    expect(d.signal(1000)).toEqual([]);
    expect(d.skips()).toEqual(["halted"]);
    // The next UTC day trades again.
    expect(d.signal(86_400_000 + 1000).map((i) => i.kind)).toEqual(["enter"]);
  });

  test("told before any row (a restart): the day's rows are halted; a position adopted from an earlier day is closed, not un-halting it", () => {
    const d = new Direct();
    d.strategy.onHalt({ symbol: SYM, reason, since_ts_ms: DAY + 5, day: DAY_TEXT });
    // The adopted position: an external fill stamped with its real age (yesterday).
    d.strategy.onFill({ symbol: SYM, side: "buy", qty: 3, price: 100, ts_ms: DAY - 3_600_000, fee: 0, key: null });
    expect(d.strategy.halts()).toHaveLength(1);
    const out = d.trade(60_000, 1.5);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ kind: "exit", side: "sell", qty: 3, reason: "risk_halt" });
    d.strategy.onFill({ symbol: SYM, side: "sell", qty: 3, price: 99.99, ts_ms: DAY + 61_000, fee: 0, key: out[0]!.key });
    expect(d.strategy.position(SYM)).toBeNull();
    expect(d.signal(120_000)).toEqual([]);
    expect(d.skips().at(-1)).toBe("halted");
  });

  test("a halt of a day the strategy has already left is ignored", () => {
    const d = new Direct();
    d.trade(86_400_000 + 1000, 0);
    d.strategy.onHalt({ symbol: SYM, reason, since_ts_ms: DAY, day: DAY_TEXT });
    expect(d.strategy.halts()).toEqual([]);
    expect(d.signal(86_400_000 + 2000).map((i) => i.kind)).toEqual(["enter"]);
  });
});
